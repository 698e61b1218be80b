"""Schemathesis hooks for dx-ingest: how to put an NDJSON body on the wire.

Loaded with SCHEMATHESIS_HOOKS=dx_hooks and this directory on PYTHONPATH (the test that runs
schemathesis sets both). text/csv needs nothing: schemathesis sends any text/* as text.
"""
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # The schema says "string": send it as it is. Anything else (negative testing) goes as one
    # JSON document per line, so the server still sees NDJSON-shaped bytes to judge.
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "\n".join(json.dumps(item) for item in value).encode("utf-8")
    return json.dumps(value).encode("utf-8")

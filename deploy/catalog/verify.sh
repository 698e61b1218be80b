#!/usr/bin/env bash
# Regenerate catalog/units from the pinned packages into a temp dir and compare it with the
# committed files (exit non-zero on any difference), then cross-check the whole catalog.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! python3 "$here/generate.py" --out "$tmp/units" >"$tmp/generate.log" 2>&1; then
  cat "$tmp/generate.log" >&2
  echo "verify: generator failed" >&2
  exit 1
fi
tail -n 5 "$tmp/generate.log"
if ! diff -r "$tmp/units" "$root/catalog/units"; then
  echo "verify: catalog/units differs from what deploy/catalog/generate.py produces" >&2
  exit 1
fi
echo "verify: catalog/units is reproducible"
python3 "$here/check_seed.py"

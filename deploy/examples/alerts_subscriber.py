#!/usr/bin/env python3
"""Subscribe to DX Pulse alerts (dx.alerts.v1) with confluent-kafka, as any team would.

    pip install confluent-kafka jsonschema
    python3 alerts_subscriber.py --brokers 127.0.0.1:19092 --from-beginning
    python3 alerts_subscriber.py --brokers 127.0.0.1:19092 --schema deploy/schemas/dx.alerts.v1.json --expect 4 --timeout 60

Each message is JSON: an envelope (schema, id, producedAt, source) around one alert transition
(fingerprint, status, rule, severity, unit, indicator, period, value, target, summary in
Vietnamese and English). The key is the alert's fingerprint, so one alert's transitions arrive in
order. Deduplicate on the envelope's `id`: after a crash the relay may send a message again.

With --schema, every message is checked against the JSON Schema; the exit status is 1 when one
does not conform or when fewer than --expect messages arrived before --timeout.
"""
import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default="127.0.0.1:9092", help="bootstrap servers (host:port,...)")
    parser.add_argument("--topic-prefix", default="", help="the deployment's DX_TOPIC_PREFIX")
    parser.add_argument("--group", default=None, help="consumer group (default: a new one, so every run reads on its own)")
    parser.add_argument("--from-beginning", action="store_true", help="read the topic from its beginning")
    parser.add_argument("--schema", default=None, help="validate each message against this JSON Schema file")
    parser.add_argument("--expect", type=int, default=None, help="stop after this many messages; fail if fewer arrive")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--english", action="store_true", help="print the English summary")
    return parser.parse_args()


def main():
    args = parse_args()
    validator = None
    if args.schema:
        import jsonschema

        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

    topic = args.topic_prefix + "dx.alerts.v1"
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group or f"alerts-subscriber-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "enable.auto.commit": True,
    })
    consumer.subscribe([topic])
    print(f"subscribed to {topic} on {args.brokers}", file=sys.stderr)

    received, invalid, seen_ids = 0, 0, set()
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        while deadline is None or time.monotonic() < deadline:
            if args.expect is not None and received >= args.expect:
                break
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    print(f"consumer error: {message.error()}", file=sys.stderr)
                continue
            try:
                envelope = json.loads(message.value())
            except ValueError as error:
                invalid += 1
                print(f"not JSON at {message.topic()}[{message.partition()}]@{message.offset()}: {error}", file=sys.stderr)
                continue
            if envelope.get("id") in seen_ids:
                continue  # a relay retry: already handled
            seen_ids.add(envelope.get("id"))
            received += 1
            if validator is not None:
                errors = sorted(validator.iter_errors(envelope), key=lambda e: list(e.path))
                if errors:
                    invalid += 1
                    for error in errors:
                        print(f"INVALID {envelope.get('id')}: {'/'.join(map(str, error.path))}: {error.message}", file=sys.stderr)
                    continue
            alert = envelope["data"]
            summary = alert["summary"]["en" if args.english else "vi"]
            print(f"{alert['status']:<12} {alert['severity']:<8} {alert['rule']:<16} {alert['fingerprint']}  {summary}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()

    checked = " (all valid against the schema)" if validator is not None and invalid == 0 else ""
    print(f"received {received} alert transition(s), {invalid} invalid{checked}", file=sys.stderr)
    if invalid or (args.expect is not None and received < args.expect):
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# `make test`: the same infrastructure on the test ports, the build, every test against the real
# PostgreSQL and Tansu, the static checks; then stops what it started, pass or fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/profile.sh" test
root=$(cd "$here/../.." && pwd)
cd "$root"
state=$(state_dir test)

cleanup() {
  local status=$?
  if [ -f "$state/started" ]; then
    log "stopping the test infrastructure this run started"
    grep -q tansu "$state/started" && bash "$here/tansu.sh" stop test "$KAFKA_PORT" || true
    grep -q postgres "$state/started" && bash "$here/postgres.sh" stop test "$PG_PORT" || true
    rm -f "$state/started"
  fi
  exit $status
}
trap cleanup EXIT INT TERM

rm -f "$state/started"
bash "$here/infra.sh" up test

log "building"
swift build --build-tests

# The Python alert subscriber example (deploy/examples/alerts_subscriber.py) runs in the tests
# against Tansu; its packages go into a private directory, never system-wide.
tools="$root/.dx/tools/python"
if ! PYTHONPATH="$tools" python3 -c 'import confluent_kafka, jsonschema' 2>/dev/null; then
  log "python: confluent-kafka and jsonschema for the alert subscriber example, into $tools"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools" "confluent-kafka==2.16.1" "jsonschema==4.26.0"
fi
export DX_TEST_PYTHONPATH="$tools"

log "catalog: files agree with each other and with the seed articles"
.build/debug/dx catalog check >/dev/null || .build/debug/dx catalog check
log "catalog: the generator reproduces the committed unit files"
bash deploy/catalog/verify.sh
log "docker-compose.yml: structure and the Compose JSON Schema"
python3 deploy/compose/check.py

log "schemathesis (PyPI) in a private virtual environment, for the OpenAPI conformance test"
schemathesis=$(bash "$here/schemathesis.sh")

log "swift test against PostgreSQL on $PG_PORT and Tansu on $KAFKA_PORT"
# DX_TEST_TANSU_BIN: tests that freeze a broker start one of their own from the same binary.
DX_TEST_POSTGRES_URL="$ADMIN_URL" DX_TEST_KAFKA_BROKERS="$BROKERS" \
  DX_TEST_TANSU_BIN="$(state_dir tools)/tansu" DX_TEST_SCHEMATHESIS="$schemathesis" \
  swift test --skip-build ${DX_TEST_FILTER:+--filter "$DX_TEST_FILTER"}
log "all tests passed"

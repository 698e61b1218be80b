#!/usr/bin/env bash
# `make bench`: its own PostgreSQL and Tansu (bench ports), a release build, a fresh database with
# the bench catalog, the services, then the measurements, each printed next to the physical limit
# measured in the same run. Stops what it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/profile.sh" bench
root=$(cd "$here/../.." && pwd)
cd "$root"
state=$(state_dir bench)
config=${DX_BENCH_CONFIG:-release}

cleanup() {
  local status=$?
  bash "$here/services.sh" stop bench >/dev/null 2>&1 || true
  if [ -f "$state/started" ]; then
    grep -q tansu "$state/started" && bash "$here/tansu.sh" stop bench "$KAFKA_PORT" || true
    grep -q postgres "$state/started" && bash "$here/postgres.sh" stop bench "$PG_PORT" || true
    rm -f "$state/started"
  fi
  exit $status
}
trap cleanup EXIT INT TERM
rm -f "$state/started"
bash "$here/infra.sh" up bench

log "building ($config)"
swift build -c "$config"
bin=".build/$config"
dx="$bin/dx"

run=$(date +%s)
prefix="bench$run."
export DX_POSTGRES_ADMIN_URL="$ADMIN_URL"
log "fresh database and the bench catalog (real units, 40 monthly elements, 20 ratio indicators)"
PGPASSWORD=postgres psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS dx WITH (FORCE)" -c "CREATE DATABASE dx"
"$dx" migrate >/dev/null
"$dx" bench catalog --out "$state/catalog" >/dev/null
"$dx" catalog load --dir "$state/catalog" >/dev/null

start_indicators() {
  DX_POSTGRES_URL="postgres://dx_indicators:dx_indicators@127.0.0.1:$PG_PORT/dx" DX_KAFKA_BROKERS="$BROKERS" \
    DX_TOPIC_PREFIX="$prefix" DX_HTTP_PORT="$INDICATORS_PORT" DX_LOG_LEVEL=warning \
    DX_CONSUMER_BATCH_SIZE="${DX_BENCH_BATCH:-200}" nohup "$bin/dx-indicators" >"$state/dx-indicators.log" 2>&1 &
  echo $! > "$state/dx-indicators.pid"
}
start_indicators
python3 - "$INDICATORS_PORT" <<'PY'
import sys, time, urllib.request
for _ in range(240):
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/ready", timeout=2).status == 200: sys.exit(0)
    except Exception: pass
    time.sleep(0.5)
sys.exit("dx-indicators not ready")
PY
"$dx" bench engine --admin-url "$ADMIN_URL" --brokers "$BROKERS" --topic-prefix "$prefix" \
  --indicators-pid "$(cat "$state/dx-indicators.pid")" ${DX_BENCH_COMMUNES:+--communes "$DX_BENCH_COMMUNES"}

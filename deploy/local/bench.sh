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

# start_service NAME PREFIX [VAR=VALUE…]: one service of the bench deployment, ready when this returns.
start_service() {
  local name=$1 topic_prefix=$2
  shift 2
  DX_BIN_DIR="${service_dir:-$root/$bin}" DX_LOG_LEVEL=warning bash "$here/services.sh" start-one bench "$name" DX_TOPIC_PREFIX="$topic_prefix" "$@" >/dev/null
}
# dx-ingest without its rate limit (or the limit is what gets measured); dx-indicators with the
# bench's batch (DX_BENCH_BATCH, default 12000: dx-indicators' own default).
batch=${DX_BENCH_BATCH:-12000}
start_ingest() { start_service dx-ingest "$1" DX_RATE_LIMIT_PER_MINUTE=0; }
# DX_BENCH_INDICATORS_DIR: the directory of another build's dx-indicators, to measure it under
# the same conditions as this one (an A/B of two versions, one run after the other).
start_indicators() { service_dir="${DX_BENCH_INDICATORS_DIR:-}" start_service dx-indicators "$1" DX_CONSUMER_BATCH_SIZE="$batch"; }
stop_service() { bash "$here/services.sh" stop bench >/dev/null 2>&1 || true; }
pid_of() { cat "$state/$1.pid"; }

failed=()
# DX_BENCH_PHASES: a subset of "ingest engine latency alerts", in that order.
phases=" ${DX_BENCH_PHASES:-ingest engine latency alerts} "
want() { [[ "$phases" == *" $1 "* ]]; }
if want ingest; then
echo
log "1/4 ingestion: reports and events through dx-ingest into Kafka, next to COPY (dx-ingest alone)"
start_ingest "${prefix}ingest."
"$dx" bench ingest --url "http://127.0.0.1:$INGEST_PORT" --database-url "$ADMIN_URL" --ingest-pid "$(pid_of dx-ingest)" \
  ${DX_BENCH_INGEST_REPORTS:+--reports "$DX_BENCH_INGEST_REPORTS"} ${DX_BENCH_INGEST_EVENTS:+--events "$DX_BENCH_INGEST_EVENTS"} || failed+=(ingest)
stop_service
fi

# Each phase has topics of its own (a prefix per phase), so no service starts with another
# phase's backlog; the database, and so dx-indicators' state, carries over.
if want engine; then
echo
log "2/4 engine: the national load and its revisions through dx-indicators, next to COPY and a materialized view"
start_indicators "${prefix}engine."
"$dx" bench engine --admin-url "$ADMIN_URL" --brokers "$BROKERS" --topic-prefix "${prefix}engine." --batch-messages "$batch" \
  --indicators-pid "$(pid_of dx-indicators)" ${DX_BENCH_COMMUNES:+--communes "$DX_BENCH_COMMUNES"} || failed+=(engine)
stop_service
fi

if want latency; then
echo
log "3/4 latency: reports through dx-ingest at a steady ${DX_BENCH_RATE:-5000} observations/s, commit to indicator value"
start_indicators "${prefix}latency."
start_ingest "${prefix}latency."
"$dx" bench latency --database-url "$ADMIN_URL" --ingest-url "http://127.0.0.1:$INGEST_PORT" --brokers "$BROKERS" \
  --topic-prefix "${prefix}latency." --rate "${DX_BENCH_RATE:-5000}" --seconds "${DX_BENCH_SECONDS:-30}" \
  --delays-csv "$state/latency-delays.csv" || failed+=(latency)
stop_service
fi

if want alerts; then
echo
log "4/4 alerts: dx-alerts with every rule on, behind dx-ingest and dx-indicators"
start_indicators "${prefix}alerts."
start_ingest "${prefix}alerts."
start_service dx-alerts "${prefix}alerts."
# dx-indicators has just started: let it load the provinces' state before anything is timed.
"$dx" bench latency --warm-up-only --database-url "$ADMIN_URL" --ingest-url "http://127.0.0.1:$INGEST_PORT" --brokers "$BROKERS" \
  --topic-prefix "${prefix}alerts." || failed+=(alerts-warm-up)
sleep 5
"$dx" bench alerts --database-url "$ADMIN_URL" --ingest-url "http://127.0.0.1:$INGEST_PORT" --brokers "$BROKERS" --topic-prefix "${prefix}alerts." \
  ${DX_BENCH_ALERT_CHANGES:+--changes "$DX_BENCH_ALERT_CHANGES"} || failed+=(alerts)
fi
for name in dx-ingest dx-indicators dx-alerts; do
  [ -f "$state/$name.pid" ] || continue
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$(pid_of $name)/status" 2>/dev/null || true)
  if [ -n "$peak" ]; then echo "peak memory of $name (VmHWM): $((peak / 1024)) MiB"; fi
done
if [ ${#failed[@]} -gt 0 ]; then die "bench phases that failed: ${failed[*]} (their output is above)"; fi

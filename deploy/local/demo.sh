#!/usr/bin/env bash
# `make demo`: local PostgreSQL and Tansu, build, migrate, load the catalog, run the three
# services, import the seed dataset through the HTTP API, wait for the pipeline, print indicators
# and open alerts. The services keep running afterwards; `make stop` stops everything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/profile.sh" demo
root=$(cd "$here/../.." && pwd)
cd "$root"
state=$(state_dir demo)

bash "$here/infra.sh" up demo
log "building (the first build takes several minutes)"
swift build
dx=".build/debug/dx"
export DX_POSTGRES_ADMIN_URL="$ADMIN_URL"
"$dx" migrate
"$dx" catalog load
bash "$here/services.sh" start demo

log "importing the seed dataset (catalog/seed/observations.csv) through the HTTP API"
export DX_TOKEN=$("$dx" token create --unit VN --name "demo $(date +%s)" 2>/dev/null)
"$dx" import catalog/seed/observations.csv --url "http://127.0.0.1:$INGEST_PORT" --wait

echo
echo "Indicators (latest period per unit):"
"$dx" report --limit 60
echo
echo "Pillar scores (xã hội số, kinh tế số, chính quyền số) and the composite index, rank among siblings:"
"$dx" report pillars --limit 15
"$dx" report html --output "$root/.dx/demo/report.html" >/dev/null && echo "HTML report of every view: $root/.dx/demo/report.html"
echo
echo "Open alerts the seed data earns, most severe first (dx alerts list --open):"
"$dx" alerts list --open --wait 60 --kind below_target,off_track,regression,data_quality --limit 40
echo
echo "Reports due and not received (the missing-report timer; none of the seed data is monthly dossiers):"
"$dx" alerts list --open --kind missing_report --limit 5
cat <<MSG

DX Pulse is running:
  dx-ingest      http://127.0.0.1:$INGEST_PORT   (POST /v1/reports; token in DX_TOKEN below)
  dx-indicators  http://127.0.0.1:$INDICATORS_PORT/metrics
  dx-alerts      http://127.0.0.1:$ALERTS_PORT/metrics
  PostgreSQL     psql "postgres://dx_reporting:dx_reporting@127.0.0.1:$PG_PORT/dx"
  Kafka (Tansu)  127.0.0.1:$KAFKA_PORT   (alerts on dx.alerts.v1: .build/debug/dx alerts tail --brokers 127.0.0.1:$KAFKA_PORT --from-beginning)
  export DX_POSTGRES_ADMIN_URL=$ADMIN_URL DX_TOKEN=$DX_TOKEN
Stop everything with: make stop
MSG

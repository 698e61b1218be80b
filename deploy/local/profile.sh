# Ports of each local profile, so demo, test and bench never collide. Sourced.
# DX_PORT_OFFSET shifts them all, for a second checkout on the same machine.
# All below 32768: Linux gives outgoing connections local ports from 32768–60999, and one of those
# could take a service's port just before it binds.
case "${1:?profile}" in
  demo)  PG_PORT=15432; KAFKA_PORT=19092; INGEST_PORT=18080; INDICATORS_PORT=18081; ALERTS_PORT=18082 ;;
  test)  PG_PORT=16432; KAFKA_PORT=19192; INGEST_PORT=0;     INDICATORS_PORT=0;     ALERTS_PORT=0 ;;
  bench) PG_PORT=17432; KAFKA_PORT=19292; INGEST_PORT=17080; INDICATORS_PORT=17081; ALERTS_PORT=17082 ;;
  *) echo "unknown profile $1 (demo, test, bench)" >&2; exit 1 ;;
esac
offset=${DX_PORT_OFFSET:-0}
PG_PORT=$((PG_PORT + offset)); KAFKA_PORT=$((KAFKA_PORT + offset))
[ "$INGEST_PORT" = 0 ] || { INGEST_PORT=$((INGEST_PORT + offset)); INDICATORS_PORT=$((INDICATORS_PORT + offset)); ALERTS_PORT=$((ALERTS_PORT + offset)); }
ADMIN_URL="postgres://postgres:postgres@127.0.0.1:$PG_PORT/dx"
BROKERS="127.0.0.1:$KAFKA_PORT"

# Ports of each local profile, so demo, test and bench never collide. Sourced.
# DX_PORT_OFFSET shifts them all, for a second checkout on the same machine.
case "${1:?profile}" in
  demo)  PG_PORT=55432; KAFKA_PORT=59092; INGEST_PORT=58080; INDICATORS_PORT=58081; ALERTS_PORT=58082 ;;
  test)  PG_PORT=56432; KAFKA_PORT=59192; INGEST_PORT=0;     INDICATORS_PORT=0;     ALERTS_PORT=0 ;;
  bench) PG_PORT=57432; KAFKA_PORT=59292; INGEST_PORT=57080; INDICATORS_PORT=57081; ALERTS_PORT=57082 ;;
  *) echo "unknown profile $1 (demo, test, bench)" >&2; exit 1 ;;
esac
offset=${DX_PORT_OFFSET:-0}
PG_PORT=$((PG_PORT + offset)); KAFKA_PORT=$((KAFKA_PORT + offset))
[ "$INGEST_PORT" = 0 ] || { INGEST_PORT=$((INGEST_PORT + offset)); INDICATORS_PORT=$((INDICATORS_PORT + offset)); ALERTS_PORT=$((ALERTS_PORT + offset)); }
ADMIN_URL="postgres://postgres:postgres@127.0.0.1:$PG_PORT/dx"
BROKERS="127.0.0.1:$KAFKA_PORT"

# Ports of each local profile, so demo, test and bench never collide. Sourced.
case "${1:?profile}" in
  demo)  PG_PORT=55432; KAFKA_PORT=59092; INGEST_PORT=58080; INDICATORS_PORT=58081; ALERTS_PORT=58082 ;;
  test)  PG_PORT=56432; KAFKA_PORT=59192; INGEST_PORT=0;     INDICATORS_PORT=0;     ALERTS_PORT=0 ;;
  bench) PG_PORT=57432; KAFKA_PORT=59292; INGEST_PORT=57080; INDICATORS_PORT=57081; ALERTS_PORT=57082 ;;
  *) echo "unknown profile $1 (demo, test, bench)" >&2; exit 1 ;;
esac
ADMIN_URL="postgres://postgres:postgres@127.0.0.1:$PG_PORT/dx"
BROKERS="127.0.0.1:$KAFKA_PORT"

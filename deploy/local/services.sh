#!/usr/bin/env bash
# The three services of a profile as background processes, logs and pids in .dx/PROFILE/.
#   services.sh start|stop|status PROFILE
#   services.sh start-one PROFILE NAME [VAR=VALUE...]   one service, with extra settings, until ready
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: services.sh start|stop|status PROFILE}
profile=${2:?profile}
. "$here/profile.sh" "$profile"
state=$(state_dir "$profile")
root=$(cd "$here/../.." && pwd)
bin="${DX_BIN_DIR:-$root/.build/debug}"

service_port() {
  case "$1" in dx-ingest) echo "$INGEST_PORT" ;; dx-indicators) echo "$INDICATORS_PORT" ;; dx-alerts) echo "$ALERTS_PORT" ;; esac
}
service_role() {
  case "$1" in dx-ingest) echo dx_ingest ;; dx-indicators) echo dx_indicators ;; dx-alerts) echo dx_alerts ;; esac
}
running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

wait_ready() {
  local name=$1 port=$2
  python3 - "$port" "$name" "$state/$name.log" <<'PY'
import sys, time, urllib.request
port, name, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.time() + 120
while time.time() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
print(f"{name} not ready on port {port} within 120 s; last log lines:", file=sys.stderr)
print("".join(open(logfile, encoding="utf-8", errors="replace").readlines()[-30:]), file=sys.stderr)
sys.exit(1)
PY
}

# start_one NAME [VAR=VALUE...]: the service in the background, its pid in the state directory.
start_one() {
  local name=$1 role port
  shift
  [ -x "$bin/$name" ] || die "$bin/$name is not built (run swift build)"
  role=$(service_role "$name")
  port=$(service_port "$name")
  env DX_POSTGRES_URL="postgres://$role:$role@127.0.0.1:$PG_PORT/dx" DX_KAFKA_BROKERS="$BROKERS" \
    DX_HTTP_HOST=127.0.0.1 DX_HTTP_PORT="$port" DX_LOG_LEVEL="${DX_LOG_LEVEL:-info}" "$@" \
    nohup "$bin/$name" >>"$state/$name.log" 2>&1 &
  echo $! > "$state/$name.pid"
  log "started $name ($profile) on port $port, log $state/$name.log"
}

case "$cmd" in
start)
  for name in dx-ingest dx-indicators dx-alerts; do
    if running "$name"; then log "$name ($profile) already running"; continue; fi
    start_one "$name"
  done
  for name in dx-ingest dx-indicators dx-alerts; do wait_ready "$name" "$(service_port "$name")"; done
  ;;
start-one)
  name=${3:?usage: services.sh start-one PROFILE NAME [VAR=VALUE...]}
  shift 3
  if running "$name"; then die "$name ($profile) is already running"; fi
  start_one "$name" "$@"
  wait_ready "$name" "$(service_port "$name")"
  ;;
stop)
  for name in dx-alerts dx-indicators dx-ingest; do
    if running "$name"; then
      pid=$(cat "$state/$name.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped $name ($profile)"
    fi
    rm -f "$state/$name.pid"
  done
  ;;
status)
  for name in dx-ingest dx-indicators dx-alerts; do
    if running "$name"; then echo "$name ($profile): running, pid $(cat "$state/$name.pid")"; else echo "$name ($profile): stopped"; fi
  done
  ;;
*) die "unknown command $cmd" ;;
esac

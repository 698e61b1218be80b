#!/usr/bin/env bash
# A private PostgreSQL cluster for one profile (demo, test, bench), on its own port, with its
# socket and data under the profile's state directory. Installs Debian's postgresql when no
# server binaries are present. `start` reuses a running cluster; `stop` stops only this one.
#   postgres.sh start|stop|status PROFILE PORT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: postgres.sh start|stop|status PROFILE PORT}
profile=${2:?profile}
port=${3:?port}
state=$(state_dir "$profile")
pidfile="$state/postgres.pid"

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# Commands run as the postgres user when we are root (initdb and postgres refuse to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data directory must be reachable by the postgres user; a checkout under a private home
# directory is not, so fall back to /tmp and remember where.
data_dir() {
  local remembered="$state/pgdata-path"
  if [ -f "$remembered" ]; then cat "$remembered"; return; fi
  local d="$state/pgdata"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$state" 2>/dev/null; then
    d=$(mktemp -d "/tmp/dx-pgdata-$profile.XXXXXX")
  fi
  echo "$d" > "$remembered"
  echo "$d"
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# The database the services use: created at the first start, and again if someone dropped it.
ensure_database() {
  local bin sock
  bin=$(bindir); sock="$(data_dir)/socket"
  if ! as_pg "$bin/psql" -h "$sock" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='dx'" | grep -q 1; then
    log "creating database dx ($profile)"
    as_pg "$bin/psql" -h "$sock" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE dx" >/dev/null
  fi
}

case "$cmd" in
start)
  if running; then log "PostgreSQL ($profile) already running on port $port"; ensure_database; exit 0; fi
  if ! bindir >/dev/null; then
    need_root
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  bin=$(bindir) || die "no PostgreSQL server binaries under /usr/lib/postgresql after installing"
  data=$(data_dir)
  sock="$data/socket"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a private PostgreSQL cluster in $data"
    mkdir -p "$data"
    pwfile=$(mktemp)
    echo postgres > "$pwfile"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$data" "$pwfile"; fi
    as_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; rm -f "$pwfile"; die "initdb failed"; }
    rm -f "$pwfile"
    as_pg mkdir -p "$sock"
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
max_wal_size = 4GB
logging_collector = off
CONF
  fi
  log "starting PostgreSQL ($profile) on 127.0.0.1:$port"
  # The port given on the command line: a cluster made by an earlier version keeps the port it was
  # made with in postgresql.conf (the profiles' ports moved below 32768).
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port" -w -t 60 start >/dev/null \
    || { tail -n 30 "$data/server.log" >&2; die "PostgreSQL did not start; log above"; }
  head -n 1 "$data/postmaster.pid" > "$pidfile"
  ensure_database
  ;;
stop)
  if ! running; then rm -f "$pidfile"; exit 0; fi
  bin=$(bindir)
  data=$(data_dir)
  log "stopping PostgreSQL ($profile)"
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "PostgreSQL ($profile): running on port $port, pid $(cat "$pidfile")"; else echo "PostgreSQL ($profile): stopped"; fi
  ;;
*) die "unknown command $cmd" ;;
esac

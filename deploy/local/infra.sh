#!/usr/bin/env bash
# Local infrastructure for one profile: librdkafka >= 2.2, a private PostgreSQL, Tansu.
#   infra.sh up|down|status PROFILE
# `up` reuses what runs and records what it started in .dx/PROFILE/started; `down` stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cmd=${1:?usage: infra.sh up|down|status PROFILE}
profile=${2:?profile}
. "$here/profile.sh" "$profile"
state=$(state_dir "$profile")

case "$cmd" in
up)
  bash "$here/librdkafka.sh"
  for part in postgres tansu; do
    port=$PG_PORT; [ "$part" = tansu ] && port=$KAFKA_PORT
    if bash "$here/$part.sh" status "$profile" "$port" | grep -q running; then
      log "$part ($profile) already running; reusing it"
      # (its start also makes sure the database is there)
      if [ "$part" = postgres ]; then bash "$here/postgres.sh" start "$profile" "$port" >/dev/null; fi
    else
      bash "$here/$part.sh" start "$profile" "$port"
      echo "$part" >> "$state/started"
    fi
  done
  ;;
down)
  bash "$here/services.sh" stop "$profile" || true
  bash "$here/tansu.sh" stop "$profile" "$KAFKA_PORT"
  bash "$here/postgres.sh" stop "$profile" "$PG_PORT"
  rm -f "$state/started"
  ;;
status)
  bash "$here/postgres.sh" status "$profile" "$PG_PORT"
  bash "$here/tansu.sh" status "$profile" "$KAFKA_PORT"
  bash "$here/services.sh" status "$profile"
  ;;
*) die "unknown command $cmd" ;;
esac

#!/usr/bin/env bash
# Schemathesis (PyPI), pinned, in a virtual environment of the checkout's own under .dx/tools/ —
# never system-wide. Prints the path of its `st` command. A second run reuses it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
version=4.32.5
tools=$(state_dir tools)
venv="$tools/schemathesis-venv"
if [ ! -x "$venv/bin/st" ] || [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $NF}')" != "$version" ]; then
  log "installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" \
    || die "pip could not install schemathesis==$version from PyPI"
fi
echo "$venv/bin/st"

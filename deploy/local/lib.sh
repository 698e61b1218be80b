# Shared helpers for the deploy/local scripts. Sourced, never run.
log() { printf '\033[1;34m[dx]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[dx] error:\033[0m %s\n' "$*" >&2; exit 1; }
need_root() {
  [ "$(id -u)" = 0 ] || die "this step installs system packages and needs root (run it with sudo)"
}
# version_at_least HAVE WANT: true when HAVE >= WANT (dotted numbers).
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}
# state_dir NAME: the directory under the checkout's .dx/ that holds one profile's state.
state_dir() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mkdir -p "$root/.dx/$1"
  echo "$root/.dx/$1"
}

#!/usr/bin/env bash
# Ensures librdkafka >= 2.2 is installed (pkg-config `rdkafka`). Debian bookworm ships 2.0.2, which
# mis-parses tagged fields and cannot talk to Tansu, so when the system one is missing or older we
# build Debian trixie's source package into /usr/local. A second run finds it and does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
have=$(pkg-config --modversion rdkafka 2>/dev/null || true)
if [ -n "$have" ] && version_at_least "$have" 2.2.0; then
  log "librdkafka $have is installed"
  exit 0
fi
log "librdkafka ${have:-missing}; building Debian trixie's source package into /usr/local (about a minute)"

need_root
src_list=/etc/apt/sources.list.d/dx-trixie-src.sources
if [ ! -f "$src_list" ]; then
  cat > "$src_list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dpkg-dev libssl-dev libsasl2-dev libzstd-dev liblz4-dev \
  zlib1g-dev libcurl4-openssl-dev pkg-config build-essential >/dev/null

work=$(mktemp -d /tmp/dx-librdkafka.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq librdkafka/trixie >/dev/null 2>&1 || apt-get source librdkafka/trixie
srcdir=$(find . -maxdepth 1 -type d -name 'librdkafka-*' | head -n 1)
[ -n "$srcdir" ] || die "apt-get source librdkafka/trixie produced no source directory"
cd "$srcdir"
./configure --prefix=/usr/local >/dev/null
make -j"$(nproc)" libs >/dev/null
make install >/dev/null
ldconfig
have=$(pkg-config --modversion rdkafka)
version_at_least "$have" 2.2.0 || die "built librdkafka $have, still below 2.2"
log "librdkafka $have installed into /usr/local"

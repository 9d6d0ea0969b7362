#!/bin/sh
# Installs the Debian/Ubuntu packages lxmpp needs to build, test, fuzz and
# benchmark, when any is missing. As root it runs apt-get; otherwise it
# prints the exact command and stops. Quiet and quick when all is there.
set -eu

# Every Lua lxmpp supports, with its headers: make test runs the specs on
# each (busted, cqueues and LuaSocket are packaged for all of them).
PACKAGES="gcc make pkg-config lua5.4 liblua5.4-dev lua5.3 liblua5.3-dev lua5.2
liblua5.2-dev lua5.1 liblua5.1-0-dev luajit libluajit-5.1-dev libexpat1-dev libssl-dev
libidn2-dev libunistring-dev lua-busted luarocks lua-cqueues lua-socket
lua-dkjson lua-check clang libclang-rt-dev openssl prosody ejabberd
python3-slixmpp dnsmasq-base lua-dbi-sqlite3 gnuplot-nox
python3-aioxmpp python3-nbxmpp libstrophe-dev libgloox-dev g++
libnet-xmpp-perl go-sendxmpp
iproute2"

# The client matrix's xmpp.js (spec/interop/clients/package.json): npm into
# that folder, never global. @xmpp/client 0.14 needs Node 20.10 or later,
# which Debian 12's nodejs (18) is not: the machine must bring its own.
CLIENTS_DIR="$(dirname "$0")/../spec/interop/clients"
npm_clients() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "deps: node and npm (Node >= 20.10) are needed for xmpp.js" >&2
    exit 1
  fi
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' || {
    echo "deps: xmpp.js needs Node >= 20.10; this is $(node --version)" >&2
    exit 1
  }
  # again when package-lock.json changed since the last install
  if [ ! -f "$CLIENTS_DIR/node_modules/.package-lock.json" ] ||
    [ "$CLIENTS_DIR/package-lock.json" -nt "$CLIENTS_DIR/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in spec/interop/clients" >&2
    (cd "$CLIENTS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  missing=""
  for cmd in lua5.4 pkg-config busted luarocks; do
    command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
  done
  for pc in lua5.4 expat openssl libidn2; do
    pkg-config --exists "$pc" 2>/dev/null || missing="$missing $pc(dev)"
  done
  if [ -n "$missing" ]; then
    echo "deps: not a Debian system; please install:$missing" >&2
    echo "deps: (Debian names: $(echo $PACKAGES))" >&2
    exit 1
  fi
  npm_clients
  exit 0
fi

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
  esac
done
# Users have Debian's current expat, whose CVE-2023-52425 reparse deferral
# changes when a parser sees a split start tag: an older image's is upgraded.
expat=$(dpkg-query -W -f='${Version}' libexpat1 2>/dev/null || true)
if [ -n "$expat" ] && dpkg --compare-versions "$expat" lt 2.5.0-1+deb12u5; then
  missing="$missing libexpat1"
fi
if [ -z "$missing" ]; then
  npm_clients
  exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages:$missing" >&2
  echo "deps: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Packaged services (prosody, ejabberd) must not start: the tests run their
# own. dnsmasq-base is the binary without the service.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
npm_clients

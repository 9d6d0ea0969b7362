#!/bin/sh
# Installs the Debian/Ubuntu packages lxmpp needs to build, test, fuzz and
# benchmark, when any is missing. As root it runs apt-get; otherwise it
# prints the exact command and stops. Quiet and quick when all is there.
set -eu

PACKAGES="gcc make pkg-config lua5.4 liblua5.4-dev libexpat1-dev libssl-dev
libidn2-dev libunistring-dev lua-busted luarocks lua-cqueues lua-socket
lua-dkjson lua-check clang libclang-rt-dev openssl prosody ejabberd
python3-slixmpp dnsmasq-base lua-dbi-sqlite3"

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
[ -z "$missing" ] && exit 0

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

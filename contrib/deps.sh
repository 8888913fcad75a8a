#!/bin/sh
# Installs the Debian packages supermesh needs to build, test and run its demo.
# Idempotent: prints nothing and touches nothing when every package is present.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-dev
libuv1-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev
libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libmnl-dev libnftnl-dev
libjansson-dev libmicrohttpd-dev libsqlite3-dev check
wireguard-go wireguard-tools nftables iproute2 iputils-ping iperf3
tcpdump curl procps psmisc valgrind mandoc man-db python3 jq conntrack"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 111
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

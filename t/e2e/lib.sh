# Shared by the network-namespace tests: sourced, not run.
# Every namespace and process made through these helpers is removed on exit,
# whether the test passed, failed or was interrupted.
set -eu

O=${O:-build}
BIN=$(cd "$(dirname "$0")/../.." && pwd)/$O/bin
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# A short unique prefix keeps names under IFNAMSIZ and lets tests run side by side.
SMT=${SMT:-smt$$}
TMP=$(mktemp -d "/tmp/$SMT.XXXXXX")
_NETNS=""
_PIDS=""

cleanup() {
	set +e
	for p in $_PIDS; do kill "$p" 2>/dev/null; done
	for p in $_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
	done
	for n in $_NETNS; do
		# Kill anything still inside (wireguard-go daemonizes itself).
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
say() { echo "== $*"; }

# netns_add NAME: a namespace with loopback up; NAME is prefixed with $SMT.
netns_add() {
	ip netns add "$SMT-$1"
	_NETNS="$_NETNS $SMT-$1"
	ip -n "$SMT-$1" link set lo up
}
ns() { echo "$SMT-$1"; }
# in NS CMD...: run a command inside namespace NS.
in_ns() { n=$1; shift; ip netns exec "$SMT-$n" "$@"; }

# link NS1 ADDR1/PLEN NS2 ADDR2/PLEN: a veth pair between two namespaces; the
# device in NS1 is named "v-NS2" and the one in NS2 "v-NS1" (cut to 15 bytes).
link() {
	d1=$(printf 'v-%s' "$3" | cut -c1-15) d2=$(printf 'v-%s' "$1" | cut -c1-15)
	ip link add "$d1" netns "$SMT-$1" type veth peer name "$d2" netns "$SMT-$3"
	ip -n "$SMT-$1" addr add "$2" dev "$d1"
	ip -n "$SMT-$3" addr add "$4" dev "$d2"
	ip -n "$SMT-$1" link set "$d1" up
	ip -n "$SMT-$3" link set "$d2" up
}

# bg NS CMD...: start a process in a namespace in the background, remember it.
# Its output goes to $TMP/<NS>.<n>.log.
bg() {
	n=$1; shift
	ip netns exec "$SMT-$n" "$@" >>"$TMP/$n.log" 2>&1 &
	_PIDS="$_PIDS $!"
	LAST_PID=$!
}
track_pid() { _PIDS="$_PIDS $1"; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD until it succeeds, or fail
# after SECONDS with DESCRIPTION. Never a bare sleep in a test.
wait_for() {
	limit=$1 what=$2; shift 2
	end=$(($(date +%s) + limit))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
		sleep 0.1
	done
}

need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done; }

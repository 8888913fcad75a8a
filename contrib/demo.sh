#!/bin/sh
# The end-to-end demo (`make demo`): the whole system in network namespaces,
# told step by step. A client in region a asks for an exit in region b, its
# traffic reaches a target through the exit, the exit dies and the client
# moves to another one, then everything is torn down. Needs root.
# The topology is t/e2e/topo.sh, the same the 4x scenarios use.
cd "$(dirname "$0")/.." || exit 111
O=${O:-build}
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	if [ ! -x "$O/bin/$p" ]; then
		echo "demo: $O/bin/$p is not built; run 'make demo' (it builds first)." >&2
		exit 111
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, WireGuard, nftables)." >&2
	exit 111
fi
. t/e2e/lib.sh
# lib.sh finds the tree from $0, which is here contrib/demo.sh.
TOP=$(pwd)
BIN=$TOP/$O/bin
. t/e2e/topo.sh
need ip ping wireguard-go unshare mount nft curl python3 awk

T0=$(now_ms)
step() { printf '\n[%5.1fs] %s\n' "$(echo "$(now_ms) $T0" | awk '{print ($1 - $2) / 1000}')" "$*"; }
tell() { echo "        $*"; }
short() { echo "$1" | cut -c1-12; }
# logged HOST EVENT: the last log line of that event in HOST's log.
logged() { grep "event=$2" "$TMP/$1.log" | tail -n 1; }

step "Building the hosts: namespaces joined by veth pairs"
topo_net
tell "inet    the internet: a router, and the target host $TARGET (ping, HTTP on :8080)"
tell "base    basenoded, the global directory, at $BASE_IP"
tell "sna     supernode A, region a, at $SNA_IP"
tell "snb     supernode B, region b, at $SNB_IP"
tell "exit1   an exit in region b with a public address, $EXIT1_IP"
tell "exit2   an exit in region b behind nat1 ($NAT1_IP), which lets nothing in"
tell "cli     the client, region a, at $CLI_IP, full tunnel"
tell "Without any tunnel the target sees the client as: $(whoami)"

step "Writing one config file per daemon and pinning keys"
topo_conf
tell "every daemon runs from its own file in $TMP, e.g. $TMP/cli.conf:"
sed -n 's/^\(supernode\|supernode_key\|region\|full_tunnel\) = /          &/p' "$TMP/cli.conf"
tell "keys: basenoded $(short "$BASE_KEY")..  A $(short "$SNA_KEY")..  B $(short "$SNB_KEY").."

step "Starting basenoded and the two supernodes (each with its wgrelay helper)"
start_base
start_sn a
start_sn b
wait_for 15 "both supernodes registered with basenoded" registered 2
adm base list | tr ' ' '\n' | sed -n 's/^sn=\([^,]\{12\}\)[^,]*,\([^,]*\),\([^,]*\),.*/        basenoded lists supernode \1.. region \2 at \3/p'
tell "both supernodes registered with basenoded over streams pinned to its key"

step "Starting the exits (each with wgrelay and natctl); they open streams to supernode B"
start_exit exit1
start_exit exit2
wait_for 15 "both exits on supernode B" exit_count b 2
adm snb exits | tr ' ' '\n' | sed -n 's/^exit=\([^,]\{12\}\)[^,]*,\([^,]*\),\([^,]*\),.*/        exit \1.. endpoint \2 behind_nat=\3/p'

step "Starting the client; it opens its stream to supernode A"
start_cli
wait_for 15 "the client's stream" sh -c "'$BIN/clientd' -c /dev/null -s '$TMP/cli.adm.sock' status | grep -q ' stream=up '"
tell "client stream up to supernode A: $(cli_status | cut -d' ' -f1-2,9)"

step "The client asks for an exit in region b"
t=$(now_ms)
adm cli connect b >/dev/null
wait_for 30 "the client connected" cli_is connected
wait_for 15 "a ping through the tunnel" ping_target
up=$(($(now_ms) - t))
tell "supernode A does not serve region b: it asked basenoded, which named supernode B;"
tell "A opened a stream to B at $(logged sna pool_open | field address) and B offered" \
	"$(logged sna exit_candidates | field count) exits"
st=$(cli_status)
case $(echo "$st" | field endpoint) in
"$EXIT1_IP":*) who="exit1, the public one, which ranks first" ;;
*) who="exit2" ;;
esac
tell "exit chosen: $who (WireGuard key $(short "$(echo "$st" | field exit)")..)"
tell "path: $(echo "$st" | field path), client sends WireGuard to $(echo "$st" | field endpoint)"
tell "tunnel up in $up ms: client address $(echo "$st" | field address), all traffic through it"

step "Ping and HTTP from the client to the target, through the exit"
in_ns cli ping -n -c 3 -i 0.2 "$TARGET" | sed -n 's/^/        /; /bytes from\|packets/p'
src=$(whoami)
tell "HTTP fetch of http://$TARGET:8080/: the target saw the source $src"
[ "$src" = "$EXIT1_IP" ] || fail "target saw $src, not exit1's address"
tell "that is exit1's address, not the client's ($CLI_IP)"

step "Failover: killing exit1 (kill -9 of everything on that host) while pinging"
pinger_start
old=$(cli_field exit)
tk=$(now_ms)
kill_host exit1
wait_for 20 "the client rotated" exit_is_not "$old"
tr=$(now_ms)
wait_for 20 "pings flowing again" reply_after "$tr"
wait_for 20 "a second of pings" reply_after $((tr + 1000))
pinger_stop
first=$(first_reply_after "$tr")
st=$(cli_status)
logged snb exit_lost >/dev/null && logged sna rotating >/dev/null ||
	fail "no exit_lost at B or rotating at A in the logs"
tell "supernode B saw exit1's stream close (event=exit_lost) and told A;" \
	"A rotated the session ($(logged sna rotating | field reason)) to exit2 and sent ROTATE_PEER"
tell "client now on exit $(short "$(echo "$st" | field exit)").., path $(echo "$st" | field path) via $(echo "$st" | field endpoint)"
tell "rotated $((tr - tk)) ms after the kill; pings flowing again after $((first - tk)) ms"
tell "pings: $SENT sent, one every 0.1 s, $LOST lost"
src=$(whoami)
tell "HTTP fetch again: the target saw $src (exit2, seen through its NAT router)"
[ "$src" = "$NAT1_IP" ] || fail "after failover the target saw $src"

step "Disconnecting and tearing everything down"
adm cli disconnect >/dev/null
wait_for 10 "the client disconnected" cli_is disconnected
tell "client: $(cli_status | cut -d' ' -f1-2); relay sessions on B: $(wr snb relay list | field count)"
cleanup
trap - EXIT
left=$(ip netns list | grep -c "^$SMT-" || true)
[ "$left" -eq 0 ] || { echo "demo: $left namespaces left behind" >&2; exit 1; }
tell "all processes stopped, namespaces and files removed"
step "Done."

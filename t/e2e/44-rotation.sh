#!/bin/sh
# Rotation: the client tunnels through exit1 (direct) while a ping runs every
# 0.1 s; exit1's host is killed with -9 (exitpeerd, its helpers and
# wireguard-go at once). Supernode B notices the closed stream, A rotates the
# session to exit2 (relay), the client swaps peers and the pings flow again,
# now leaving through nat1. Prints lost pings and the time to recovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 awk
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit1 (public) and exit2 (behind NAT)"
topo_up exit1 exit2
cli_connect b
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = direct ] || fail "first exit is not exit1 (direct)"
old=$(echo "$st" | field exit)
[ "$(whoami)" = "$EXIT1_IP" ] || fail "target does not see exit1"

say "pinging; kill -9 exit1's host"
pinger_start
tk=$(now_ms)
kill_host exit1
wait_for 20 "the client rotated to another exit" exit_is_not "$old"
tr=$(now_ms)
wait_for 20 "pings flowing again" reply_after "$tr"
wait_for 20 "a second of pings on the new exit" reply_after $((tr + 1000))
pinger_stop
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = relay ] || fail "rotated path is not relay (exit2)"
src=$(whoami)
[ "$src" = "$NAT1_IP" ] || fail "after rotation the target saw $src, want $NAT1_IP"
first=$(first_reply_after "$tr")
echo "rotation: client on the new exit $((tr - tk)) ms after the kill"
echo "recovery: first ping reply on the new exit $((first - tk)) ms after the kill"
echo "longest gap between ping replies: $(longest_gap) ms"
echo "pings: $SENT sent (one per 0.1 s), $LOST lost"
grep -q "event=state from=connected to=rotating" "$TMP/cli.log" ||
	fail "no rotation in the client's log"
say "pass"

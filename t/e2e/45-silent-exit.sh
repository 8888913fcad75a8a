#!/bin/sh
# Silent exit death: exit1 serves the client (direct) while a ping runs;
# then its link is cut at the router, with exitpeerd still alive. No socket
# closes: supernode B must notice the silence after dead_after_s (short here)
# and the session is rotated to exit2. Prints the detection and recovery times.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 awk
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit1 and exit2 (heartbeat ${HB}s, dead after ${DEAD}s)"
topo_up exit1 exit2
cli_connect b
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = direct ] || fail "first exit is not exit1"
old=$(echo "$st" | field exit)

say "pinging; cut exit1's link at the router"
pinger_start
tk=$(now_ms)
ip -n "$(ns inet)" link set v-exit1 down
wait_for $((DEAD + 15)) "the client rotated to another exit" exit_is_not "$old"
tr=$(now_ms)
wait_for 15 "pings flowing again" reply_after "$tr"
wait_for 15 "a second of pings on the new exit" reply_after $((tr + 1000))
pinger_stop
kill -0 "$(pid_of exit1)" || fail "exitpeerd in exit1 died: the test wanted it alive"
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = relay ] || fail "rotated path is not relay (exit2)"
[ "$(whoami)" = "$NAT1_IP" ] || fail "target does not see exit2 (via nat1) after rotation"
dt=$((tr - tk))
first=$(first_reply_after "$tr")
echo "rotation: client on the new exit $dt ms after the cut (dead_after_s=$DEAD)"
echo "recovery: first ping reply on the new exit $((first - tk)) ms after the cut"
echo "pings: $SENT sent (one per 0.1 s), $LOST lost"
[ "$dt" -ge $(((DEAD - 1) * 1000)) ] || fail "rotated before the heartbeat timeout: not a silent death"
grep "event=stream_closed" "$TMP/snb.log" | grep -v "role=3" | tail -n 1 | sed "s/.*event=/snb: event=/"
say "pass"

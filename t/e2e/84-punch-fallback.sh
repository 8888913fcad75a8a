#!/bin/sh
# A punch that cannot work although both NATs look punchable: the internet
# router drops UDP between nat1 and nat2 (and only that). The client starts
# on the exit's public endpoint, sees no handshake, and within 5 s the
# supernode moves both sides to its relay -- same exit, same tunnel address,
# same WireGuard session. Prints the time from connect to the first ping.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=eim
say "both behind EIM NATs; the path between the two NATs is cut"
natpath_up exit2
in_ns inet nft -f - <<EOF2
table ip cut {
	chain between_nats { type filter hook forward priority -10;
		ip saddr $NAT1_IP ip daddr $NAT2_IP meta l4proto udp drop
		ip saddr $NAT2_IP ip daddr $NAT1_IP meta l4proto udp drop; }
}
EOF2
E2=$(id_of exit2) C=$(id_of cli)
wait_for 15 "exit2 classified eim" peer_nat_is "$E2" eim
wait_for 15 "the client classified eim" peer_nat_is "$C" eim

say "connect: the punch fails, the relay takes over"
t0=$(now_ms)
adm cli connect b >/dev/null
wait_for 20 "the client connected" cli_is connected
addr=$(cli_field address)
wait_for 15 "a ping through the tunnel" ping_target
t1=$(now_ms)
st=$(cli_status)
echo "$st"
adm snb sessions
adm snb status
[ "$(echo "$st" | field path)" = relay ] || fail "client path is not relay after the failed punch"
[ "$(echo "$st" | field address)" = "$addr" ] || fail "tunnel address changed on fallback"
adm snb status | grep -q ' path_fallbacks=1 punch_failed=1' || fail "status does not count the fallback"
grep -q 'event=punch_failed' "$TMP/snb.log" || fail "no punch_failed in snb's log"
echo "fallback: connect to first ping through the relay $((t1 - t0)) ms"
[ $((t1 - t0)) -lt 8000 ] || fail "fallback took $((t1 - t0)) ms"
in_ns cli ping -n -q -c 10 -i 0.1 -W 1 "$TARGET" || fail "pings lost on the relay"
say "pass"

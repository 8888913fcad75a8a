#!/bin/sh
# Hole punching: exit2 behind nat1 and the client behind nat2, both NATs
# endpoint-independent (masquerade) and both letting nothing new in. The
# supernode learned both public endpoints from its reflectors, gives each
# side the other's at the same moment, and both send: the tunnel comes up
# direct, with no packet through the relay. Prints the time to direct.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=eim
say "exit2 behind EIM nat1, the client behind EIM nat2, no public exit"
natpath_up exit2
E2=$(id_of exit2) C=$(id_of cli)
wait_for 15 "exit2 classified eim" peer_nat_is "$E2" eim
wait_for 15 "the client classified eim" peer_nat_is "$C" eim
! in_ns cli ping -c1 -W1 10.0.2.2 >/dev/null 2>&1 || fail "the client reaches exit2's inside"

say "connect: punched direct path"
t0=$(now_ms)
adm cli connect b >/dev/null
wait_for 20 "the client connected" cli_is connected
wait_for 15 "a ping through the tunnel" ping_target
t1=$(now_ms)
wait_for 10 "snb judges the path direct" sh -c "'$BIN/supernoded' -c /dev/null -s '$TMP/snb.adm.sock' sessions | grep -q ',direct\$\|,direct '"
t2=$(now_ms)
st=$(cli_status)
echo "$st"
adm snb sessions
adm snb status
[ "$(echo "$st" | field path)" = direct ] || fail "client path is not direct"
case $(echo "$st" | field endpoint) in
"$NAT1_IP":*) ;; *) fail "client endpoint is not exit2's public (nat1) endpoint" ;;
esac
echo "connect to first ping: $((t1 - t0)) ms; to direct verdict: $((t2 - t0)) ms"

say "traffic flows direct: the relay forwards nothing"
in_ns cli ping -n -q -c 10 -i 0.1 -W 1 "$TARGET" || fail "pings lost on the punched path"
rel=$(wr snb relay list | field relay)
echo "relay at snb (kept as fallback): $rel"
[ "$(echo "$rel" | cut -d, -f5)" -le 2 ] || fail "the relay forwarded client packets"
adm snb status | grep -q ' path_direct=1 ' || fail "status does not count the direct path"
say "pass"

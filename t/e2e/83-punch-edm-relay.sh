#!/bin/sh
# No punch through an endpoint-dependent NAT: the client sits behind nat2
# with `masquerade random`, so the port the reflectors saw is not the port
# the exit would see. The supernode does not try and relays at once; the
# tunnel must carry traffic within 6 s of the connect.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=edm
say "exit2 behind EIM nat1, the client behind EDM nat2"
natpath_up exit2
E2=$(id_of exit2) C=$(id_of cli)
wait_for 15 "exit2 classified eim" peer_nat_is "$E2" eim
wait_for 15 "the client classified edm" peer_nat_is "$C" edm

say "connect: relayed within 6 s"
t0=$(now_ms)
adm cli connect b >/dev/null
wait_for 6 "a ping through the tunnel within 6 s" ping_target
t1=$(now_ms)
st=$(cli_status)
echo "$st"
adm snb sessions
[ "$(echo "$st" | field path)" = relay ] || fail "client path is not relay"
case $(echo "$st" | field endpoint) in
"$SNB_IP":*) ;; *) fail "client endpoint is not snb's relay" ;;
esac
adm snb status | grep -q ' punch_failed=0\( \|$\)' || fail "a punch was tried through EDM"
echo "connect to first ping through the relay: $((t1 - t0)) ms"
in_ns cli ping -n -q -c 10 -i 0.1 -W 1 "$TARGET" || fail "pings lost on the relay"
say "pass"

#!/bin/sh
# Endpoint discovery: supernode B runs two reflector WireGuard interfaces
# (through its wgrelay); every exit and client keeps both as keepalive peers
# with no allowed IPs, and B reads back with `peer list` the public ip:port
# of each one's WireGuard port. From the two views it classifies the NAT:
# exit1 (public) none, exit2 behind nat1 (masquerade) endpoint-independent,
# the client behind nat2 (masquerade random) endpoint-dependent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=edm
say "snb with reflectors; exit1 public, exit2 behind EIM NAT, client behind EDM NAT"
t0=$(now_ms)
natpath_up exit1 exit2
wait_for 10 "snb's reflectors up" sh -c "'$BIN/supernoded' -c /dev/null -s '$TMP/snb.adm.sock' status | grep -q reflectors=up"
wr snb iface list 2>/dev/null || true

E1=$(id_of exit1) E2=$(id_of exit2) C=$(id_of cli)
wait_for 15 "exit1 classified none" peer_nat_is "$E1" none
wait_for 15 "exit2 classified eim" peer_nat_is "$E2" eim
wait_for 15 "the client classified edm" peer_nat_is "$C" edm
t1=$(now_ms)
adm snb peers
adm snb status
echo "all three classified $((t1 - t0)) ms after start"

[ "$(sn_peer_nat "$E1" | cut -d, -f2)" = "$EXIT1_IP:51820" ] || fail "exit1 seen elsewhere"
case $(sn_peer_nat "$E2" | cut -d, -f2) in
"$NAT1_IP":*) ;; *) fail "exit2 not seen at nat1's address" ;;
esac
case $(sn_peer_nat "$C" | cut -d, -f2) in
"$NAT2_IP":*) ;; *) fail "the client not seen at nat2's address" ;;
esac
adm snb status | grep -q ' nat_none=1 nat_eim=1 nat_edm=1 ' || fail "status counts wrong"
adm snb exits | grep -q ",eim,$NAT1_IP:" || fail "exits does not show exit2's class"

say "the reflector peers route nothing: the client's tunnel routes stay its own"
wr cli peer list smc0 | grep -q 'count=2' || fail "client lacks the two reflector peers"
! in_ns cli ip route show table all | grep -q smrefl || fail "a route points at a reflector"
say "pass"

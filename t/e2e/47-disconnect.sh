#!/bin/sh
# Disconnect: a client on a relayed session (exit2 behind NAT, relay on B)
# disconnects. Afterwards nothing of the session is left anywhere: no
# WireGuard peer at the client or the exit, no masquerade element at the
# exit, no relay session on either supernode, the client's tunnel address on
# no interface, no tunnel routes or rules at the client, no session listed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit2; client connected through B's relay"
topo_up exit2
rules0=$(ip -n "$(ns cli)" rule show)
cli_connect b
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = relay ] || fail "path is not relay"
addr=$(echo "$st" | field address | cut -d/ -f1)
[ "$(whoami)" = "$NAT1_IP" ] || fail "target does not see nat1"
wr exit2 peer list smexit0 | grep -q '^ok count=1 ' || fail "exit2 has no peer"
nat exit2 list | grep -q "masq=$addr " || fail "exit2 does not masquerade $addr"
wr snb relay list | grep -q '^ok count=1 ' || fail "snb has no relay"

say "disconnect"
t0=$(now_ms)
adm cli disconnect
wait_for 10 "the client disconnected" cli_is disconnected
gone() {
	wr cli peer list smc0 | grep -q '^ok count=0$' &&
	wr exit2 peer list smexit0 | grep -q '^ok count=0$' &&
	nat exit2 list | grep -q '^ok masq= ' &&
	wr snb relay list | grep -q '^ok count=0$' &&
	wr sna relay list | grep -q '^ok count=0$' &&
	adm sna sessions | grep -q '^ok count=0$' &&
	adm snb sessions | grep -q '^ok count=0$'
}
wait_for 10 "peers, NAT elements, relays and sessions gone" gone
echo "everything removed $(($(now_ms) - t0)) ms after the disconnect"
for h in inet base sna snb exit1 nat1 exit2 cli; do
	! ip -n "$(ns "$h")" addr show | grep -q "inet $addr/" || fail "$addr still on an interface in $h"
done
[ "$(ip -n "$(ns cli)" rule show)" = "$rules0" ] || fail "rules left at the client: $(ip -n "$(ns cli)" rule show)"
[ -z "$(ip -n "$(ns cli)" route show table 51820)" ] || fail "routes left in table 51820"
adm exit2 sessions
adm exit2 sessions | grep -q 'count=0' || fail "exit2 still lists a session"
src=$(whoami)
echo "target now sees $src (the client's own address: no tunnel)"
[ "$src" = "$CLI_IP" ] || fail "after disconnect the target saw $src"
say "pass"

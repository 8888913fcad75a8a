#!/bin/sh
# Relay to direct while a TCP stream runs: both sides behind EIM NATs, but
# the path between the NATs is cut at first, so the punch fails and the
# session goes to the relay. The cut is lifted; on its retry (path_retry_s
# = 4 here, 60 by default) the supernode moves both sides to each other's
# public endpoint, a handshake comes over it, and the path is direct. The
# TCP stream through the tunnel never resets; its longest stall is printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft python3 ss
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=eim SNB_EXTRA="path_retry_s = 4"
say "both behind EIM NATs, the path between them cut: relay"
natpath_up exit2
cut_nats
wait_for 15 "exit2 classified eim" peer_nat_is "$(id_of exit2)" eim
wait_for 15 "the client classified eim" peer_nat_is "$(id_of cli)" eim
adm cli connect b >/dev/null
wait_for 20 "the client connected" cli_is connected
wait_for 15 "the session on the relay" sn_session_is relay
wait_for 10 "a ping through the relay" ping_target
[ "$(cli_field path)" = relay ] || fail "client is not on the relay"

say "a TCP stream runs; the cut is lifted; the retry goes direct"
stream_start 20
wait_for 5 "the stream connected" in_ns cli sh -c "ss -Htn 'dport = :9000' | grep -q ESTAB"
uncut_nats
t0=$(now_ms)
wait_for 30 "the session upgraded to direct" sn_session_is direct
t1=$(now_ms)
st=$(cli_status)
echo "$st"
adm snb sessions
adm snb status
[ "$(echo "$st" | field path)" = direct ] || fail "client path is not direct after the upgrade"
adm snb status | grep -q ' path_upgrades=1 ' || fail "status does not count the upgrade"
echo "upgrade: $((t1 - t0)) ms after the cut was lifted"
stream_wait
echo "TCP stream survived the relay->direct move; longest stall ${STALL} ms"
[ "$STALL" -lt 3000 ] || fail "stall of ${STALL} ms"
say "pass"

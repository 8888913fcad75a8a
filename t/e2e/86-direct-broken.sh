#!/bin/sh
# The direct path breaks under a running TCP stream: both sides punched a
# direct path through EIM NATs; then nat2, the client's NAT, loses its
# mappings (conntrack flushed) and maps the client to new ports, so the
# exit's packets meet no mapping and the client's come from a port nat1
# has no hole for. (nat1 is left alone: it also NATs the exit's upstream,
# the TCP connection itself.) The client's
# WireGuard rx stops growing despite keepalives; the supernode moves both
# sides to its relay, same exit and address. The stream survives; the
# time to fallback and the stall are printed. The reflectors then see the
# client's new endpoint, and the path may go direct again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft python3 ss conntrack
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

NAT1_MODE=eim NAT2_MODE=eim SNB_EXTRA="path_retry_s = 4"
say "both behind EIM NATs: punched direct"
natpath_up exit2
wait_for 15 "exit2 classified eim" peer_nat_is "$(id_of exit2)" eim
wait_for 15 "the client classified eim" peer_nat_is "$(id_of cli)" eim
adm cli connect b >/dev/null
wait_for 20 "the client connected" cli_is connected
wait_for 10 "the session direct" sn_session_is direct
wait_for 10 "a ping through the tunnel" ping_target

say "a TCP stream runs; nat2 forgets its mappings and remaps the client"
stream_start 25
wait_for 5 "the stream connected" in_ns cli sh -c "ss -Htn 'dport = :9000' | grep -q ESTAB"
in_ns nat2 nft flush chain ip nat2 out
in_ns nat2 nft add rule ip nat2 out oifname v-inet meta l4proto udp masquerade to :20000-20999
in_ns nat2 nft add rule ip nat2 out oifname v-inet masquerade
in_ns nat2 conntrack -F 2>/dev/null
t0=$(now_ms)
wait_for 20 "the fallback to the relay" grep -q 'event=path_change .*to=relay' "$TMP/snb.log"
t1=$(now_ms)
grep -q 'event=direct_silent' "$TMP/snb.log" || fail "no direct_silent in snb's log"
echo "fallback: $((t1 - t0)) ms after the mappings were flushed"
stream_wait
adm snb sessions
adm snb status
adm snb status | grep -q ' path_fallbacks=[1-9]' || fail "status does not count the fallback"
echo "TCP stream survived the break; longest stall ${STALL} ms"
[ "$STALL" -lt 9000 ] || fail "stall of ${STALL} ms"
in_ns cli ping -n -q -c 5 -i 0.2 -W 1 "$TARGET" || fail "pings lost after the fallback"
say "pass"

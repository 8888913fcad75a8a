#!/bin/sh
# Fail closed: the client's only exit (exit1) dies. While no exit is up the
# client keeps its full-tunnel routes and rules, so its traffic goes into a
# WireGuard interface with no peer: a capture on its uplink sees the control
# stream but no ping to the target and no plaintext marker, and the target
# gets nothing. When exit1 comes back and the user connects, it is served again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 tcpdump
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit1 only; client connected"
topo_up exit1
cli_connect b
cli_status

say "kill exit1's host: no exit left"
tk=$(now_ms)
kill_host exit1
failed_closed() { cli_status | grep -q ' fail_closed=yes '; }
wait_for 15 "the client to fail closed" failed_closed
echo "client failed closed $(($(now_ms) - tk)) ms after the kill"
cli_status

say "capture the client's uplink while it pings and fetches"
bg cli tcpdump -n -U -s 0 -i v-inet -w "$TMP/up.pcap"
D=$LAST_PID
wait_for 10 "tcpdump on the uplink" grep -q "listening on v-inet" "$TMP/cli.log"
if in_ns cli ping -n -q -c 10 -i 0.1 -W 1 -p "$MARK" "$TARGET"; then
	fail "pings reached the target with no exit"
fi
[ -z "$(whoami)" ] || fail "HTTP fetch passed with no exit"
# Heartbeats every ${HB}s: wait for two on the wire so the capture is known live.
ctl_seen() { [ "$(in_ns cli tcpdump -n -r "$TMP/up.pcap" "tcp port 7100" 2>/dev/null | wc -l)" -ge 4 ]; }
wait_for 10 "control traffic in the capture" ctl_seen
kill -INT "$D"
wait "$D" || true
all=$(in_ns cli tcpdump -n -r "$TMP/up.pcap" 2>/dev/null | wc -l)
leak=$(in_ns cli tcpdump -n -r "$TMP/up.pcap" "host $TARGET" 2>/dev/null | wc -l)
echo "uplink capture: $all packets, $leak to or from the target"
[ "$leak" -eq 0 ] || fail "traffic to the target left the uplink in the clear"
! grep -aq "$MARK_TEXT" "$TMP/up.pcap" || fail "plaintext marker on the uplink"
in_ns cli tcpdump -n -r "$TMP/up.pcap" "not tcp port 7100" 2>/dev/null | head -n 5

say "exit1 comes back; the client finds it by itself"
# With no exit left supernode A sends DISCONNECT "no_exit": the client stays
# fail-closed and keeps asking, with backoff, until an exit serves it.
tb=$(now_ms)
start_exit exit1
wait_for 15 "exit1 back on snb" exit_count b 1
wait_for 45 "the client connected again on its own" cli_is connected
wait_for 15 "a ping through the new tunnel" ping_target
echo "served again $(($(now_ms) - tb)) ms after exit1 was restarted"
[ "$(whoami)" = "$EXIT1_IP" ] || fail "target does not see exit1 after its return"
say "pass"

#!/bin/sh
# Relay path: the only exit in region b (exit2) sits behind nat1, which lets
# nothing in, so supernode B relays. The client's endpoint is B's relay port,
# traffic reaches the target from nat1's address, and a capture at B holds
# none of the plaintext marker the client's pings carry (while a capture on
# the client's own tunnel device does: the capture works).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 tcpdump
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit2 behind NAT only"
topo_up exit2
topo_check_net

say "client asks for an exit in region b"
t0=$(now_ms)
cli_connect b
t1=$(now_ms)
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = relay ] || fail "path is not relay"
case $(echo "$st" | field endpoint) in
"$SNB_IP":*) ;;
*) fail "endpoint is not supernode B's relay" ;;
esac
echo "connect to first ping through the relay: $((t1 - t0)) ms"
wr snb relay list | grep -q '^ok count=1 ' || fail "snb lists no relay session"
src=$(whoami)
echo "target saw source $src"
[ "$src" = "$NAT1_IP" ] || fail "target saw $src, want nat1's $NAT1_IP"

say "marked pings: plaintext on the client's tunnel, never at the relay"
bg snb tcpdump -n -U -s 0 -i any -w "$TMP/snb.pcap" udp
D1=$LAST_PID
bg cli tcpdump -n -U -s 0 -i smc0 -w "$TMP/cli.pcap" icmp
D2=$LAST_PID
wait_for 10 "tcpdump at snb" grep -q "listening on any" "$TMP/snb.log"
wait_for 10 "tcpdump at cli" grep -q "listening on smc0" "$TMP/cli.log"
in_ns cli ping -n -q -c 20 -i 0.05 -s 1000 -p "$MARK" "$TARGET" || fail "marked pings lost"
kill -INT "$D1" "$D2"
wait "$D1" "$D2" || true
grep -aq "$MARK_TEXT" "$TMP/cli.pcap" || fail "marker missing on the client's tunnel"
sz=$(stat -c %s "$TMP/snb.pcap")
echo "capture at snb: $sz bytes"
[ "$sz" -gt 40000 ] || fail "capture at snb too small: the pings did not pass it"
! grep -aq "$MARK_TEXT" "$TMP/snb.pcap" || fail "plaintext marker seen at the relay"
rel=$(wr snb relay list | field relay)
echo "relay session at snb: $rel"
[ "$(echo "$rel" | cut -d, -f5)" -ge 20 ] || fail "relay forwarded fewer than 20 packets"
say "pass"

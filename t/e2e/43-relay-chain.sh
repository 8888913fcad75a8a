#!/bin/sh
# Relay chain: supernode A runs with relay_chain = yes, so for an exit in
# another region the client sends to A's relay, which forwards to B's relay,
# which forwards to the exit (exit1 here, although it has a public address:
# the chain is forced). Both relays count the traffic, the target sees
# exit1, and neither relay sees the plaintext marker.
. "$(dirname "$0")/lib.sh"
SNA_EXTRA="relay_chain = yes"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 tcpdump
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit1; supernode A chains relays"
topo_up exit1
t0=$(now_ms)
cli_connect b
echo "connect to first ping through the chain: $(($(now_ms) - t0)) ms"
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = relay_chain ] || fail "path is not relay_chain"
case $(echo "$st" | field endpoint) in
"$SNA_IP":*) ;;
*) fail "endpoint is not supernode A's relay" ;;
esac
adm sna sessions | grep -q ',active,origin,3,' || fail "sna has no active chained session"
wr sna relay list | grep -q '^ok count=1 ' || fail "no relay on sna"
wr snb relay list | grep -q '^ok count=1 ' || fail "no relay on snb"
src=$(whoami)
echo "target saw source $src"
[ "$src" = "$EXIT1_IP" ] || fail "target saw $src, want exit1's $EXIT1_IP"

say "marked pings through both relays; neither sees the marker"
bg sna tcpdump -n -U -s 0 -i any -w "$TMP/sna.pcap" udp
D1=$LAST_PID
bg snb tcpdump -n -U -s 0 -i any -w "$TMP/snb.pcap" udp
D2=$LAST_PID
wait_for 10 "tcpdump at sna" grep -q "listening on any" "$TMP/sna.log"
wait_for 10 "tcpdump at snb" grep -q "listening on any" "$TMP/snb.log"
a0=$(wr sna relay list | field relay | cut -d, -f5)
b0=$(wr snb relay list | field relay | cut -d, -f5)
in_ns cli ping -n -q -c 20 -i 0.05 -s 1000 -p "$MARK" "$TARGET" || fail "marked pings lost"
kill -INT "$D1" "$D2"
wait "$D1" "$D2" || true
a1=$(wr sna relay list | field relay | cut -d, -f5)
b1=$(wr snb relay list | field relay | cut -d, -f5)
echo "client-to-exit packets relayed: sna $a0 -> $a1, snb $b0 -> $b1"
[ $((a1 - a0)) -ge 20 ] && [ $((b1 - b0)) -ge 20 ] || fail "a relay did not carry the pings"
for h in sna snb; do
	sz=$(stat -c %s "$TMP/$h.pcap")
	echo "capture at $h: $sz bytes"
	[ "$sz" -gt 40000 ] || fail "capture at $h too small"
	! grep -aq "$MARK_TEXT" "$TMP/$h.pcap" || fail "plaintext marker seen at $h"
done
say "pass"

# A wgrelay relay session carries a real WireGuard tunnel between two
# namespaces that cannot reach each other, and sees only ciphertext:
#   c 10.77.1.1 --- 10.77.1.2 r 10.77.2.2 --- 10.77.2.1 e
#   tunnel 10.99.0.1 (c) <-> 10.99.0.2 (e), c's endpoint r:client_port,
#   e's endpoint r:exit_port with keepalive so e's packets latch the exit side.
# Then: pings pass, counters match `wg show`, a plaintext marker never shows in
# a capture at r (but does on c's tunnel device), a 20 Mbit/s rate holds
# within 10% under 40 Mbit/s of iperf3, and `relay del` closes the ports.
. "$(dirname "$0")/lib.sh"

need wg wireguard-go iperf3 tcpdump ping python3 ss
WGRELAY=$BIN/wgrelay
[ -x "$WGRELAY" ] || skip "wgrelay not built in $O"

SOCK=$TMP/wgrelay.sock
# The UAPI sockets in /var/run/wireguard are not per namespace: unique names.
WGC=${SMT}c WGE=${SMT}e
MARK=736d2d706c61696e2d6d61726b21  # "sm-plain-mark!" in every ping payload
MARK_TEXT=sm-plain-mark!
RATE=20000000

# wireguard-go is killed with its namespace; its UAPI socket would stay.
cleanup_wg() {
	cleanup
	rm -f "/var/run/wireguard/$WGC.sock" "/var/run/wireguard/$WGE.sock"
}
trap cleanup_wg EXIT

# wgr NS VERB...: a one-shot wgrelay verb in a namespace; prints the reply.
wgr() { n=$1; shift; in_ns "$n" "$WGRELAY" -c /dev/null -o backend=userspace "$@"; }
# relay VERB...: a request to the relay server in r, through its socket.
relay() { "$WGRELAY" -c /dev/null -s "$SOCK" relay "$@"; }
# field KEY TEXT: the value of key=value in a reply line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# session ID: the comma-separated counters of one session from `relay list`.
session() { field relay "$(relay list)" | grep "^$1,"; }
# col N CSV: the Nth comma-separated column (1-based).
col() { printf '%s\n' "$2" | cut -d, -f"$1"; }
udp_bound() { in_ns r ss -Huan "sport = :$1" | grep -q .; }

netns_add c
netns_add r
netns_add e
link c 10.77.1.1/24 r 10.77.1.2/24
link r 10.77.2.2/24 e 10.77.2.1/24
in_ns c ping -c1 -W1 10.77.2.1 >/dev/null 2>&1 && fail "c reaches e directly"

say "wgrelay -l serves in r"
bg r "$WGRELAY" -d -c /dev/null -o relay_bind=0.0.0.0 -l "$SOCK"
SERVER=$LAST_PID
wait_for 10 "wgrelay socket" test -S "$SOCK"
[ "$(relay list)" = "ok count=0" ] || fail "fresh server lists sessions"

say "relay add opens two ports"
rep=$(relay add t1) || fail "relay add: $rep"
CP=$(field client_port "$rep") EP=$(field exit_port "$rep")
[ -n "$CP" ] && [ -n "$EP" ] || fail "no ports in: $rep"
udp_bound "$CP" && udp_bound "$EP" || fail "ports $CP $EP not bound in r"
[ "$(relay add t1)" = "$rep" ] || fail "second relay add t1 gave other ports"

say "WireGuard between c and e, endpoints on the relay"
rep=$(wgr c iface ensure "$WGC" port 51820) || fail "iface ensure c: $rep"
CPUB=$(field pubkey "$rep")
rep=$(wgr e iface ensure "$WGE" port 51820) || fail "iface ensure e: $rep"
EPUB=$(field pubkey "$rep")
wgr c addr add "$WGC" 10.99.0.1/24 >/dev/null || fail "addr add c"
wgr e addr add "$WGE" 10.99.0.2/24 >/dev/null || fail "addr add e"
wgr c peer add "$WGC" "$EPUB" allowed-ips 10.99.0.2/32 endpoint "10.77.1.2:$CP" \
	>/dev/null || fail "peer add c"
wgr e peer add "$WGE" "$CPUB" allowed-ips 10.99.0.1/32 endpoint "10.77.2.2:$EP" \
	keepalive 1 >/dev/null || fail "peer add e"

# e's keepalive reaches r first and is dropped: nothing to forward it to yet.
exit_latched() { [ "$(col 8 "$(session t1)")" -ge 1 ]; }
wait_for 10 "e's first packet at the relay" exit_latched
wait_for 30 "ping through the relay" in_ns c ping -c1 -W1 10.99.0.2

say "a plaintext marker is in c's tunnel but never on the wire at r"
bg r tcpdump -n -U -s 0 -i any -w "$TMP/r.pcap" udp
RDUMP=$LAST_PID
bg c tcpdump -n -U -s 0 -i "$WGC" -w "$TMP/c.pcap" icmp
CDUMP=$LAST_PID
wait_for 10 "tcpdump in r" grep -q "listening on any" "$TMP/r.log"
wait_for 10 "tcpdump in c" grep -q "listening on $WGC" "$TMP/c.log"
in_ns c ping -q -c 20 -i 0.05 -s 1000 -p "$MARK" 10.99.0.2 >/dev/null ||
	fail "marked pings lost"
kill -INT "$RDUMP" "$CDUMP"
wait "$RDUMP" "$CDUMP" || true
grep -aq "$MARK_TEXT" "$TMP/c.pcap" || fail "marker missing on c's tunnel: capture broken"
[ "$(stat -c %s "$TMP/r.pcap")" -gt 20000 ] || fail "capture at r is too small"
! grep -aq "$MARK_TEXT" "$TMP/r.pcap" || fail "plaintext marker seen at the relay"

say "relay counters match what WireGuard sent and received"
s=$(session t1)
c2e=$(col 4 "$s") c2ep=$(col 5 "$s") e2c=$(col 6 "$s") e2cp=$(col 7 "$s")
set -- $(wg show "$WGC" transfer | cut -f2,3)
crx=$1 ctx=$2
echo "relay c2e=$c2e bytes/$c2ep pkts e2c=$e2c bytes/$e2cp pkts; wg c rx=$crx tx=$ctx"
[ "$c2ep" -ge 20 ] && [ "$e2cp" -ge 20 ] || fail "too few packets relayed: $s"
# Keepalives go on between the two reads: allow a few small packets.
python3 - "$c2e" "$ctx" "$e2c" "$crx" <<'EOF' || fail "relay and WireGuard disagree"
import sys
c2e, ctx, e2c, crx = map(int, sys.argv[1:])
for name, relay, wg in (("c->e", c2e, ctx), ("e->c", e2c, crx)):
    ok = abs(relay - wg) <= 512 + wg // 20
    print(f"{name}: relay {relay} wg {wg} {'ok' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit(1)
EOF

say "relay del closes both ports"
[ "$(relay del t1)" = ok ] || fail "relay del t1"
! udp_bound "$CP" && ! udp_bound "$EP" || fail "ports still bound after del"
[ "$(relay list)" = "ok count=0" ] || fail "session listed after del"
[ "$(relay del t1)" = ok ] || fail "relay del of an absent id is not ok"
! in_ns c ping -c1 -W1 10.99.0.2 >/dev/null 2>&1 || fail "ping passes without a relay"

say "a session with rate $RATE polices the tunnel"
rep=$(relay add t2 rate "$RATE") || fail "relay add t2: $rep"
CP=$(field client_port "$rep") EP=$(field exit_port "$rep")
wgr c peer add "$WGC" "$EPUB" allowed-ips 10.99.0.2/32 endpoint "10.77.1.2:$CP" \
	>/dev/null || fail "re-point c"
wgr e peer add "$WGE" "$CPUB" allowed-ips 10.99.0.1/32 endpoint "10.77.2.2:$EP" \
	keepalive 1 >/dev/null || fail "re-point e"
wait_for 30 "ping through the rate-limited relay" in_ns c ping -c1 -W1 10.99.0.2
bg e iperf3 -s -B 10.99.0.2
wait_for 10 "iperf3 server" sh -c "ip netns exec $(ns e) ss -Htln 'sport = :5201' | grep -q ."
before=$(col 4 "$(session t2)")
t0=$(date +%s.%N)
in_ns c iperf3 -c 10.99.0.2 -u -b 40M -l 1200 -t 4 -J >"$TMP/iperf.json" ||
	fail "iperf3 failed: $(tail -n 5 "$TMP/iperf.json")"
t1=$(date +%s.%N)
s=$(session t2)
python3 - "$TMP/iperf.json" "$RATE" "$before" "$(col 4 "$s")" "$t0" "$t1" "$(col 8 "$s")" <<'EOF' ||
import json, sys
path, rate, before, after, t0, t1, drops = sys.argv[1:]
rate = int(rate)
end = json.load(open(path))["end"]
rx = end.get("sum_received", end["sum"])["bits_per_second"]
relayed = (int(after) - int(before)) * 8 / (float(t1) - float(t0))
print(f"iperf3 received {rx / 1e6:.2f} Mbit/s; relay forwarded c->e "
      f"{relayed / 1e6:.2f} Mbit/s of ciphertext; drops {drops}; rate {rate / 1e6:.0f} Mbit/s")
sys.exit(0 if abs(rx - rate) <= rate / 10 else 1)
EOF
	fail "received rate not within 10% of $RATE"
[ "$(col 8 "$s")" -gt 0 ] || fail "no drops counted at twice the rate"
[ "$(col 9 "$s")" = "$RATE" ] || fail "list shows rate $(col 9 "$s")"
[ "$(relay del t2)" = ok ] || fail "relay del t2"
! udp_bound "$CP" && ! udp_bound "$EP" || fail "t2 ports still bound after del"

say "wgrelay -l stops cleanly on SIGTERM (a sanitizer build reports here)"
kill -TERM "$SERVER"
rc=0
wait "$SERVER" || rc=$?
[ "$rc" -eq 0 ] || fail "wgrelay -l exited $rc: $(grep -v tcpdump "$TMP/r.log" | tail -n 20)"
say "ok"

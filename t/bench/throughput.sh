#!/bin/sh
# Relayed/direct throughput of one WireGuard tunnel (wireguard-go) between
# namespaces c and e, both one hop from r:
#   c 10.77.1.1 --- 10.77.1.2 r 10.77.2.2 --- 10.77.2.1 e, tunnel 10.99.0.1 <-> .2
# direct: r routes the UDP packets (kernel forwarding); relay: c and e point
# at a wgrelay relay session on r, which forwards them in userspace. iperf3
# TCP, BENCH_IPERF_ROUNDS alternating runs of BENCH_IPERF_SECONDS, medians.
# Prints one "throughput ..." line; run by t/bench/run.sh.
. "$(dirname "$0")/../e2e/lib.sh"

need wg wireguard-go iperf3 python3 ss
WGRELAY=$BIN/wgrelay
[ -x "$WGRELAY" ] || skip "wgrelay not built in $O"
SECS=${BENCH_IPERF_SECONDS:-5}
ROUNDS=${BENCH_IPERF_ROUNDS:-3}
SOCK=$TMP/wgrelay.sock
WGC=${SMT}c WGE=${SMT}e

cleanup_wg() {
	cleanup
	rm -f "/var/run/wireguard/$WGC.sock" "/var/run/wireguard/$WGE.sock"
}
trap cleanup_wg EXIT

wgr() { n=$1; shift; in_ns "$n" "$WGRELAY" -c /dev/null -o backend=userspace "$@"; }
relay() { "$WGRELAY" -c /dev/null -s "$SOCK" relay "$@"; }
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

netns_add c
netns_add r
netns_add e
link c 10.77.1.1/24 r 10.77.1.2/24
link r 10.77.2.2/24 e 10.77.2.1/24
in_ns r sysctl -qw net.ipv4.ip_forward=1
ip -n "$(ns c)" route add 10.77.2.0/24 via 10.77.1.2
ip -n "$(ns e)" route add 10.77.1.0/24 via 10.77.2.2

bg r "$WGRELAY" -d -c /dev/null -o relay_bind=0.0.0.0 -l "$SOCK"
wait_for 10 "wgrelay socket" test -S "$SOCK"
rep=$(wgr c iface ensure "$WGC" port 51820) || fail "iface ensure c: $rep"
CPUB=$(field pubkey "$rep")
rep=$(wgr e iface ensure "$WGE" port 51820) || fail "iface ensure e: $rep"
EPUB=$(field pubkey "$rep")
wgr c addr add "$WGC" 10.99.0.1/24 >/dev/null || fail "addr add c"
wgr e addr add "$WGE" 10.99.0.2/24 >/dev/null || fail "addr add e"
bg e iperf3 -s -B 10.99.0.2
wait_for 10 "iperf3 server" sh -c "ip netns exec $(ns e) ss -Htln 'sport = :5201' | grep -q ."

# point CLIENT_EP EXIT_EP: both peers' endpoints; e keeps a keepalive so a
# relay latches its side.
point() {
	wgr c peer add "$WGC" "$EPUB" allowed-ips 10.99.0.2/32 endpoint "$1" >/dev/null ||
		fail "peer add c"
	wgr e peer add "$WGE" "$CPUB" allowed-ips 10.99.0.1/32 endpoint "$2" keepalive 1 \
		>/dev/null || fail "peer add e"
	wait_for 30 "ping through the tunnel via $1" in_ns c ping -c1 -W1 10.99.0.2
}

# measure: iperf3 TCP c -> e through the tunnel, Mbit/s received.
measure() {
	in_ns c iperf3 -c 10.99.0.2 -t "$SECS" -J >"$TMP/iperf.json" || fail "iperf3 failed"
	python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.1f" % (e.get("sum_received", e.get("sum"))["bits_per_second"] / 1e6))' "$TMP/iperf.json"
}

DIRECT="" RELAYED=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	point 10.77.2.1:51820 10.77.1.1:51820
	d=$(measure)
	rep=$(relay add "b$r") || fail "relay add: $rep"
	point "10.77.1.2:$(field client_port "$rep")" "10.77.2.2:$(field exit_port "$rep")"
	v=$(measure)
	relay del "b$r" >/dev/null
	echo "round $r: direct $d Mbit/s, relayed $v Mbit/s"
	DIRECT="$DIRECT $d" RELAYED="$RELAYED $v"
done
python3 - "$DIRECT" "$RELAYED" <<'EOF'
import statistics, sys
d = [float(x) for x in sys.argv[1].split()]
r = [float(x) for x in sys.argv[2].split()]
md, mr = statistics.median(d), statistics.median(r)
print(f"throughput direct_mbps={md:.1f} relayed_mbps={mr:.1f} ratio={mr / md:.2f} "
      f"rounds={len(d)} direct_all={','.join(map(str, d))} relayed_all={','.join(map(str, r))}")
EOF

#!/bin/sh
# No loop: a full-tunnel client on a relayed session sends everything into
# its tunnel except its own control stream (TCP to supernode A) and its
# WireGuard datagrams (UDP to B's relay). Captures on the tunnel device and
# on the uplink, taken while pings cross the tunnel, show the supernodes'
# addresses only on the uplink, and the route lookups agree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 tcpdump
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit2; client connected through B's relay"
topo_up exit2
cli_connect b
st=$(cli_status)
echo "$st"
ep=$(echo "$st" | field endpoint)
rport=${ep#*:}
[ "${ep%:*}" = "$SNB_IP" ] || fail "endpoint $ep is not B's relay"

say "route lookups: supernode and relay via the uplink, the rest via the tunnel"
for dst in "$SNA_IP" "$SNB_IP" "$TARGET" 198.51.100.42; do
	echo "$dst: $(ip -n "$(ns cli)" route get "$dst" | head -n 1)"
done
ip -n "$(ns cli)" route get "$SNA_IP" | grep -q 'dev v-inet' || fail "supernode A not via the uplink"
ip -n "$(ns cli)" route get "$SNB_IP" | grep -q 'dev v-inet' || fail "the relay not via the uplink"
ip -n "$(ns cli)" route get "$TARGET" | grep -q 'dev smc0' || fail "the target not via the tunnel"

say "capture the tunnel device and the uplink while pinging"
bg cli tcpdump -n -U -s 128 -i smc0 -w "$TMP/tun.pcap"
D1=$LAST_PID
wait_for 10 "tcpdump on smc0" grep -q "listening on smc0" "$TMP/cli.log"
bg cli tcpdump -n -U -s 128 -i v-inet -w "$TMP/up.pcap"
D2=$LAST_PID
wait_for 10 "tcpdump on v-inet" grep -q "listening on v-inet" "$TMP/cli.log"
in_ns cli ping -n -q -c 20 -i 0.1 -W 1 "$TARGET" || fail "pings lost through the tunnel"
count() { in_ns cli tcpdump -n -r "$1" "$2" 2>/dev/null | wc -l; }
ctl_seen() { [ "$(count "$TMP/up.pcap" "host $SNA_IP and tcp port 7100")" -ge 4 ]; }
wait_for 10 "control heartbeats on the uplink" ctl_seen
tun_seen() { [ "$(count "$TMP/tun.pcap" "icmp and host $TARGET")" -ge 40 ]; }
wait_for 10 "the 20 pings and replies in the tunnel capture" tun_seen
wg_seen() { [ "$(count "$TMP/up.pcap" "host $SNB_IP and udp port $rport")" -ge 40 ]; }
wait_for 10 "their 40 WireGuard datagrams in the uplink capture" wg_seen
kill -INT "$D1" "$D2"
wait "$D1" "$D2" || true
tun_sn=$(count "$TMP/tun.pcap" "host $SNA_IP or host $SNB_IP")
tun_icmp=$(count "$TMP/tun.pcap" "icmp and host $TARGET")
up_ctl=$(count "$TMP/up.pcap" "host $SNA_IP and tcp port 7100")
up_wg=$(count "$TMP/up.pcap" "host $SNB_IP and udp port $rport")
up_clear=$(count "$TMP/up.pcap" "host $TARGET")
echo "tunnel device: $tun_icmp pings to the target, $tun_sn packets to or from a supernode"
echo "uplink: $up_ctl control packets, $up_wg WireGuard datagrams to the relay, $up_clear in the clear to the target"
[ "$tun_icmp" -ge 40 ] || fail "the pings did not cross the tunnel device"
[ "$tun_sn" -eq 0 ] || fail "control or relay traffic entered the tunnel"
[ "$up_ctl" -ge 4 ] || fail "no control stream on the uplink"
[ "$up_wg" -ge 40 ] || fail "WireGuard datagrams did not go to the relay on the uplink"
[ "$up_clear" -eq 0 ] || fail "traffic to the target on the uplink in the clear"
say "pass"

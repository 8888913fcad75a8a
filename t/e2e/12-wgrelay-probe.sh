#!/bin/sh
# Direct-path probes sent from a WireGuard interface's own port (wgrelay
# `probe`), over real wireguard-go tunnels that must not notice them:
#
#   a 198.51.100.2 ──┐
#   b 198.51.100.10 ─┼── inet (router)
#   nat 198.51.100.18 ── 10.0.2.2 c
#
# public <-> public (IPv4 and IPv6): both see the other's probe from its
# listen endpoint;
# EIM NAT: c's probes leave through the mapping its WireGuard already uses
# (the endpoint b learned from c's handshakes), so a's probes to that
# endpoint get in and both sides see each other; EDM NAT: the mapping
# toward a is another port, so c never sees a's probes and a sees c's from
# a port other than the one b learned; the a-b tunnel passes every ping
# meanwhile; without CAP_NET_RAW `probe start` is err perm, nothing else
# changes; SIGTERM stops a server with probes at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping nft wireguard-go unshare mount setpriv
[ -x "$BIN/wgrelay" ] || skip "wgrelay not built"

A=198.51.100.2 B=198.51.100.10 NAT=198.51.100.18
for h in inet a b nat c; do netns_add "$h"; done
link inet 198.51.100.1/29 a "$A/29"
link inet 198.51.100.9/29 b "$B/29"
link inet 198.51.100.17/29 nat "$NAT/29"
link nat 10.0.2.1/24 c 10.0.2.2/24
for hg in a:198.51.100.1 b:198.51.100.9 nat:198.51.100.17 c:10.0.2.1; do
	ip -n "$(ns "${hg%%:*}")" route add default via "${hg#*:}"
done
in_ns inet sysctl -qw net.ipv4.ip_forward=1
# IPv6 between a and b too (raw IPv6 sockets differ: no IP header, kernel
# checksums)
A6=2001:db8:1::2 B6=2001:db8:2::2
in_ns inet sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$(ns inet)" addr add 2001:db8:1::1/64 dev v-a nodad
ip -n "$(ns inet)" addr add 2001:db8:2::1/64 dev v-b nodad
ip -n "$(ns a)" addr add "$A6/64" dev v-inet nodad
ip -n "$(ns b)" addr add "$B6/64" dev v-inet nodad
ip -n "$(ns a)" -6 route add default via 2001:db8:1::1
ip -n "$(ns b)" -6 route add default via 2001:db8:2::1
nat_router nat c eim

mkdir -p /var/run/wireguard
# start_wgrelay NS [SOCKNAME [PREFIX...]]: a server with its own
# /var/run/wireguard (wireguard-go's UAPI sockets), PREFIX run before it.
start_wgrelay() {
	n=$1 s=${2:-$1}; shift; [ $# -gt 0 ] && shift
	bg "$n" unshare -m sh -c "mount -t tmpfs tmpfs /var/run/wireguard &&
		exec $* '$BIN/wgrelay' -d -o metrics_listen= -l '$TMP/$s.sock'"
	wait_for 10 "wgrelay server $s" test -S "$TMP/$s.sock"
}
wr() { n=$1; shift; "$BIN/wgrelay" -s "$TMP/$n.sock" "$@"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; } # key, reply on stdin
token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
# status NS TOKEN: the reply to probe status
status() { wr "$1" probe status "$2"; }
is_done() { status "$1" "$2" | grep -q ' state=done '; }
sees() { status "$1" "$2" | grep -q ' seen=1 '; }
# peer_ep NS IFACE PUBKEY: the endpoint WireGuard has for that peer
peer_ep() { wr "$1" peer list "$2" "$3" | field peer | cut -d, -f2; }

say "three hosts with WireGuard"
start_wgrelay a
WRA=$LAST_PID
for h in b c; do start_wgrelay "$h"; done
pa=$(wr a iface ensure wga port 51820 | field pubkey)
pb=$(wr b iface ensure wgb port 51820 | field pubkey)
pc=$(wr c iface ensure wgc port 51820 | field pubkey)
wr a addr add wga 10.99.0.1/24
wr b addr add wgb 10.99.0.2/24
wr a peer add wga "$pb" allowed-ips 10.99.0.2/32 endpoint "$B:51820"
wr b peer add wgb "$pa" allowed-ips 10.99.0.1/32 endpoint "$A:51820"
# c keeps its mapping open toward b, as an exit does toward its supernode
wr b peer add wgb "$pc" allowed-ips none
wr c peer add wgc "$pb" allowed-ips none endpoint "$B:51820" keepalive 1
pinging() { in_ns a ping -c 1 -W 1 10.99.0.2 >/dev/null; }
wait_for 15 "ping across the a-b tunnel" pinging
has_c_ep() { [ "$(peer_ep b wgb "$pc")" != - ]; }
wait_for 15 "b learning c's endpoint" has_c_ep
EC=$(peer_ep b wgb "$pc")
case $EC in "$NAT":*) ;; *) fail "c's endpoint at b is $EC, not behind $NAT" ;; esac

say "bad requests start nothing"
T=$(token)
for req in "wga nothex $B:51820" "wga ${T}0 $B:51820" "wga $T $B" "wga $T host.invalid:1" \
	"wga $T $B:51820 ms 50" "wga $T $B:51820 ms 10001" "nosuch0 $T $B:51820" \
	"wg/a $T $B:51820" "wga $T $B:51820 extra"; do
	# shellcheck disable=SC2086
	if out=$(wr a probe start $req 2>&1); then fail "accepted: probe start $req"; fi
	case $out in "err "*) ;; *) fail "not an err line for '$req': $out" ;; esac
done
wr a probe status "$T" 2>&1 | grep -q '^err notfound ' || fail "a bad start left a probe"

say "public <-> public, the tunnel pinging meanwhile"
in_ns a ping -c 15 -i 0.2 -W 2 10.99.0.2 >"$TMP/ping.out" 2>&1 &
PING=$!
track_pid "$PING"
wr a probe start wga "$T" "$B:51820"
wr a probe start wga "$T" "$B:51820" # idempotent
wr b probe start wgb "$T" "$A:51820"
wait_for 10 "a seeing b's probe" sees a "$T"
wait_for 10 "b seeing a's probe" sees b "$T"
[ "$(status a "$T" | field from)" = "$B:51820" ] || fail "a: $(status a "$T")"
[ "$(status b "$T" | field from)" = "$A:51820" ] || fail "b: $(status b "$T")"
wait "$PING" || fail "ping failed while probing: $(cat "$TMP/ping.out")"
grep -q ' 15 received' "$TMP/ping.out" || fail "pings lost while probing: $(cat "$TMP/ping.out")"
[ "$(peer_ep a wga "$pb")" = "$B:51820" ] || fail "a's WireGuard endpoint moved"
wait_for 10 "a's probe finishing" is_done a "$T"
status a "$T" | grep -Eq '^ok state=done seen=1 from=[^ ]+ sent=[1-9][0-9]*$' ||
	fail "status format: $(status a "$T")"
wr a probe stop "$T"
wr a probe stop "$T" # idempotent
wr a probe status "$T" 2>&1 | grep -q '^err notfound ' || fail "stop did not forget"

say "public <-> public over IPv6"
T=$(token)
wr a probe start wga "$T" "[$B6]:51820"
wr b probe start wgb "$T" "[$A6]:51820"
wait_for 10 "a seeing b's IPv6 probe" sees a "$T"
wait_for 10 "b seeing a's IPv6 probe" sees b "$T"
[ "$(status a "$T" | field from)" = "[$B6]:51820" ] || fail "a: $(status a "$T")"
[ "$(status b "$T" | field from)" = "[$A6]:51820" ] || fail "b: $(status b "$T")"

say "EIM NAT: probes from c's WireGuard port use the mapping b learned"
T=$(token)
wr a probe start wga "$T" "$EC" ms 4000
wr c probe start wgc "$T" "$A:51820" ms 4000
wait_for 10 "a seeing c's probe" sees a "$T"
wait_for 10 "c seeing a's probe" sees c "$T"
[ "$(status a "$T" | field from)" = "$EC" ] || fail "a saw c from another port: $(status a "$T")"
[ "$(status c "$T" | field from)" = "$A:51820" ] || fail "c: $(status c "$T")"
pinging || fail "a-b tunnel broke"

say "EDM NAT: the mapping toward a is not the one b learned"
in_ns nat nft delete table ip nat
nat_router nat c edm
# A new port on c: fresh conntrack entries, mapped at random.
pc2=$(wr c iface ensure wgc2 port 51821 | field pubkey)
wr b peer add wgb "$pc2" allowed-ips none
wr c peer add wgc2 "$pb" allowed-ips none endpoint "$B:51820" keepalive 1
has_c2_ep() { [ "$(peer_ep b wgb "$pc2")" != - ]; }
wait_for 15 "b learning c's second endpoint" has_c2_ep
EC2=$(peer_ep b wgb "$pc2")
T=$(token)
wr a probe start wga "$T" "$EC2" ms 2000
wr c probe start wgc2 "$T" "$A:51820" ms 2000
wait_for 10 "c's probe finishing" is_done c "$T"
wait_for 10 "a's probe finishing" is_done a "$T"
status c "$T" | grep -q ' seen=0 ' || fail "c saw a's probe through an EDM NAT: $(status c "$T")"
status c "$T" | grep -Eq ' sent=[1-9]' || fail "c sent nothing: $(status c "$T")"
# a does see c (its own port is public), but from another mapping.
from=$(status a "$T" | field from)
case $from in "$NAT":*) ;; *) fail "a did not see c's probe: $(status a "$T")" ;; esac
[ "$from" != "$EC2" ] || fail "EDM NAT mapped a and b alike ($from)"
pinging || fail "a-b tunnel broke"

say "without CAP_NET_RAW: err perm, the rest works"
start_wgrelay b braw setpriv --bounding-set=-net_raw
wr braw iface ensure wgn port 51830 >/dev/null
out=$(wr braw probe start wgn "$T" "$A:51820" 2>&1) && fail "probe without CAP_NET_RAW: $out"
case $out in "err perm "*CAP_NET_RAW*) ;; *) fail "not err perm: $out" ;; esac
wr braw probe status "$T" 2>&1 | grep -q '^err notfound ' || fail "a refused start left a probe"
wr braw iface show wgn | grep -q ' port=51830 ' || fail "wgrelay without CAP_NET_RAW broke"
pinging || fail "a-b tunnel broke"

say "SIGTERM with probes running and kept: a clean, prompt exit"
wr a probe start wga "$(token)" "$B:51820" ms 10000
kill -TERM "$WRA"
# (a probe's timers would keep it up for 10 + 30 s)
exited() { ! ps -o stat= -p "$WRA" | grep -qv Z; }
wait_for 5 "wgrelay exiting on SIGTERM" exited
wait "$WRA" || fail "wgrelay did not exit 0 on SIGTERM"
say "ok"

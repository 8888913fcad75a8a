#!/bin/sh
# wgrelay builds a real WireGuard tunnel (wireguard-go backend) between two
# namespaces joined by a veth: ping crosses it, peer add/del/list round-trip,
# 100 peers page through `peer list ... after` each once, bad input changes nothing, iface del removes link and daemon, and the
# route and rule verbs make and remove what a full-tunnel client needs.
. "$(dirname "$0")/lib.sh"
need ip ping wireguard-go unshare mount
[ -x "$BIN/wgrelay" ] || skip "wgrelay not built"

netns_add a
netns_add b
link a 192.0.2.1/24 b 192.0.2.2/24

# wireguard-go's UAPI sockets live in /var/run/wireguard, which namespaces
# share; each host gets its own there, in a mount namespace where its
# wgrelay server (and the wireguard-go it starts) runs.
mkdir -p /var/run/wireguard
start_wgrelay() { # NS
	bg "$1" unshare -m sh -c "mount -t tmpfs tmpfs /var/run/wireguard &&
		exec '$BIN/wgrelay' -d -l '$TMP/$1.sock'"
	wait_for 10 "wgrelay server in $1" test -S "$TMP/$1.sock"
}
wr() { n=$1; shift; "$BIN/wgrelay" -s "$TMP/$n.sock" "$@"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; } # key, reply on stdin
wg_go_in() { for p in $(ip netns pids "$(ns "$1")"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = wireguard-go ] && echo "$p"; done; true; }
no_counters() { sed 's/,[0-9]*,[0-9]*,[0-9]*\( \|$\)/\1/g'; }
pinging() { in_ns a ping -c 1 -W 1 10.99.0.2; }

say "two servers, one interface each"
start_wgrelay a
start_wgrelay b
pa=$(wr a iface ensure wg0 port 51820 | field pubkey)
pb=$(wr b iface ensure wg0 port 51820 | field pubkey)
[ -n "$pa" ] && [ -n "$pb" ] || fail "no public keys"
[ "$(wr a iface ensure wg0 | field pubkey)" = "$pa" ] || fail "ensure changed the key"
[ -n "$(wg_go_in a)" ] || fail "no wireguard-go in a"
wr a iface show wg0 | grep -q ' port=51820 ' || fail "iface show lacks the port"

say "tunnel: addresses, peers, ping"
wr a addr add wg0 10.99.0.1/24
wr a addr add wg0 10.99.0.1/24 # idempotent
wr b addr add wg0 10.99.0.2/24
wr a peer add wg0 "$pb" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51820
wr b peer add wg0 "$pa" allowed-ips 10.99.0.1/32 endpoint 192.0.2.1:51820 keepalive 25
wait_for 15 "ping across the tunnel" pinging
list=$(wr a peer list wg0)
echo "$list"
peer=$(echo "$list" | field peer)
echo "$list" | grep -q '^ok count=1 ' || fail "peer list count: $list"
IFS=, read -r key ep hs rx tx <<EOF
$peer
EOF
[ "$key" = "$pb" ] && [ "$ep" = 192.0.2.2:51820 ] || fail "peer list fields: $peer"
[ "$hs" -gt $(($(date +%s) - 60)) ] || fail "no recent handshake: $peer"
[ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] || fail "no traffic counted: $peer"

say "peer add twice is idempotent"
wr a peer add wg0 "$pb" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51820
wr a peer list wg0 | grep -q '^ok count=1 ' || fail "second add made a second peer"
pinging || fail "ping broke after the second add"

say "bad input: one err line each, nothing changed"
before=$(wr a peer list wg0 | no_counters)
show=$(wr a iface show wg0)
for req in "peer add wg0 $pb allowed-ips 10.99.0.0/33" \
	"peer add wg0 ${pb%?}A allowed-ips 10.99.0.2/32" \
	"peer add wg0 $pb allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:65536" \
	"peer add wg0 $pb allowed-ips 10.99.0.2/32 keepalive 70000" \
	"peer add wg0 $pb allowed-ips 10.99.0.2/32 endpoint host.invalid:1" \
	"peer del wg0 notakey" "iface ensure wg0 port 0" "iface ensure wg0 port 1 extra" \
	"iface ensure wg/0" "addr add wg0 10.99.0.1/99" "route add 10.98.0.1/16 dev wg0" \
	"rule add fwmark 0xzz table 51820" "frobnicate wg0"; do
	# shellcheck disable=SC2086
	if out=$(wr a $req 2>&1); then fail "accepted: $req"; fi
	case $out in "err "*) ;; *) fail "not an err line for '$req': $out" ;; esac
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "more than one line: $out"
done
[ "$(wr a peer list wg0 | no_counters)" = "$before" ] || fail "bad input changed the peers"
[ "$(wr a iface show wg0)" = "$show" ] || fail "bad input changed the interface"
pinging || fail "bad input broke the tunnel"

say "peer del removes it; absent is ok"
wr a peer del wg0 "$pb"
wr a peer del wg0 "$pb"
wr a peer list wg0 | grep -q '^ok count=0$' || fail "peer still listed"
if pinging; then fail "ping passes without the peer"; fi

say "100 peers: more than a reply line, paged in key order, each once"
: >"$TMP/added"
i=0
while [ $i -lt 100 ]; do
	k=$(head -c 32 /dev/urandom | base64)
	wr a peer add wg0 "$k" allowed-ips none endpoint "[2001:db8::$i]:$((40000 + i))" >/dev/null ||
		fail "peer add $i"
	echo "$k" >>"$TMP/added"
	i=$((i + 1))
done
: >"$TMP/listed"
req="peer list wg0" pages=0
while :; do
	# shellcheck disable=SC2086
	out=$(wr a $req) || fail "$req: $out"
	[ "$(printf '%s\n' "$out" | wc -c)" -le 4096 ] || fail "page over 4096 bytes"
	echo "$out" | grep -q '^ok count=100 ' || fail "page count: $out"
	echo "$out" | tr ' ' '\n' | sed -n 's/^peer=\([^,]*\),.*/\1/p' >>"$TMP/listed"
	pages=$((pages + 1))
	[ $pages -lt 50 ] || fail "paging does not end"
	echo "$out" | grep -q ' more=1 ' || break
	req="peer list wg0 after $(echo "$out" | field last)"
done
echo "$pages pages"
[ $pages -gt 1 ] || fail "100 peers in one page"
while read -r k; do echo "$k" | base64 -d | od -An -tx1 | tr -d ' \n'; echo; done \
	<"$TMP/listed" >"$TMP/listed.hex"
LC_ALL=C sort -c "$TMP/listed.hex" || fail "pages not in key order"
[ "$(sort "$TMP/added")" = "$(sort -u "$TMP/listed")" ] || fail "peers missing"
[ "$(wc -l <"$TMP/listed")" -eq 100 ] || fail "a peer listed twice"
while read -r k; do wr a peer del wg0 "$k" >/dev/null; done <"$TMP/added"
wr a peer list wg0 | grep -q '^ok count=0$' || fail "paging peers not removed"

say "routes and rules for a full tunnel (one-shot and stdin modes too)"
wr a iface ensure wg0 fwmark 51820 | grep -q ' fwmark=51820 ' || fail "fwmark not set"
wr a route add 0.0.0.0/0 dev wg0 table 51820
wr a route add 0.0.0.0/0 dev wg0 table 51820
wr a route add 10.98.0.0/16 dev wg0
ip -n "$(ns a)" route show table 51820 | grep -q '^default dev wg0' || fail "no default route"
ip -n "$(ns a)" route show | grep -q '^10.98.0.0/16 dev wg0' || fail "no main route"
for i in 1 2; do
	in_ns a "$BIN/wgrelay" rule add not fwmark 51820 table 51820
	in_ns a "$BIN/wgrelay" rule add table main suppress-prefixlength 0
	printf 'rule add to 192.0.2.2/32 table main priority 100\n' | in_ns a "$BIN/wgrelay" >/dev/null
done
rules=$(ip -n "$(ns a)" rule show)
echo "$rules"
[ "$(echo "$rules" | grep -c 'not from all fwmark 0xca6c lookup 51820')" -eq 1 ] ||
	fail "fwmark rule missing or doubled"
[ "$(echo "$rules" | grep -c 'lookup main suppress_prefixlength 0')" -eq 1 ] ||
	fail "suppress rule missing or doubled"
echo "$rules" | grep -q '^100:.*to 192.0.2.2 lookup main' || fail "supernode rule missing"
wr a rule del not fwmark 51820 table 51820
wr a rule del table main suppress-prefixlength 0
wr a rule del to 192.0.2.2/32 table main
wr a rule del to 192.0.2.2/32 table main # absent is ok
wr a route del 0.0.0.0/0 dev wg0 table 51820
wr a route del 0.0.0.0/0 dev wg0 table 51820
wr a route del 10.98.0.0/16 dev wg0
wr a addr del wg0 10.99.0.1/24
rules=$(ip -n "$(ns a)" rule show)
[ "$rules" = "$(ip -n "$(ns b)" rule show)" ] || fail "rules left behind: $rules"
[ -z "$(ip -n "$(ns a)" route show table 51820)" ] || fail "route left in table 51820"
ip -n "$(ns a)" route show | grep -q 10.98.0.0 && fail "main route left"
ip -n "$(ns a)" addr show dev wg0 | grep -q 10.99.0.1 && fail "address left"

say "iface del removes the link and wireguard-go"
wr a iface del wg0
wr a iface del wg0
ip -n "$(ns a)" link show wg0 2>/dev/null && fail "wg0 still there"
[ -z "$(wg_go_in a)" ] || fail "wireguard-go still running in a"
wr a iface show wg0 2>&1 | grep -q '^err notfound ' || fail "iface show after del"
[ -n "$(wg_go_in b)" ] || fail "b's wireguard-go went too"
if wr a iface del v-b 2>/dev/null; then fail "iface del took a veth"; fi
ip -n "$(ns a)" link show v-b >/dev/null || fail "veth gone"
say "pass"

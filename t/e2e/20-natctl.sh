# natctl owns "table ip supermesh" on an exit: verbs show up in the live
# ruleset, repeat safely, refuse bad input without changing anything, work
# from argv, stdin and a socket, and really masquerade and block traffic:
#   client 10.200.0.2 --- 10.200.0.1 exit 198.51.100.1 --- 198.51.100.2 inet
# inet has no route back to 10.200.0.0/24, so only masqueraded traffic returns.
. "$(dirname "$0")/lib.sh"

need nft jq python3 tcpdump ping
NATCTL=$BIN/natctl
[ -x "$NATCTL" ] || skip "natctl not built in $O"

netns_add client
netns_add exit
netns_add inet
link client 10.200.0.2/24 exit 10.200.0.1/24
link exit 198.51.100.1/24 inet 198.51.100.2/24   # exit's uplink is v-inet
ip -n "$(ns client)" route add default via 10.200.0.1
printf '# natctl test config\nuplink = v-inet\n' >"$TMP/natctl.conf"
host_forward=$(cat /proc/sys/net/ipv4/ip_forward)

# nat ARGS...: natctl in the exit namespace; sets $out (stdout+stderr), $rc.
nat() {
	set +e
	out=$(in_ns exit "$NATCTL" -c "$TMP/natctl.conf" "$@" 2>&1)
	rc=$?
	set -e
}
ok() { nat "$@"; [ "$rc" -eq 0 ] && [ "$out" = ok ] || fail "natctl $*: rc=$rc out=$out"; }
# expect_list LINE: `list` replies exactly LINE.
expect_list() { nat list; [ "$rc" -eq 0 ] && [ "$out" = "$1" ] || fail "list: got '$out' want '$1'"; }
table_json() { in_ns exit nft -j list table ip supermesh; }
has_table() { in_ns exit nft list table ip supermesh >/dev/null 2>&1; }
# elems SET: the set's elements read back from the kernel, as a JSON list.
elems() { table_json | jq -c --arg s "$1" '[.nftables[] | .set? // empty | select(.name == $s) | .elem // [] | .[]] | sort'; }
# rules CHAIN: the chain's rules, compact JSON, one per line.
rules() { table_json | jq -c --arg c "$1" '.nftables[] | .rule? // empty | select(.chain == $c) | .expr'; }
expect_elems() { got=$(elems "$1"); [ "$got" = "$2" ] || fail "set $1: got $got want $2"; }

say "list of an absent table is empty and creates nothing"
expect_list "ok masq= blocked= forward=off uplink=v-inet"
! has_table || fail "list created the table"

say "add puts one element in @masq and one masquerade rule out the uplink"
ok add 10.200.0.2
expect_elems masq '["10.200.0.2"]'
[ "$(rules postrouting | wc -l)" -eq 1 ] || fail "postrouting should hold one rule"
rules postrouting | grep -q '"oifname"}},"right":"v-inet"' || fail "rule does not name v-inet"
rules postrouting | grep -q '"masquerade"' || fail "no masquerade in the rule"
[ "$(rules forward | wc -l)" -eq 2 ] || fail "forward should hold the tcp and udp rules"

say "add twice is one element, del of an absent address is ok, rules not doubled"
ok add 10.200.0.2
ok add 10.200.0.5
expect_elems masq '["10.200.0.2","10.200.0.5"]'
ok del 10.200.0.5
ok del 10.200.0.5
ok del 10.200.0.99
expect_elems masq '["10.200.0.2"]'
[ "$(rules postrouting | wc -l)" -eq 1 ] && [ "$(rules forward | wc -l)" -eq 2 ] ||
	fail "repeated verbs changed the number of rules"

say "block/unblock put a port in @block, matched for tcp and udp"
ok block 5201
ok block 5201
ok block 53
expect_elems block '[53,5201]'
rules forward | grep -q '"protocol":"tcp","field":"dport"}},"right":"@block"' || fail "no tcp block rule"
rules forward | grep -q '"protocol":"udp","field":"dport"}},"right":"@block"' || fail "no udp block rule"
ok unblock 53
ok unblock 53
expect_elems block '[5201]'
expect_list "ok masq=10.200.0.2 blocked=5201 forward=off uplink=v-inet"

say "bad input: one err line, exit 1 (inval) or 100 (usage), ruleset unchanged"
before=$(in_ns exit nft -j list ruleset)
while IFS='|' read -r want args; do
	# shellcheck disable=SC2086 # words are split on purpose
	nat $args
	[ "$rc" -eq "$want" ] || fail "'$args': exit $rc, want $want ($out)"
	case $out in err\ *) ;; *) fail "'$args': not an err reply: $out" ;; esac
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "'$args': more than one line"
done <<'EOF'
1|add 10.0.0.256
1|add 1.2.3
1|add 10.0.0.1x
1|del 10.200.0.2.1
1|block 0
1|block 65536
1|block abc
1|unblock -1
1|forward maybe
100|bogus
100|add
100|add 10.200.0.3 10.200.0.4
100|list extra
100|flush now
EOF
long=$(python3 -c 'print("add " + "1" * 5000)')
set +e
out=$(printf '%s\nadd 10.200.0.256\n' "$long" | in_ns exit "$NATCTL" -c "$TMP/natctl.conf")
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "overlong line: exit $rc"
[ "$(printf '%s\n' "$out" | sed -n 1p)" = "err toolong line over 4096 bytes" ] || fail "overlong: $out"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] || fail "overlong line: want 2 replies: $out"
[ "$(in_ns exit nft -j list ruleset)" = "$before" ] || fail "bad input changed the ruleset"
[ "$(in_ns exit cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || fail "bad input changed ip_forward"

say "stdin: one reply per request line, exit 1 when any failed"
set +e
out=$(printf 'add 10.200.0.3\nadd 10.200.0.4\n\nlist\nbogus\ndel 10.200.0.4\n' |
	in_ns exit "$NATCTL" -c "$TMP/natctl.conf")
rc=$?
set -e
want=$(printf 'ok\nok\nok masq=10.200.0.2,10.200.0.3,10.200.0.4 blocked=5201 forward=off uplink=v-inet\nerr usage unknown verb '"'bogus'"'\nok')
[ "$out" = "$want" ] || fail "stdin replies: $out"
[ "$rc" -eq 1 ] || fail "stdin with an err: exit $rc"
expect_elems masq '["10.200.0.2","10.200.0.3"]'

say "forward on|off flips ip_forward in the exit namespace only"
ok forward on
[ "$(in_ns exit cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "forward on did not set ip_forward"
expect_list "ok masq=10.200.0.2,10.200.0.3 blocked=5201 forward=on uplink=v-inet"
ok forward off
[ "$(in_ns exit cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || fail "forward off did not clear ip_forward"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_forward" ] || fail "host ip_forward changed"

say "masquerade: the client reaches inet only after add, seen as the exit's uplink"
ok del 10.200.0.2
ok forward on
ping_inet() { in_ns client ping -n -q -c1 -W1 198.51.100.2 >/dev/null 2>&1; }
! ping_inet || fail "ping passed without masquerade"
ok add 10.200.0.2
bg inet tcpdump -l -n -i v-exit -c 1 'icmp[icmptype] == icmp-echo'
dump_pid=$LAST_PID
wait_for 10 "tcpdump to listen" grep -q 'listening on' "$TMP/inet.log"
wait_for 10 "a masqueraded ping" ping_inet
wait "$dump_pid" || fail "tcpdump failed: $(cat "$TMP/inet.log")"
grep -q '198.51.100.1 > 198.51.100.2: ICMP echo request' "$TMP/inet.log" ||
	fail "inet did not see the exit's address: $(cat "$TMP/inet.log")"
ok forward off
! ping_inet || fail "ping passed with forwarding off"
ok forward on

say "block: a TCP connect to a blocked port fails, and works after unblock"
bg inet python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 5202))
s.listen(16)
while True:
    s.accept()[0].close()
'
tcp_ok() { in_ns client python3 -c 'import socket; socket.create_connection(("198.51.100.2", 5202), timeout=1).close()' 2>/dev/null; }
wait_for 10 "a connect to the listener" tcp_ok
ok block 5202
! tcp_ok || fail "connect passed to a blocked port"
ok unblock 5202
wait_for 5 "a connect after unblock" tcp_ok

say "socket mode: -l serves the same verbs, -s is its client, TERM removes it"
sock=$TMP/natctl.sock
bg exit "$NATCTL" -d -c "$TMP/natctl.conf" -l "$sock"
srv=$LAST_PID
wait_for 10 "the socket" test -S "$sock"
[ "$(stat -c %a "$sock")" = 660 ] || fail "socket mode $(stat -c %a "$sock")"
ok -s "$sock" add 10.200.0.9
ok -s "$sock" add 10.200.0.9
expect_elems masq '["10.200.0.2","10.200.0.3","10.200.0.9"]'
nat -s "$sock" list
[ "$out" = "ok masq=10.200.0.2,10.200.0.3,10.200.0.9 blocked=5201 forward=on uplink=v-inet" ] ||
	fail "list over the socket: $out"
nat -s "$sock" add 10.0.0.256
[ "$rc" -eq 1 ] && [ "$out" = "err inval bad IPv4 address '10.0.0.256'" ] || fail "socket bad ip: $rc $out"
nat -s "$sock" bogus
[ "$rc" -eq 100 ] || fail "socket unknown verb: exit $rc ($out)"
ok -s "$sock" del 10.200.0.9
kill -TERM "$srv"
set +e
wait "$srv"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "server exit $rc after TERM"
[ ! -e "$sock" ] || fail "socket left behind"
nat -s "$sock" list
[ "$rc" -eq 111 ] || fail "client without a server: exit $rc, want 111"

say "flush removes the whole table, twice is ok"
ok flush
! has_table || fail "table still there after flush"
ok flush
expect_list "ok masq= blocked= forward=on uplink=v-inet"

say "a batch the kernel refuses half way leaves nothing behind"
# A foreign set of the wrong type makes the kernel refuse the 4th message
# of add's batch; the table's chains (messages 2 and 3) must not appear.
in_ns exit nft add table ip supermesh
in_ns exit nft add set ip supermesh masq '{ type ether_addr; }'
before=$(in_ns exit nft list ruleset)
nat add 10.200.0.2
[ "$rc" -eq 1 ] && [ "$out" = "err system add: File exists" ] || fail "conflicting set: $rc $out"
[ "$(in_ns exit nft list ruleset)" = "$before" ] || fail "a refused batch was half applied"
ok flush
! has_table || fail "flush left the foreign table"

say "flags and config errors exit 100"
nat -x; [ "$rc" -eq 100 ] || fail "-x: exit $rc"
set +e
in_ns exit "$NATCTL" -c "$TMP/absent.conf" list >/dev/null 2>&1; rc=$?
in_ns exit "$NATCTL" -n -o uplink=bad/name >/dev/null 2>&1; rc2=$?
set -e
[ "$rc" -eq 100 ] || fail "missing -c file: exit $rc"
[ "$rc2" -eq 100 ] || fail "bad uplink: exit $rc2"
nat -n -v
[ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q '^uplink = v-inet' || fail "-n -v: $out"

say "ok"

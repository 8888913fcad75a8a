#!/bin/sh
# The helpers run the way their systemd units start them: the unit's own
# ExecStart line, as an unprivileged user whose only capabilities are the
# unit's ambient ones (CAP_NET_ADMIN; wgrelay also CAP_NET_RAW, for probes),
# with no_new_privs. A caller of the same group (as the daemons are) gets
# its verbs done, WireGuard interface, probes and nftables included; another
# user is refused; SIGTERM stops each cleanly.
. "$(dirname "$0")/lib.sh"
need ip setpriv unshare mount mknod wireguard-go
for p in wgrelay natctl; do [ -x "$BIN/$p" ] || skip "$p not built"; done

# An unused uid/gid stands for the supermesh user.
U=$((60000 + $$ % 5000))
while getent passwd "$U" >/dev/null || getent group "$U" >/dev/null; do U=$((U + 1)); done
chmod 0711 "$TMP"
RUN=$TMP/run # stands for /run/supermesh (RuntimeDirectory, mode 0755)
mkdir -m 0755 "$RUN"
chown "$U:$U" "$RUN"
mkdir -p /run/wireguard
as_daemon() { setpriv --reuid "$U" --regid "$U" --clear-groups --bounding-set=-all \
	--inh-caps=-all --no-new-privs "$@"; }
as_other() { setpriv --reuid "$((U + 1))" --regid "$((U + 1))" --clear-groups \
	--bounding-set=-all --inh-caps=-all --no-new-privs "$@"; }

# unit_cmd PROG: the unit's ExecStart as a shell command for this tree.
unit_cmd() {
	u=$TOP/contrib/systemd/$1.service
	grep -q '^User=supermesh$' "$u" || fail "$1.service: not User=supermesh"
	grep -q '^NoNewPrivileges=yes$' "$u" || fail "$1.service: NoNewPrivileges"
	sed -n 's/^ExecStart=//p' "$u" | sed -e 's/\$\$/$/g' -e "s|/usr/sbin/|$BIN/|g" \
		-e "s|/run/supermesh/|$RUN/|g"
}
# unit_caps PROG KEY: "+net_admin" style list from AmbientCapabilities= etc.
unit_caps() {
	sed -n "s/^$2=//p" "$TOP/contrib/systemd/$1.service" |
		tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\1/p' | tr 'A-Z\n' 'a-z,' | sed 's/,$//'
}
# start_unit NS PROG CAPS: the ExecStart, in its own mount namespace where
# /run/wireguard belongs to the user (the unit's RuntimeDirectory) and
# /dev/net/tun is 0666 as udev makes it on a normal host.
start_unit() {
	cmd=$(unit_cmd "$2")
	amb=$(unit_caps "$2" AmbientCapabilities) bnd=$(unit_caps "$2" CapabilityBoundingSet)
	[ "$amb" = "$3" ] && [ "$bnd" = "$3" ] ||
		fail "$2.service: capabilities are '$amb' / '$bnd', not '$3'"
	bg "$1" unshare -m sh -c "mount --make-rprivate / &&
		mount -t tmpfs -o mode=0755,uid=$U,gid=$U tmpfs /run/wireguard &&
		mkdir -p '$TMP/dev' && mount -t tmpfs tmpfs '$TMP/dev' &&
		mknod -m 0666 '$TMP/dev/tun' c 10 200 && mount --bind '$TMP/dev/tun' /dev/net/tun &&
		exec setpriv --reuid $U --regid $U --clear-groups --inh-caps=-all,$amb \
			--ambient-caps=-all,$amb --bounding-set=-all,$bnd --no-new-privs $cmd"
	wait_for 10 "$2 socket" test -S "$RUN/$2.sock"
}

netns_add h
[ -e /dev/net/tun ] || skip "no /dev/net/tun"

say "wgrelay as its unit runs it"
start_unit h wgrelay +net_admin,+net_raw
WG=$LAST_PID
[ "$(stat -c '%a %u %g' "$RUN/wgrelay.sock")" = "660 $U $U" ] || fail "wgrelay.sock mode/owner"
wr() { as_daemon "$BIN/wgrelay" -s "$RUN/wgrelay.sock" "$@"; }
out=$(wr iface ensure smu0 port 51999) || fail "iface ensure: $out"
case $out in *backend=userspace*|*backend=kernel*) ;; *) fail "iface ensure: $out" ;; esac
wr addr add smu0 10.251.0.1/24 >/dev/null || fail "addr add"
ip -n "$(ns h)" -br addr show smu0 | grep -q 10.251.0.1/24 || fail "no address on smu0"
wr relay add r1 | grep -q '^ok id=r1 ' || fail "relay add"
# A probe from smu0's port takes raw sockets: the unit's CAP_NET_RAW.
T=0123456789abcdef0123456789abcdef
out=$(wr probe start smu0 $T 127.0.0.1:9 ms 100) || fail "probe start: $out"
probe_sent() { wr probe status $T | grep -Eq '^ok state=done seen=0 sent=[1-9]'; }
wait_for 10 "the probe sent and done" probe_sent
as_other "$BIN/wgrelay" -s "$RUN/wgrelay.sock" relay list >/dev/null 2>&1 &&
	fail "another user was served by wgrelay"
wr iface del smu0 >/dev/null || fail "iface del"
kill -TERM "$WG"
wait "$WG" || fail "wgrelay did not exit 0 on SIGTERM"
[ ! -e "$RUN/wgrelay.sock" ] || fail "wgrelay left its socket"

say "natctl as its unit runs it"
start_unit h natctl +net_admin
NC=$LAST_PID
nc() { as_daemon "$BIN/natctl" -s "$RUN/natctl.sock" "$@"; }
# The unit gives natctl no uplink of its own (that is /etc/supermesh's job),
# so on a host without that file add must be refused, the rest must work.
if [ ! -e /etc/supermesh/natctl.conf ]; then
	nc add 10.200.0.5 2>&1 | grep -q '^err ' || fail "add without uplink was not refused"
fi
nc forward on >/dev/null || fail "forward on (sysctl write with CAP_NET_ADMIN)"
[ "$(ip netns exec "$(ns h)" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward not 1"
nc block 25 >/dev/null || fail "block 25 (nftables with CAP_NET_ADMIN)"
nc list | grep -q 'blocked=25 forward=on' || fail "list: $(nc list 2>&1)"
as_other "$BIN/natctl" -s "$RUN/natctl.sock" list >/dev/null 2>&1 &&
	fail "another user was served by natctl"
kill -TERM "$NC"
wait "$NC" || fail "natctl did not exit 0 on SIGTERM"
[ ! -e "$RUN/natctl.sock" ] || fail "natctl left its socket"
say "ok"

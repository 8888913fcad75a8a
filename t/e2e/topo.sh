# The whole system in namespaces, for the 4x scenarios and `make demo`:
# sourced after t/e2e/lib.sh, it builds the hosts and starts the daemons.
#
#   base 198.51.100.2 ─┐                       ┌─ 198.51.100.26 exit1 (region b, public)
#   sna  198.51.100.10 ┤                       ├─ 198.51.100.34 nat1 ── 10.0.2.2 exit2
#   snb  198.51.100.18 ┼── inet (router) ──────┘        (masquerade, outbound only; region b)
#   cli  192.0.2.2 ────┘   target 203.0.113.10 (ping, HTTP :8080 answers the caller's address)
#
# sna serves region a, snb region b; cli (region a) asks sna for an exit in b.
# Every daemon runs with -d from its own config file in $TMP/<host>.conf,
# with every path and port set; helpers (wgrelay -l, natctl -l) listen on
# $TMP/<host>.wg.sock and $TMP/<host>.nat.sock. Short timers keep tests fast.

TARGET=203.0.113.10
SNA_IP=198.51.100.10 SNB_IP=198.51.100.18 BASE_IP=198.51.100.2
EXIT1_IP=198.51.100.26 NAT1_IP=198.51.100.34 CLI_IP=192.0.2.2
HB=${HB:-1} DEAD=${DEAD:-4}
MARK_TEXT=sm-plain-mark!
MARK=736d2d706c61696e2d6d61726b21 # MARK_TEXT in hex, for ping -p

# On failure, show what every host logged last (lib.sh's fail, plus logs).
fail() {
	echo "FAIL: $*" >&2
	for _f in "$TMP"/*.log; do
		echo "--- $(basename "$_f")" >&2
		grep -v 'event=ping\|event=pong' "$_f" | tail -n "${FAIL_LINES:-12}" >&2
	done
	exit 1
}

# topo_exit: on any exit, stop every process with SIGTERM first and give it
# time to finish, so that a sanitizer build (make SANITIZE=1) writes its
# reports; a report in any log fails the scenario. Then lib.sh's cleanup.
topo_exit() {
	_rc=$?
	set +e
	for _p in $_PIDS; do kill "$_p" 2>/dev/null; done
	for _p in $_PIDS; do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
	done
	if grep -l 'ERROR: [A-Za-z]*Sanitizer\|runtime error: ' "$TMP"/*.log >/dev/null 2>&1; then
		echo "FAIL: sanitizer report in the logs:" >&2
		grep -h -A 12 'ERROR: [A-Za-z]*Sanitizer\|runtime error: ' "$TMP"/*.log | head -n 60 >&2
		_rc=1
	fi
	cleanup
	exit "$_rc"
}
trap topo_exit EXIT

# field KEY: the value of KEY=value in a reply line on stdin.
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
now_ms() { date +%s%3N; }

# topo_net: namespaces, links, routes, the NAT router and the target host.
topo_net() {
	for _h in inet base sna snb exit1 nat1 exit2 cli; do netns_add "$_h"; done
	link inet 198.51.100.1/29 base "$BASE_IP/29"
	link inet 198.51.100.9/29 sna "$SNA_IP/29"
	link inet 198.51.100.17/29 snb "$SNB_IP/29"
	link inet 198.51.100.25/29 exit1 "$EXIT1_IP/29"
	link inet 198.51.100.33/29 nat1 "$NAT1_IP/29"
	link inet 192.0.2.1/29 cli "$CLI_IP/29"
	link nat1 10.0.2.1/24 exit2 10.0.2.2/24
	for hg in base:198.51.100.1 sna:198.51.100.9 snb:198.51.100.17 \
		exit1:198.51.100.25 nat1:198.51.100.33 cli:192.0.2.1; do
		ip -n "$(ns "${hg%%:*}")" route add default via "${hg#*:}"
	done
	ip -n "$(ns exit2)" route add default via 10.0.2.1
	in_ns inet sysctl -qw net.ipv4.ip_forward=1
	in_ns nat1 sysctl -qw net.ipv4.ip_forward=1
	ip -n "$(ns inet)" addr add "$TARGET/32" dev lo
	# nat1: masquerade out, nothing new comes in.
	in_ns nat1 nft -f - <<-'EOF'
	table ip nat1 {
		chain out { type nat hook postrouting priority 100; oifname "v-inet" masquerade; }
		chain through { type filter hook forward priority 0; policy drop;
			ct state established,related accept; iifname "v-exit2" accept; }
	}
	EOF
	cat >"$TMP/whoami.py" <<-'EOF'
	# The target host: answers every GET with the address it saw.
	import http.server, sys
	class H(http.server.BaseHTTPRequestHandler):
	    def do_GET(self):
	        body = ("you-are " + self.client_address[0] + "\n").encode()
	        self.send_response(200)
	        self.send_header("Content-Length", str(len(body)))
	        self.end_headers()
	        self.wfile.write(body)
	    def log_message(self, fmt, *args):
	        sys.stderr.write("target: http from %s\n" % self.client_address[0])
	http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
	EOF
	bg inet python3 "$TMP/whoami.py" "$TARGET"
	wait_for 10 "the target's HTTP server" in_ns inet python3 -c \
		"import socket; socket.create_connection(('$TARGET', 8080), 1).close()"
}

# topo_check_net: every host reaches the target; nobody reaches exit2.
topo_check_net() {
	for _h in base sna snb exit1 nat1 cli; do
		in_ns "$_h" ping -c1 -W1 "$TARGET" >/dev/null || fail "$_h cannot reach the target"
	done
	in_ns exit2 ping -c1 -W1 "$TARGET" >/dev/null || fail "exit2 cannot get out through nat1"
	! in_ns cli ping -c1 -W1 10.0.2.2 >/dev/null 2>&1 || fail "cli reaches exit2 behind NAT"
}

# start_wgrelay HOST: a wgrelay server in HOST with its own /var/run/wireguard.
start_wgrelay() {
	mkdir -p /var/run/wireguard
	rm -f "$TMP/$1.wg.sock"
	bg "$1" unshare -m sh -c "mount -t tmpfs tmpfs /var/run/wireguard &&
		exec '$BIN/wgrelay' -d -c /dev/null -l '$TMP/$1.wg.sock'"
	eval "WGRELAY_PID_$1=$LAST_PID"
	wait_for 10 "wgrelay in $1" test -S "$TMP/$1.wg.sock"
}
# start_natctl HOST UPLINK
start_natctl() {
	printf 'uplink = %s\n' "$2" >"$TMP/$1.natctl.conf"
	rm -f "$TMP/$1.nat.sock"
	bg "$1" "$BIN/natctl" -d -c "$TMP/$1.natctl.conf" -l "$TMP/$1.nat.sock"
	wait_for 10 "natctl in $1" test -S "$TMP/$1.nat.sock"
}
wr() { h=$1; shift; "$BIN/wgrelay" -c /dev/null -s "$TMP/$h.wg.sock" "$@"; }
nat() { h=$1; shift; "$BIN/natctl" -c /dev/null -s "$TMP/$h.nat.sock" "$@"; }

# Every daemon's common keys: paths under $TMP/<host>, short timers.
common_conf() { # HOST PROG
	cat <<-EOF
	# $2 in $1, written by t/e2e/topo.sh
	key_file = $TMP/$1/identity.key
	state_dir = $TMP/$1
	admin_socket = $TMP/$1.adm.sock
	heartbeat_s = $HB
	dead_after_s = $DEAD
	log_level = info
	EOF
}

# topo_conf: every config file; keys made with -k and pinned.
topo_conf() {
	common_conf base basenoded >"$TMP/base.conf"
	echo "listen = $BASE_IP:7000" >>"$TMP/base.conf"
	BASE_KEY=$(in_ns base "$BIN/basenoded" -c "$TMP/base.conf" -k)
	for s in a b; do
		ip=$(eval echo "\$SN$(echo $s | tr ab AB)_IP")
		{
			common_conf "sn$s" supernoded
			cat <<-EOF
			listen = $ip:7100
			region = $s
			public_address = $ip:7100
			relay_host = $ip
			basenoded = $BASE_IP:7000
			basenoded_keys = $BASE_KEY
			wgrelay_socket = $TMP/sn$s.wg.sock
			keepalive_s = 1
			EOF
		} >"$TMP/sn$s.conf"
	done
	[ -z "${SNA_EXTRA:-}" ] || printf '%s\n' "$SNA_EXTRA" >>"$TMP/sna.conf"
	SNA_KEY=$(in_ns sna "$BIN/supernoded" -c "$TMP/sna.conf" -k)
	SNB_KEY=$(in_ns snb "$BIN/supernoded" -c "$TMP/snb.conf" -k)
	exits_conf "$SNB_IP" "$SNB_KEY"
	client_conf "$SNA_IP" "$SNA_KEY" a >"$TMP/cli.conf"
}

# exits_conf SN_IP SN_KEY: exit1 (public) and exit2 (pool only) of region b
# on that supernode, into $TMP/exit1.conf and $TMP/exit2.conf.
exits_conf() {
	for e in exit1 exit2; do
		{
			common_conf "$e" exitpeerd
			cat <<-EOF
			supernode = $1:7100
			supernode_key = $2
			region = b
			wgrelay_socket = $TMP/$e.wg.sock
			natctl_socket = $TMP/$e.nat.sock
			wg_iface = smexit0
			wg_port = 51820
			keepalive_s = 1
			EOF
		} >"$TMP/$e.conf"
	done
	printf 'pool = 10.200.1.0/24\npublic_endpoint = %s:51820\n' "$EXIT1_IP" >>"$TMP/exit1.conf"
	printf 'pool = 10.200.2.0/24\n' >>"$TMP/exit2.conf"
}

# client_conf SN_IP SN_KEY REGION: cli's config on stdout (callers append).
client_conf() {
	common_conf cli clientd
	cat <<-EOF
	supernode = $1:7100
	supernode_key = $2
	region = $3
	wgrelay_socket = $TMP/cli.wg.sock
	api_socket = $TMP/cli.api.sock
	wg_iface = smc0
	full_tunnel = yes
	exit_timeout_s = 10
	EOF
}

# start_daemon HOST PROG: the daemon from its config; waits for its admin socket.
start_daemon() {
	rm -f "$TMP/$1.adm.sock"
	bg "$1" "$BIN/$2" -d -c "$TMP/$1.conf"
	eval "PID_$1=$LAST_PID"
	wait_for 10 "$2 in $1" test -S "$TMP/$1.adm.sock"
}
start_base() { start_daemon base basenoded; }
start_sn() { start_wgrelay "sn$1"; start_daemon "sn$1" supernoded; }
start_exit() { # exit1|exit2
	start_wgrelay "$1"
	if [ "$1" = exit1 ]; then start_natctl "$1" v-inet; else start_natctl "$1" v-nat1; fi
	start_daemon "$1" exitpeerd
}
start_cli() { start_wgrelay cli; start_daemon cli clientd; }
pid_of() { eval echo "\$PID_$1"; }

# adm HOST VERB...: one admin request to HOST's daemon.
adm() {
	h=$1; shift
	case $h in
	base) p=basenoded ;; sna | snb) p=supernoded ;; exit*) p=exitpeerd ;; *) p=clientd ;;
	esac
	"$BIN/$p" -c /dev/null -s "$TMP/$h.adm.sock" "$@"
}
cli_status() { adm cli status 2>/dev/null; }
cli_field() { cli_status | field "$1"; }
cli_is() { [ "$(cli_field state)" = "$1" ]; }
exit_count() { adm "sn$1" status 2>/dev/null | grep -q " exits=$2 "; }
registered() { adm base list 2>/dev/null | grep -q "count=$1"; }

# topo_up [EXITS...]: network, configs, and daemons; waits until basenoded
# lists both supernodes and snb holds the exits' streams.
topo_up() {
	topo_net
	topo_conf
	start_base
	start_sn a
	start_sn b
	wait_for 15 "both supernodes registered with basenoded" registered 2
	_ne=0
	for _e in "$@"; do start_exit "$_e"; _ne=$((_ne + 1)); done
	wait_for 15 "$_ne exit(s) on snb" exit_count b "$_ne"
	start_cli
}

# ping_target: one ping from the client to the target through whatever route.
ping_target() { in_ns cli ping -n -c1 -W1 "$TARGET" >/dev/null 2>&1; }
# whoami: the source address the target saw for an HTTP GET from the client.
whoami() {
	in_ns cli curl -s -m 3 "http://$TARGET:8080/" | sed -n 's/^you-are //p'
}
# cli_connect REGION: connect and wait for the tunnel.
cli_connect() {
	adm cli connect "$1" >/dev/null
	wait_for 30 "the client connected" cli_is connected
	wait_for 15 "a ping through the tunnel" ping_target
}

# pinger_start: a ping every 0.1 s from the client to the target, with
# timestamps, into $TMP/ping.out; pinger_stop ends it and sets LOST and SENT.
pinger_start() {
	# Not through a shell function: $! must be ping itself, which catches
	# SIGINT (a background subshell would ignore it). -w caps a stray one.
	ip netns exec "$(ns cli)" ping -n -D -O -i 0.1 -W 1 -w 90 "$TARGET" \
		>"$TMP/ping.out" 2>&1 &
	PINGER=$!
	track_pid "$PINGER"
	wait_for 10 "the pinger's first reply" grep -q 'bytes from' "$TMP/ping.out"
}
pinger_stop() {
	kill -INT "$PINGER"
	wait "$PINGER" || true
	SENT=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping.out")
	RECV=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.out")
	LOST=$((SENT - RECV))
	# The ping sent just before SIGINT may still be on its way: not lost.
	_last=$(sed -n 's/.*bytes from.*icmp_seq=\([0-9]*\) .*/\1/p' "$TMP/ping.out" | tail -n 1)
	if [ "$LOST" -gt 0 ] && [ -n "$_last" ] && [ "$_last" -eq $((SENT - 1)) ]; then
		LOST=$((LOST - 1))
	fi
}
# first_reply_after MS: ms timestamp of the first ping reply after MS.
first_reply_after() {
	awk -v t="$1" -F'[][]' '/bytes from/ { ms = $2 * 1000
		if (ms > t) { printf "%.0f\n", ms; exit } }' "$TMP/ping.out"
}
# longest_gap: the longest time in ms between two consecutive ping replies.
longest_gap() {
	awk -F'[][]' '/bytes from/ { ms = $2 * 1000; if (p && ms - p > g) g = ms - p; p = ms }
		END { printf "%.0f\n", g }' "$TMP/ping.out"
}
reply_after() { [ -n "$(first_reply_after "$1")" ]; }
# kill_host HOST: kill -9 every process of a host at once (daemon, helpers,
# wireguard-go): the machine is gone.
# shellcheck disable=SC2046 # one word per pid
kill_host() { kill -9 $(ip netns pids "$(ns "$1")") 2>/dev/null || true; }
exit_is_not() { st=$(cli_status); [ "$(echo "$st" | field state)" = connected ] &&
	[ "$(echo "$st" | field exit)" != "$1" ]; }

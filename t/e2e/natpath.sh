# The 8x path-choice scenarios' topology: sourced after lib.sh and topo.sh
# (whose helpers start the daemons), one supernode serving region b, so
# client and exit meet on it and it can punch between them:
#
#   snb  198.51.100.18 (reflectors :51900 :51901) ─┐
#   exit1 198.51.100.26 (public) ──────────────────┼── inet (router)
#   nat1 198.51.100.34 ── 10.0.2.2 exit2           │   target 203.0.113.10
#   nat2 198.51.100.42 ── 10.0.3.2 cli ────────────┘
#
# NAT1_MODE / NAT2_MODE: eim (masquerade) or edm (masquerade random); both
# let nothing new in (established, related only), like a home router, to
# the inside or to themselves. (A router that accepted a stray packet to
# itself would keep a conntrack entry for it, and that entry would make its
# masquerade pick another port for the inside's answer: no punch then.)
# CLI_PUBLIC=1 puts cli straight on inet at 192.0.2.2 instead.
# NATPATH_CROSS=1 adds basenoded (base 198.51.100.2) and a second supernode
# sna 198.51.100.10 serving region a, reflectors on too; cli connects to
# sna (region a) and asks for region b: a cross-region session, the client
# seen by sna's reflectors, the exits by snb's.

NAT2_IP=198.51.100.42 CLI_NAT_IP=10.0.3.2
NAT1_MODE=${NAT1_MODE:-eim} NAT2_MODE=${NAT2_MODE:-eim}
REFL_PORT=51900
NATPATH_CROSS=${NATPATH_CROSS:-0}

# nat_router HOST INSIDE_HOST MODE: masquerade out of v-inet, drop new inbound.
nat_router() {
	_m=masquerade
	[ "$3" = edm ] && _m="masquerade random"
	in_ns "$1" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$1" nft -f - <<-EOF
	table ip $1 {
		chain out { type nat hook postrouting priority 100; oifname "v-inet" $_m; }
		chain through { type filter hook forward priority 0; policy drop;
			ct state established,related accept; iifname "v-$2" accept; }
		chain in { type filter hook input priority 0; policy drop;
			ct state established,related accept; iifname { "lo", "v-$2" } accept; }
	}
	EOF
}

natpath_net() {
	for _h in inet snb exit1 nat1 exit2 cli; do netns_add "$_h"; done
	if [ "$NATPATH_CROSS" = 1 ]; then
		netns_add base
		netns_add sna
		link inet 198.51.100.1/29 base "$BASE_IP/29"
		link inet 198.51.100.9/29 sna "$SNA_IP/29"
		ip -n "$(ns base)" route add default via 198.51.100.1
		ip -n "$(ns sna)" route add default via 198.51.100.9
	fi
	link inet 198.51.100.17/29 snb "$SNB_IP/29"
	link inet 198.51.100.25/29 exit1 "$EXIT1_IP/29"
	link inet 198.51.100.33/29 nat1 "$NAT1_IP/29"
	link nat1 10.0.2.1/24 exit2 10.0.2.2/24
	for hg in snb:198.51.100.17 exit1:198.51.100.25 nat1:198.51.100.33; do
		ip -n "$(ns "${hg%%:*}")" route add default via "${hg#*:}"
	done
	ip -n "$(ns exit2)" route add default via 10.0.2.1
	if [ "${CLI_PUBLIC:-0}" = 1 ]; then
		link inet 192.0.2.1/29 cli "$CLI_IP/29"
		ip -n "$(ns cli)" route add default via 192.0.2.1
	else
		netns_add nat2
		link inet 198.51.100.41/29 nat2 "$NAT2_IP/29"
		link nat2 10.0.3.1/24 cli "$CLI_NAT_IP/24"
		ip -n "$(ns nat2)" route add default via 198.51.100.41
		ip -n "$(ns cli)" route add default via 10.0.3.1
		nat_router nat2 cli "$NAT2_MODE"
	fi
	in_ns inet sysctl -qw net.ipv4.ip_forward=1
	ip -n "$(ns inet)" addr add "$TARGET/32" dev lo
	nat_router nat1 exit2 "$NAT1_MODE"
}

# natpath_sn_conf HOST IP REGION: a supernode with reflectors on (and
# basenoded's address when NATPATH_CROSS=1), on stdout.
natpath_sn_conf() {
	common_conf "$1" supernoded
	cat <<-EOF
	listen = $2:7100
	region = $3
	public_address = $2:7100
	relay_host = $2
	wgrelay_socket = $TMP/$1.wg.sock
	keepalive_s = 1
	reflector_port = $REFL_PORT
	EOF
	[ "$NATPATH_CROSS" != 1 ] ||
		printf 'basenoded = %s:7000\nbasenoded_keys = %s\n' "$BASE_IP" "$BASE_KEY"
}

# natpath_conf: snb (reflectors on), exit1, exit2, cli, all region b on snb;
# with NATPATH_CROSS=1 also base and sna, and cli on sna in region a.
natpath_conf() {
	if [ "$NATPATH_CROSS" = 1 ]; then
		common_conf base basenoded >"$TMP/base.conf"
		echo "listen = $BASE_IP:7000" >>"$TMP/base.conf"
		BASE_KEY=$(in_ns base "$BIN/basenoded" -c "$TMP/base.conf" -k)
	fi
	{
		natpath_sn_conf snb "$SNB_IP" b
		[ -z "${SNB_EXTRA:-}" ] || printf '%s\n' "$SNB_EXTRA"
	} >"$TMP/snb.conf"
	SNB_KEY=$(in_ns snb "$BIN/supernoded" -c "$TMP/snb.conf" -k)
	exits_conf "$SNB_IP" "$SNB_KEY"
	if [ "$NATPATH_CROSS" = 1 ]; then
		{
			natpath_sn_conf sna "$SNA_IP" a
			[ -z "${SNA_EXTRA:-}" ] || printf '%s\n' "$SNA_EXTRA"
		} >"$TMP/sna.conf"
		SNA_KEY=$(in_ns sna "$BIN/supernoded" -c "$TMP/sna.conf" -k)
		{ client_conf "$SNA_IP" "$SNA_KEY" a; echo "wg_port = 51821"; } >"$TMP/cli.conf"
	else
		{ client_conf "$SNB_IP" "$SNB_KEY" b; echo "wg_port = 51821"; } >"$TMP/cli.conf"
	fi
}

# sn_peer_nat HEX [SN]: "class,seen" of one peer in the `peers` listing of
# supernode SN (snb by default).
sn_peer_nat() {
	adm "${2:-snb}" peers 2>/dev/null | tr ' ' '\n' | sed -n "s/^peer=$1,[a-z]*,[a-z]*,//p"
}
peer_nat_is() { [ "$(sn_peer_nat "$1" "${3:-snb}" | cut -d, -f1)" = "$2" ]; }
# id_of HOST: the hex peer id of a daemon (its -k key, base64, as snb lists hex).
id_of() {
	case $1 in exit*) p=exitpeerd ;; *) p=clientd ;; esac
	in_ns "$1" "$BIN/$p" -c "$TMP/$1.conf" -k | base64 -d | od -An -tx1 | tr -d ' \n'
}

# natpath_up EXITS...: network, configs, snb, the exits, the client.
natpath_up() {
	natpath_net
	natpath_conf
	if [ "$NATPATH_CROSS" = 1 ]; then
		start_base
		start_sn a
	fi
	start_sn b
	[ "$NATPATH_CROSS" != 1 ] ||
		wait_for 15 "both supernodes registered with basenoded" registered 2
	for _e in "$@"; do start_exit "$_e"; done
	wait_for 15 "$# exit(s) on snb" exit_count b "$#"
	start_cli
}

# The TCP stream of the migration tests: the target sends a chunk every
# 10 ms for SECONDS; the client reads it through the tunnel and prints
# "bytes=N maxgap_ms=M" (the longest wait between reads: the stall), or
# fails on a reset or a 10 s silence.
stream_start() { # SECONDS
	cat >"$TMP/stream.py" <<-'EOF2'
	import socket, sys, time
	if sys.argv[1] == "serve":
	    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    ls.bind((sys.argv[2], 9000)); ls.listen(1)
	    c, _ = ls.accept(); end = time.monotonic() + float(sys.argv[3])
	    while time.monotonic() < end:
	        c.sendall(b"x" * 1400); time.sleep(0.01)
	    c.close()
	else:
	    s = socket.create_connection((sys.argv[2], 9000), 5); s.settimeout(10)
	    last = time.monotonic(); gap = 0.0; total = 0
	    while True:
	        d = s.recv(65536); now = time.monotonic()
	        if not d: break
	        gap = max(gap, now - last); last = now; total += len(d)
	    print("bytes=%d maxgap_ms=%d" % (total, gap * 1000))
	EOF2
	bg inet python3 "$TMP/stream.py" serve "$TARGET" "$1"
	wait_for 5 "the stream server" in_ns inet sh -c "ss -Htln 'sport = :9000' | grep -q ."
	in_ns cli python3 "$TMP/stream.py" read "$TARGET" >"$TMP/stream.out" 2>&1 &
	STREAM=$!
	track_pid "$STREAM"
}
# stream_wait: waits for the stream's end; fails unless it ended cleanly.
stream_wait() {
	wait "$STREAM" || fail "the TCP stream broke: $(cat "$TMP/stream.out")"
	cat "$TMP/stream.out"
	STALL=$(field maxgap_ms <"$TMP/stream.out")
}
# traffic_run SECONDS: a TCP stream (stream_start) and a ping every 100 ms
# through the tunnel for SECONDS; prints both and sets SENT, LOST, STALL.
traffic_run() {
	stream_start "$1"
	wait_for 5 "the stream connected" in_ns cli sh -c "ss -Htn 'dport = :9000' | grep -q ESTAB"
	in_ns cli ping -n -q -c "$(($1 * 10))" -i 0.1 -W 1 "$TARGET" >"$TMP/ping.out" 2>&1 &
	_ping=$!
	track_pid "$_ping"
	stream_wait
	wait "$_ping" || true
	cat "$TMP/ping.out"
	SENT=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping.out")
	LOST=$((SENT - $(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.out")))
}
# path_tests RESULT [SN]: upgrade tests SN (snb by default) logged with RESULT.
path_tests() { grep -c "event=path_test .*result=$1" "$TMP/${2:-snb}.log" || true; }
# path_moves [SN]: SN's path changes to direct so far.
path_moves() { grep -c "event=path_change .*to=direct" "$TMP/${1:-snb}.log" || true; }
# tests_moved_nothing SN MOVES0: during traffic_run the retries were failed
# tests (two at least), nothing moved and the relay carried the traffic.
tests_moved_nothing() {
	_f=$(path_tests failed "$1")
	[ "$_f" -ge 2 ] || fail "fewer than two failed tests: $_f"
	[ "$(path_moves "$1")" = "$2" ] || fail "a failed test moved the session"
	[ "$(cli_field path)" = relay ] || fail "client is not on the relay"
	[ "$LOST" -le 3 ] || fail "$LOST pings lost while the relay carried the traffic"
	[ "$STALL" -lt 2500 ] || fail "stall of ${STALL} ms while only tests ran"
}
# sn_session_is CHOICE [SN]: a session of SN (snb by default) in that path choice.
sn_session_is() { adm "${2:-snb}" sessions 2>/dev/null | grep -q ",$1\$\|,$1 "; }
cut_nats() {
	in_ns inet nft -f - <<-EOF2
	table ip cut {
		chain between_nats { type filter hook forward priority -10;
			ip saddr $NAT1_IP ip daddr $NAT2_IP meta l4proto udp drop
			ip saddr $NAT2_IP ip daddr $NAT1_IP meta l4proto udp drop; }
	}
	EOF2
}
uncut_nats() { in_ns inet nft delete table ip cut; }

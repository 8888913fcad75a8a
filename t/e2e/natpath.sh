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

NAT2_IP=198.51.100.42 CLI_NAT_IP=10.0.3.2
NAT1_MODE=${NAT1_MODE:-eim} NAT2_MODE=${NAT2_MODE:-eim}
REFL_PORT=51900

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

# natpath_conf: snb (reflectors on), exit1, exit2, cli, all region b on snb.
natpath_conf() {
	{
		common_conf snb supernoded
		cat <<-EOF
		listen = $SNB_IP:7100
		region = b
		public_address = $SNB_IP:7100
		relay_host = $SNB_IP
		wgrelay_socket = $TMP/snb.wg.sock
		keepalive_s = 1
		reflector_port = $REFL_PORT
		EOF
		[ -z "${SNB_EXTRA:-}" ] || printf '%s\n' "$SNB_EXTRA"
	} >"$TMP/snb.conf"
	SNB_KEY=$(in_ns snb "$BIN/supernoded" -c "$TMP/snb.conf" -k)
	for e in exit1 exit2; do
		{
			common_conf "$e" exitpeerd
			cat <<-EOF
			supernode = $SNB_IP:7100
			supernode_key = $SNB_KEY
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
	{
		common_conf cli clientd
		cat <<-EOF
		supernode = $SNB_IP:7100
		supernode_key = $SNB_KEY
		region = b
		wgrelay_socket = $TMP/cli.wg.sock
		api_socket = $TMP/cli.api.sock
		wg_iface = smc0
		wg_port = 51821
		full_tunnel = yes
		exit_timeout_s = 10
		EOF
	} >"$TMP/cli.conf"
}

# sn_peer_nat HEX: "class,seen" of one peer in snb's `peers` listing.
sn_peer_nat() {
	adm snb peers 2>/dev/null | tr ' ' '\n' | sed -n "s/^peer=$1,[a-z]*,[a-z]*,//p"
}
peer_nat_is() { [ "$(sn_peer_nat "$1" | cut -d, -f1)" = "$2" ]; }
# id_of HOST: the hex peer id of a daemon (its -k key, base64, as snb lists hex).
id_of() {
	case $1 in exit*) p=exitpeerd ;; *) p=clientd ;; esac
	in_ns "$1" "$BIN/$p" -c "$TMP/$1.conf" -k | base64 -d | od -An -tx1 | tr -d ' \n'
}

# natpath_up EXITS...: network, configs, snb, the exits, the client.
natpath_up() {
	natpath_net
	natpath_conf
	start_sn b
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
sn_session_is() { adm snb sessions 2>/dev/null | grep -q ",$1\$\|,$1 "; }
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

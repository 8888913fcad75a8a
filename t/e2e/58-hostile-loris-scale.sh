# Slow-loris at scale from ONE address (issue 7): 127.0.0.2 keeps more
# unauthenticated connections open than the daemon has room for, each
# sending a byte a second and reopened as soon as it is dropped, while a
# legitimate peer connects from 127.0.0.3. The peer must still get in.
# basenoded counts handshakes in max_streams (default 4096) and supernoded
# has no cap on them but its descriptors (1024 here, systemd's default soft
# limit; the shipped unit sets 65536). Neither limits unauthenticated
# connections per source address, so today this test FAILS: see the report
# of issue 7 for the fix (a per-IP cap on handshakes taken at accept).
. "$(dirname "$0")/lib.sh"

HOS=$TOP/$O/t/tools/hostile
LEG=$TOP/$O/t/tools/legit_peer
[ -x "$HOS" ] && [ -x "$LEG" ] || skip "t/tools/hostile or legit_peer not built in $O"
need python3

netns_add d
ip -n "$(ns d)" route replace local 127.0.0.0/8 dev lo proto kernel scope host \
	src 127.0.0.3 table local
ip -n "$(ns d)" route replace local 127.0.0.1 dev lo proto kernel scope host \
	src 127.0.0.3 table local
mkdir -p "$TMP/run"
failed=""

loris_one() { # DAEMON ROLE PORT FDLIMIT CONNECTIONS
	DAEMON=$1 ROLE=$2 A=127.0.0.1:$3
	[ -x "$BIN/$DAEMON" ] || { say "$DAEMON not built: skipped"; return 0; }
	CONF=$TMP/$DAEMON.conf
	cat >"$CONF" <<EOF
listen = $A
admin_socket = $TMP/run/$DAEMON.sock
key_file = $TMP/$DAEMON/identity.key
state_dir = $TMP/$DAEMON
EOF
	[ "$DAEMON" = supernoded ] && echo "wgrelay_socket = $TMP/run/wgrelay.sock" >>"$CONF"
	L0=$(cat "$TMP/d.log" 2>/dev/null | wc -l)
	bg d sh -c "ulimit -n $4 && exec \"$BIN/$DAEMON\" -d -c \"$CONF\""
	PID=$LAST_PID
	wait_for 5 "$DAEMON's admin socket" test -S "$TMP/run/$DAEMON.sock"
	in_ns d timeout 120 "$HOS" -b 127.0.0.2 loris "$A" "$5" 10 >"$TMP/loris.out" &
	LORIS=$!
	# Until the attacker holds its connections (the daemon logs refusals
	# or the attacker has been at it for 3 s).
	wait_for 10 "the attacker to fill $DAEMON" sh -c \
		"tail -n +$((L0 + 1)) '$TMP/d.log' | grep -q 'stream_refused\|accept_failed' || [ \$(ls /proc/$PID/fd | wc -l) -ge $(($4 - 16)) ]"
	set +e
	out=$(in_ns d timeout 120 "$LEG" -r "$ROLE" "$A" 10 200 2000)
	st=$?
	set -e
	wait "$LORIS"
	say "$DAEMON ($4 fds) under $5 slow connections from 127.0.0.2: attacker $(cat "$TMP/loris.out")"
	say "$DAEMON: legitimate peer from 127.0.0.3: $out"
	say "$DAEMON: refusals logged: $(tail -n +$((L0 + 1)) "$TMP/d.log" |
		grep -c 'stream_refused\|accept_failed' || true)"
	[ "$st" -eq 0 ] || failed="$failed $DAEMON"
	kill -TERM "$PID"
	set +e; wait "$PID"; set -e
}

loris_one basenoded 3 7000 8192 4200
loris_one supernoded 1 7100 1024 1100
[ -z "$failed" ] || fail "one address locked legitimate peers out of:$failed"
say "pass"

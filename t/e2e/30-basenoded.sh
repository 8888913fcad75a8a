# basenoded as a process: its config checks and exit codes, a key that is
# made once and then stable, the admin socket (status, list, blacklist), a
# blacklist that survives a restart, junk and silent TCP peers that are cut
# off while it keeps serving, a port already taken (111), clean SIGTERM.
# It listens on 127.0.0.1 inside its own namespace.
. "$(dirname "$0")/lib.sh"

need python3
BND=$BIN/basenoded
[ -x "$BND" ] || skip "basenoded not built in $O"

netns_add bn
mkdir -p "$TMP/run"
CONF=$TMP/basenoded.conf
SOCK=$TMP/run/basenoded.sock
cat >"$CONF" <<EOF
# basenoded e2e config
listen = 127.0.0.1:7000
admin_socket = $SOCK
key_file = $TMP/state/identity.key
state_dir = $TMP/state
heartbeat_s = 5
EOF

# run ARGS...: basenoded in the namespace; sets $out (stdout+stderr), $rc.
run() {
	set +e
	out=$(in_ns bn "$BND" -c "$CONF" "$@" 2>&1)
	rc=$?
	set -e
}
# adm VERB...: one admin request through the socket.
adm() { run -s - "$@"; }
ok() { adm "$@"; [ "$rc" -eq 0 ] && [ "$out" = "$EXPECT" ] || fail "$*: rc=$rc out='$out' want '$EXPECT'"; }
expect_rc() { want=$1; shift; run "$@"; [ "$rc" -eq "$want" ] || fail "basenoded $*: rc=$rc want $want: $out"; }
start() {
	bg bn "$BND" -d -c "$CONF"
	PID=$LAST_PID
	wait_for 5 "the admin socket" test -S "$SOCK"
}
stop() { # SIGNAL: the daemon must exit 0 and remove its socket
	kill "-$1" "$PID"
	set +e; wait "$PID"; st=$?; set -e
	[ "$st" -eq 0 ] || fail "exit status $st after SIG$1"
	[ ! -e "$SOCK" ] || fail "admin socket left behind"
}

say "-n accepts the config; -n -v shows every key and where it came from"
expect_rc 0 -n
[ -z "$out" ] || fail "-n printed: $out"
expect_rc 0 -n -v
echo "$out" | grep -qx "listen = 127.0.0.1:7000  # $CONF:2" || fail "-n -v: $out"
echo "$out" | grep -qx "dead_after_s = 30  # default" || fail "-n -v: $out"
[ ! -e "$TMP/state" ] || fail "-n touched the state directory"

say "bad configs exit 100 with a message"
expect_rc 100 -n -o heartbeat_s=0
expect_rc 100 -n -o no_such_key=1
expect_rc 100 -n -o listen=example.com:7000
expect_rc 100 -n -o log_level=loud
expect_rc 100 -n -o dead_after_s=5
expect_rc 100 -n -o allow_supernodes="$TMP/missing"
printf 'not-a-key\n' >"$TMP/allow"
expect_rc 100 -n -o allow_supernodes="$TMP/allow"
echo "$out" | grep -q "line 1" || fail "allow-list error does not name the line: $out"
set +e; in_ns bn "$BND" -c "$TMP/nonexistent.conf" -n >/dev/null 2>&1; st=$?; set -e
[ "$st" -eq 100 ] || fail "missing -c file: rc=$st"
expect_rc 100 -Z

say "-k makes the key once (0600), then prints the same key"
expect_rc 0 -k
KEY=$out
echo "$KEY" | grep -Eqx '[A-Za-z0-9+/]{43}=' || fail "-k printed '$KEY'"
[ "$(stat -c %a "$TMP/state/identity.key")" = 600 ] || fail "key file mode"
expect_rc 0 -k
[ "$out" = "$KEY" ] || fail "key changed: $out"
chmod 644 "$TMP/state/identity.key"
expect_rc 100 -k
echo "$out" | grep -q "event=key_failed" || fail "no key_failed line: $out"
chmod 600 "$TMP/state/identity.key"
# Another supernode-looking key to blacklist.
OTHER=$(in_ns bn "$BND" -c "$CONF" -o key_file="$TMP/other.key" -k)

say "daemon starts; status and list through the admin socket"
start
EXPECT="ok streams=0 registered=0 blacklisted=0 persistent=yes" ok status
EXPECT="ok count=0" ok list
EXPECT="ok count=0" ok list eu
EXPECT="ok count=0" ok streams
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "admin socket mode"
grep -q "event=started server_id=$KEY" "$TMP/bn.log" || fail "no start line with the key"

say "junk and silent TCP peers are cut off; the daemon keeps serving"
in_ns bn python3 - <<'EOF' || fail "junk peer not cut off"
import socket, sys
s = socket.create_connection(("127.0.0.1", 7000), timeout=3)
s.sendall(b"\x00\x00\x00\x00junk")      # a zero-length frame is a protocol error
sys.exit(0 if s.recv(100) == b"" else 1)
EOF
in_ns bn python3 - <<'EOF' || fail "silent peer not cut off by the handshake deadline"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", 7000), timeout=8)
t = time.time()
sys.exit(0 if s.recv(100) == b"" and 4 <= time.time() - t < 8 else 1)
EOF
EXPECT="ok streams=0 registered=0 blacklisted=0 persistent=yes" ok status

say "blacklist add/list/del; bad keys and verbs are errors"
EXPECT=ok ok blacklist add "$OTHER"
EXPECT=ok ok blacklist add "$OTHER"
EXPECT="ok count=1 key=$OTHER" ok blacklist list
adm blacklist add nonsense
[ "$rc" -eq 1 ] && [ "$out" = "err inval not a base64 or hex key" ] || fail "bad key: $rc $out"
adm frobnicate
[ "$rc" -eq 1 ] && echo "$out" | grep -q "^err usage" || fail "unknown verb: $rc $out"
grep -q "event=blacklisted peer_id=" "$TMP/bn.log" || fail "no blacklisted log line"

say "a second instance on the same port exits 111"
expect_rc 111 -d -o admin_socket="$TMP/run/second.sock"
echo "$out" | grep -q "event=listen_failed" || fail "no listen_failed line: $out"
EXPECT="ok count=1 key=$OTHER" ok blacklist list

say "SIGTERM exits 0; the blacklist survives a restart; SIGINT exits 0"
stop TERM
grep -q "event=stopped" "$TMP/bn.log" || fail "no stopped line"
start
EXPECT="ok count=1 key=$OTHER" ok blacklist list
EXPECT=ok ok blacklist del "$OTHER"
EXPECT="ok count=0" ok blacklist list
stop INT

say "SIGHUP re-reads the allow-list; a bad one keeps the old list"
echo "$OTHER" >"$TMP/allow.list"
echo "allow_supernodes = $TMP/allow.list" >>"$CONF"
expect_rc 0 -n
start
EXPECT="ok count=0" ok blacklist list
printf '# two now\n%s\n%s\n' "$OTHER" "$KEY" >"$TMP/allow.list"
kill -HUP "$PID"
wait_for 5 "allow_reloaded" grep -q "event=allow_reloaded count=2" "$TMP/bn.log"
echo "garbage" >>"$TMP/allow.list"
kill -HUP "$PID"
wait_for 5 "allow_reload_failed" grep -q "event=allow_reload_failed" "$TMP/bn.log"
EXPECT="ok streams=0 registered=0 blacklisted=0 persistent=yes" ok status
stop TERM
say "pass"

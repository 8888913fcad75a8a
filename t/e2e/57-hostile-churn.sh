# 10k connections opened and dropped (issue 7), against basenoded and then
# supernoded: a quarter closed at once, a quarter reset, a quarter after a
# ClientHello, a quarter after reading the ServerHello; then authenticated
# connect/disconnect cycles (accepted and refused). Afterwards the daemon's
# fd count is back to its baseline, its RSS is within +2 MiB, it holds no
# stream and a legitimate peer still gets in. N=10000 unless CHURN_N is set.
. "$(dirname "$0")/lib.sh"

HOS=$TOP/$O/t/tools/hostile
LEG=$TOP/$O/t/tools/legit_peer
[ -x "$HOS" ] && [ -x "$LEG" ] || skip "t/tools/hostile or legit_peer not built in $O"
need python3
N=${CHURN_N:-10000}
RSS_BOUND_KB=2048

netns_add d
mkdir -p "$TMP/run"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
fds() { ls "/proc/$PID/fd" | wc -l; }
# held: streams the daemon holds, handshakes included where it says so.
held() {
	in_ns d "$BIN/$DAEMON" -c "$CONF" -s - status | tr ' ' '\n' | sed -n 's/^streams=//p'
}

churn_one() { # DAEMON ROLE PORT
	DAEMON=$1 ROLE=$2 A=127.0.0.1:$3
	[ -x "$BIN/$DAEMON" ] || { say "$DAEMON not built: skipped"; return 0; }
	CONF=$TMP/$DAEMON.conf
	cat >"$CONF" <<EOF
listen = $A
admin_socket = $TMP/run/$DAEMON.sock
key_file = $TMP/$DAEMON/identity.key
state_dir = $TMP/$DAEMON
wgrelay_socket = $TMP/run/wgrelay.sock
EOF
	[ "$DAEMON" = basenoded ] && sed -i '/wgrelay_socket/d' "$CONF"
	bg d "$BIN/$DAEMON" -d -c "$CONF"
	PID=$LAST_PID
	wait_for 5 "$DAEMON's admin socket" test -S "$TMP/run/$DAEMON.sock"
	# Warm up first so the baseline includes what the allocator keeps.
	# Churn from its own address: past auth_burst it is refused at accept
	# (per-IP rate, before any crypto), which must not lock out the peer.
	in_ns d timeout 120 "$HOS" -b 127.0.0.4 churn "$A" 1000 >/dev/null || fail "warm-up churn"
	in_ns d timeout 120 "$LEG" -r "$ROLE" "$A" 5 20 2000 >/dev/null || fail "warm-up peer"
	wait_for 10 "$DAEMON idle after the warm-up" test "$(held)" = 0
	FD0=$(fds) RSS0=$(rss)
	start=$(date +%s)
	out=$(in_ns d timeout 120 "$HOS" -b 127.0.0.4 churn "$A" "$N") || fail "$DAEMON churn: $out"
	say "$DAEMON: churn $out in $(($(date +%s) - start)) s"
	out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" -b 127.0.0.2 flood "$A" 3 1)
	say "$DAEMON: authenticated cycles $out"
	wait_for 15 "$DAEMON's fds back to $FD0" test "$(fds)" -le "$FD0"
	wait_for 10 "$DAEMON holding no stream" test "$(held)" = 0
	RSS1=$(rss)
	say "$DAEMON: fds $FD0 -> $(fds), RSS $RSS0 -> $RSS1 kB (bound +$RSS_BOUND_KB kB)"
	# ASan's quarantine holds freed memory; LeakSanitizer at exit checks instead.
	grep -q __asan_init "$BIN/$DAEMON" || [ "$RSS1" -le $((RSS0 + RSS_BOUND_KB)) ] ||
		fail "$DAEMON RSS grew from $RSS0 to $RSS1 kB"
	out=$(in_ns d timeout 120 "$LEG" -r "$ROLE" "$A" 10 20 2000) || fail "$DAEMON: peer not served: $out"
	say "$DAEMON: legitimate peer afterwards: $out"
	kill -TERM "$PID"
	set +e; wait "$PID"; st=$?; set -e
	[ "$st" -eq 0 ] || fail "$DAEMON exit status $st after SIGTERM"
}

churn_one basenoded 3 7000
churn_one supernoded 1 7100
say "pass"

# basenoded (and supernoded) under valgrind's memcheck through one round of
# every quick hostile client, 1000 connect/disconnect cycles, authenticated
# cycles and a legitimate peer; then SIGTERM. Any memcheck error or leak
# (definite or indirect) fails; fds and RSS are 57-hostile-churn.sh's part.
. "$(dirname "$0")/lib.sh"

HOS=$TOP/$O/t/tools/hostile
LEG=$TOP/$O/t/tools/legit_peer
[ -x "$HOS" ] && [ -x "$LEG" ] || skip "t/tools/hostile or legit_peer not built in $O"
need valgrind
# memcheck cannot run an ASan build (make SANITIZE=1): ASan checks those.
if grep -q __asan_init "$BIN/basenoded" 2>/dev/null; then skip "ASan build: memcheck does not apply"; fi
N=${CHURN_N:-1000}

netns_add d
mkdir -p "$TMP/run"

vg_one() { # DAEMON ROLE PORT
	DAEMON=$1 ROLE=$2 A=127.0.0.1:$3
	[ -x "$BIN/$DAEMON" ] || { say "$DAEMON not built: skipped"; return 0; }
	CONF=$TMP/$DAEMON.conf VG=$TMP/$DAEMON.vg
	cat >"$CONF" <<EOF
listen = $A
admin_socket = $TMP/run/$DAEMON.sock
key_file = $TMP/$DAEMON/identity.key
state_dir = $TMP/$DAEMON
EOF
	[ "$DAEMON" = supernoded ] && echo "wgrelay_socket = $TMP/run/wgrelay.sock" >>"$CONF"
	bg d valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--log-file="$VG" "$BIN/$DAEMON" -d -c "$CONF"
	PID=$LAST_PID
	wait_for 30 "$DAEMON's admin socket under valgrind" test -S "$TMP/run/$DAEMON.sock"
	for m in garbage garbage-open bigprefix bigprefix-open forged expired replay; do
		out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" "$m" "$A") || fail "$DAEMON $m: $out"
	done
	out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" -b 127.0.0.2 slowloris "$A") || fail "slowloris: $out"
	out=$(in_ns d timeout 120 "$HOS" churn "$A" "$N") || fail "$DAEMON churn: $out"
	out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" -b 127.0.0.2 flood "$A" 3 1)
	say "$DAEMON under valgrind: authenticated cycles $out"
	out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" -b 127.0.0.4 pingflood "$A" 2000 2) || fail "$out"
	out=$(in_ns d timeout 120 "$HOS" -r "$ROLE" -b 127.0.0.4 pingflood-noread "$A" 100000 20) ||
		fail "$DAEMON: Pongs never read and not cut off: $out"
	# Generous: memcheck is some 20-50 times slower.
	out=$(in_ns d timeout 120 "$LEG" -r "$ROLE" "$A" 5 50 5000) || fail "$DAEMON: peer not served: $out"
	say "$DAEMON under valgrind: legitimate peer: $out"
	kill -TERM "$PID"
	set +e; wait "$PID"; st=$?; set -e
	if [ "$st" -ne 0 ] || [ -s "$VG" ]; then
		sed 's/^/    vg| /' "$VG" | head -60
		fail "$DAEMON under valgrind: exit $st"
	fi
	say "$DAEMON: memcheck clean after $N cycles and every attack"
}

vg_one basenoded 3 7000
vg_one supernoded 1 7100
say "pass"

# /metrics on every daemon, started as processes in one namespace: each
# page passes a strict exposition-format check (t/tools/promcheck.py, and
# promtool too when it is installed) and has the DESIGN section 9 names that
# apply; the counters move at real events (relayed and dropped datagrams, a
# refused stream); clientd's CLI talks to its API socket and says when clientd
# is not running. natctl (-l) serves process metrics only. supernoded
# registers with basenoded and samples its heartbeat RTT.
. "$(dirname "$0")/lib.sh"

need python3 curl
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done
CHECK="python3 $TOP/t/tools/promcheck.py"
PROC=process_resident_memory_bytes,process_cpu_seconds_total,process_open_fds,process_start_time_seconds

netns_add m
mkdir -p "$TMP/run" "$TMP/state"

# scrape PORT: the page into $TMP/page, checked; fails the test if invalid.
scrape() {
	in_ns m curl -sf -o "$TMP/page" -D "$TMP/head" "http://127.0.0.1:$1/metrics" ||
		fail "no /metrics on port $1"
	grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/head" ||
		fail "port $1: content type: $(cat "$TMP/head")"
	$CHECK --require "$2,$PROC" "$TMP/page" || fail "port $1: bad exposition"
	# promtool also lints names; DESIGN section 9 fixes three it dislikes (a
	# gauge named *_total, a gauge named *_count, a histogram in ms), so only
	# those lint lines are let by: every format error still fails.
	if command -v promtool >/dev/null 2>&1; then
		promtool check metrics <"$TMP/page" >"$TMP/lint" 2>&1 || true
		if grep -v -e '^active_streams_total non-counter metrics should not have "_total" suffix$' \
			-e '^wg_peers_count non-histogram and non-summary metrics should not have "_count" suffix$' \
			-e '^peer_heartbeat_latency_ms metric names should not contain abbreviated units$' \
			-e '^peer_heartbeat_latency_ms use base unit "seconds" instead of "milliseconds"$' \
			"$TMP/lint" | grep -q .; then
			fail "port $1: promtool: $(cat "$TMP/lint")"
		fi
	fi
}
# value NAME{LABELS}: the sample's value on the last page scraped.
value() { awk -v s="$1" '$1 == s { print $2 }' "$TMP/page"; }
# at_least PORT SERIES N: poll until the series reaches N.
at_least() {
	in_ns m curl -sf "http://127.0.0.1:$1/metrics" | awk -v s="$2" -v n="$3" \
		'$1 == s && $2 + 0 >= n + 0 { ok = 1 } END { exit !ok }'
}

say "the checker itself refuses a broken page"
printf '# TYPE a counter\na -1\nb{x="1",x="2"} 1\n' >"$TMP/bad"
if $CHECK "$TMP/bad" >/dev/null; then fail "promcheck accepted a broken page"; fi

say "wgrelay -l: relay counters"
WGS=$TMP/run/wgrelay.sock
bg m "$BIN/wgrelay" -d -l "$WGS" -o relay_bind=127.0.0.1 -o metrics_listen=127.0.0.1:9474
wait_for 5 "wgrelay's socket" test -S "$WGS"
wait_for 5 "wgrelay's /metrics" in_ns m curl -sf http://127.0.0.1:9474/metrics
scrape 9474 relay_sessions_active,relay_bytes_total,relay_packets_total,relay_drops_total
[ "$(value relay_sessions_active)" = 0 ] || fail "sessions before any: $(value relay_sessions_active)"
reply=$(in_ns m "$BIN/wgrelay" -s "$WGS" relay add r1) || fail "relay add: $reply"
cport=$(echo "$reply" | tr ' ' '\n' | sed -n 's/^client_port=//p')
eport=$(echo "$reply" | tr ' ' '\n' | sed -n 's/^exit_port=//p')
[ -n "$cport" ] && [ -n "$eport" ] || fail "relay add said: $reply"
# The exit speaks first and is latched; the client's 100-byte datagram is
# relayed to it; a stranger writing to the exit-facing port is dropped.
in_ns m python3 - "$cport" "$eport" <<'EOF'
import socket, sys, time
c, e, x = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3))
e.settimeout(5)
cp, ep = int(sys.argv[1]), int(sys.argv[2])
e.sendto(b'y' * 20, ('127.0.0.1', ep))
time.sleep(0.2)  # the exit's datagram latches before the client's
c.sendto(b'z' * 100, ('127.0.0.1', cp))
assert e.recvfrom(2048)[0] == b'z' * 100
x.sendto(b's' * 10, ('127.0.0.1', ep))
EOF
wait_for 5 "relayed bytes counted" at_least 9474 'relay_bytes_total{direction="client_to_exit"}' 100
wait_for 5 "the stranger's drop counted" at_least 9474 'relay_drops_total{reason="stranger"}' 1
scrape 9474 relay_sessions_active,relay_bytes_total,relay_packets_total
[ "$(value relay_sessions_active)" = 1 ] || fail "sessions: $(value relay_sessions_active)"
[ "$(value 'relay_packets_total{direction="client_to_exit"}')" = 1 ] || fail "packets c2e"

say "natctl -l: process metrics only"
bg m "$BIN/natctl" -d -l "$TMP/run/natctl.sock" -o metrics_listen=127.0.0.1:9475
wait_for 5 "natctl's /metrics" in_ns m curl -sf http://127.0.0.1:9475/metrics
scrape 9475 process_open_fds

say "basenoded"
bg m "$BIN/basenoded" -d -o listen=127.0.0.1:7000 -o admin_socket="$TMP/run/bn.sock" \
	-o key_file="$TMP/state/bn.key" -o state_dir="$TMP/state/bn" \
	-o metrics_listen=127.0.0.1:9470
wait_for 5 "basenoded's /metrics" in_ns m curl -sf http://127.0.0.1:9470/metrics
scrape 9470 active_streams_total,stream_auth_failures_total
[ "$(value active_streams_total)" = 0 ] || fail "streams: $(value active_streams_total)"

say "supernoded: registered with basenoded, its heartbeat RTT sampled"
BNKEY=$(in_ns m "$BIN/basenoded" -o key_file="$TMP/state/bn.key" -k) || fail "basenoded -k"
bg m "$BIN/supernoded" -d -o listen=127.0.0.1:7100 -o public_address=127.0.0.1:7100 \
	-o region=eu -o key_file="$TMP/state/sn.key" -o state_dir="$TMP/state/sn" \
	-o admin_socket="$TMP/run/sn.sock" -o wgrelay_socket="$WGS" \
	-o basenoded=127.0.0.1:7000 -o basenoded_keys="$BNKEY" -o heartbeat_s=1 \
	-o metrics_listen=127.0.0.1:9471
wait_for 5 "supernoded's /metrics" in_ns m curl -sf http://127.0.0.1:9471/metrics
SN_NAMES=active_streams_total,stream_auth_failures_total,peer_heartbeat_latency_ms
SN_NAMES=$SN_NAMES,command_latency_seconds,command_success_total,command_failure_total
SN_NAMES=$SN_NAMES,relay_sessions_active,supernode_cpu_pct,supernode_net_tx_mbps
SN_NAMES=$SN_NAMES,supernode_net_rx_mbps,supernode_sessions_by_path,supernode_peers_by_nat
SN_NAMES=$SN_NAMES,supernode_path_upgrades_total,supernode_path_fallbacks_total
SN_NAMES=$SN_NAMES,supernode_punch_failed_total
scrape 9471 "$SN_NAMES"
[ "$(value active_streams_total)" = 0 ] || fail "sn streams: $(value active_streams_total)"
[ "$(value 'supernode_sessions_by_path{path="direct"}')" = 0 ] || fail "sn direct sessions"
wait_for 5 "basenoded holding supernoded's stream" at_least 9470 active_streams_total 1
wait_for 10 "supernoded sampling basenoded's RTT" at_least 9471 peer_heartbeat_latency_ms_count 1
scrape 9471 "$SN_NAMES"

say "exitpeerd (helpers absent: still starting, still scraped)"
bg m "$BIN/exitpeerd" -d -o supernode=127.0.0.1:7000 -o insecure_no_pin=yes \
	-o region=eu -o key_file="$TMP/state/ep.key" -o state_dir="$TMP/state/ep" \
	-o admin_socket="$TMP/run/ep.sock" -o wgrelay_socket="$TMP/run/none.sock" \
	-o natctl_socket="$TMP/run/none.sock" -o metrics_listen=127.0.0.1:9472
wait_for 5 "exitpeerd's /metrics" in_ns m curl -sf http://127.0.0.1:9472/metrics
scrape 9472 active_streams_total,stream_auth_failures_total,peer_heartbeat_latency_ms,command_latency_seconds,command_success_total,command_failure_total,wg_peers_count

say "clientd: CLI before it runs, then API and metrics"
API=$TMP/run/clientd.api
CD="$BIN/clientd -o supernode=127.0.0.1:7000 -o insecure_no_pin=yes -o region=home \
	-o key_file=$TMP/state/cd.key -o state_dir=$TMP/state/cd -o wgrelay_socket=$WGS \
	-o admin_socket=$TMP/run/cd.sock -o api_socket=$API -o metrics_listen=127.0.0.1:9473 \
	-o wg_iface=smt$$c -o full_tunnel=no"
set +e
out=$(in_ns m $CD ctl status 2>&1); rc=$?
set -e
[ "$rc" -eq 111 ] || fail "ctl status with no clientd: rc=$rc"
[ "$out" = "clientd is not running (no socket at $API)" ] || fail "ctl said: $out"
bg m $CD -d
wait_for 5 "clientd's API socket" test -S "$API"
[ "$(stat -c %a "$API")" = 660 ] || fail "API socket mode $(stat -c %a "$API")"
out=$(in_ns m $CD ctl status) || fail "ctl status: $out"
echo "$out" | grep -q '^state *disconnected$' || fail "ctl status: $out"
in_ns m $CD ctl status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] == "disconnected"' ||
	fail "ctl status --json"
wait_for 5 "clientd's /metrics" in_ns m curl -sf http://127.0.0.1:9473/metrics
scrape 9473 active_streams_total,stream_auth_failures_total,peer_heartbeat_latency_ms,command_latency_seconds,command_success_total,command_failure_total,wg_peers_count
# clientd's stream reaches basenoded as a client: refused, and both count it
# (only once wgrelay has made clientd's interface, which needs wireguard-go).
if command -v wireguard-go >/dev/null 2>&1; then
	wait_for 20 "clientd counting the refusal" at_least 9473 stream_auth_failures_total 1
	wait_for 5 "basenoded counting it" at_least 9470 stream_auth_failures_total 1
	scrape 9470 stream_auth_failures_total
fi

say "every daemon still serves and stops cleanly on SIGTERM"
for p in $_PIDS; do
	kill -TERM "$p"
	set +e; wait "$p"; st=$?; set -e
	[ "$st" -eq 0 ] || fail "pid $p exited $st after SIGTERM: $(tail -n 5 "$TMP/m.log")"
done
_PIDS=""
[ ! -e "$API" ] || fail "API socket left behind"
say "ok"

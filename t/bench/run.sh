#!/bin/sh
# `make bench`: supernoded under N authenticated, pinging streams from
# t/bench/streamload (N = 1000, 5000 and as many as the descriptor limit
# allows, aiming at 15000), SETUP_EXIT round trips through a fake exit,
# relayed/direct WireGuard throughput (t/bench/throughput.sh), and exit
# request to first ping and failover times from the namespace scenarios
# t/e2e/41, 42 and 44 when they run here. Prints figures, never pass/fail;
# every part is bounded in time and cleaned up (t/e2e/lib.sh's trap).
# Knobs: BENCH_N="1000 5000 15000", BENCH_HOLD=15 (s), BENCH_PROCS=4,
# BENCH_XREQ=500, BENCH_E2E_RUNS=5, BENCH_PERF=1 (perf record supernoded).
. "$(dirname "$0")/../e2e/lib.sh"
set +e

SL=$TOP/$O/t/bench/streamload
[ -x "$SL" ] && [ -x "$BIN/supernoded" ] || fail "build first: make O=$O bench"
ulimit -n "$(ulimit -Hn)"
HARD=$(ulimit -Hn)
MAXN=${BENCH_MAX:-15000}
[ "$HARD" != unlimited ] && [ "$MAXN" -gt $((HARD - 1000)) ] && MAXN=$((HARD - 1000))
LIST=${BENCH_N:-"1000 5000 $MAXN"}
HOLD=${BENCH_HOLD:-15}
PROCS=${BENCH_PROCS:-4}
XREQ=${BENCH_XREQ:-500}
RUNS=${BENCH_E2E_RUNS:-5}
PORT=$((17200 + $$ % 500))
OUT=$TMP/results

# kv KEY FILE PHASE: the value of KEY= on FILE's line starting with PHASE.
kv() { sed -n "s/^$3 .*[ ]$1=\([^ ]*\).*/\1/p" "$2" | head -n 1; }

sn_conf() { # DIR PORT
	cat >"$1/sn.conf" <<-EOF
	listen = 127.0.0.1:$2
	key_file = $1/identity.key
	state_dir = $1/state
	admin_socket = $1/admin.sock
	# the bench's sources are all on 127.0.0.0/8: no per-IP limit, room for all
	max_streams = $((MAXN + 1000))
	auth_rate = 0
	EOF
}

# load N: one fresh supernoded, streamload against it, then SIGTERM.
load() {
	n=$1 d=$TMP/n$1
	mkdir -p "$d"
	PORT=$((PORT + 1))
	sn_conf "$d" "$PORT"
	"$BIN/supernoded" -d -c "$d/sn.conf" 2>"$d/sn.log" &
	SN=$!
	track_pid "$SN"
	wait_for 10 "supernoded for N=$n" test -S "$d/admin.sock"
	key=$("$BIN/supernoded" -c "$d/sn.conf" -k)
	if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -F 999 -p "$SN" -o "$d/perf.data" >/dev/null 2>&1 &
		PERF=$!
		wait_for 10 "perf attached to supernoded" test -s "$d/perf.data"
	fi
	say "N=$n: $PROCS workers, hold ${HOLD}s, $XREQ ExitRequests"
	timeout -k 5 $((HOLD + 150)) "$SL" -a "127.0.0.1:$PORT" -k "$key" -n "$n" -P "$PROCS" \
		-H "$HOLD" -m "$SN" -x "$XREQ" -T $((HOLD + 140)) | tee "$d/out"
	if [ -n "${PERF:-}" ]; then
		kill -INT "$PERF"
		wait "$PERF"
		perf report -i "$d/perf.data" --stdio --sort dso,symbol --percent-limit 1 \
			2>/dev/null | grep -v '^$' | head -n 60 >"$d/perf.txt"
		echo "perf profile: $d/perf.txt (kept in ${BENCH_KEEP:-$TMP})"
		PERF=
	fi
	kill -TERM "$SN"
	wait "$SN"
	echo "supernoded exit status $?; log lines $(wc -l <"$d/sn.log")," \
		"warnings $(grep -c level=warn "$d/sn.log")"
}

# e2e SCRIPT PATTERN: runs a namespace scenario up to $RUNS times, prints the ms
# figure of the line matching PATTERN for each run, then the median.
e2e() {
	vals=""
	i=0
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		SMT=smb$$$i O=$O timeout -k 5 90 sh "$TOP/t/e2e/$1" >"$TMP/e2e.out" 2>&1
		rc=$?
		v=$(sed -n "s/.*$2[^0-9]*\([0-9][0-9]*\) ms.*/\1/p" "$TMP/e2e.out" | head -n 1)
		[ $rc -eq 0 ] && [ -n "$v" ] && vals="$vals $v"
		if [ $rc -ne 0 ]; then
			# A scenario that fails once is not retried: it would only burn time.
			echo "  $1 run $i: exit $rc: $(tail -n 2 "$TMP/e2e.out" | tr '\n' ' ')" >&2
			break
		fi
	done
	if [ -z "$vals" ]; then
		echo "not measured"
		return
	fi
	echo "$vals" | tr ' ' '\n' | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { printf "median %d ms (n=%d, min %d, max %d)\n",
			v[int((NR + 1) / 2)], NR, v[1], v[NR] }'
}

say "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
	"kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), fd limit $HARD"
for n in $LIST; do
	load "$n"
done

say "relayed/direct throughput (wireguard-go, iperf3)"
SMT=smb$$t O=$O timeout -k 5 240 sh "$TOP/t/bench/throughput.sh" | tee "$TMP/tput.out"
grep -q '^throughput ' "$TMP/tput.out" || echo "throughput: not measured"

say "exit request to first ping (t/e2e/41-direct.sh, 42-relay.sh), $RUNS runs each"
echo "direct: $(e2e 41-direct.sh 'connect to first ping through the tunnel')"
echo "relay:  $(e2e 42-relay.sh 'connect to first ping through the relay')"
say "failover: exit1 killed to first ping reply (t/e2e/44-rotation.sh)"
echo "failover: $(e2e 44-rotation.sh 'recovery: first ping reply')"

say "summary"
printf '%-6s %-6s %-8s %-15s %-10s %-9s %-15s %-15s %-15s\n' N held hs/s "hs p50/p99 ms" \
	"RSS B/str" "CPU %" "ping p50/p99" "exitreq p50/p99" "leg2 p50/p99"
for n in $LIST; do
	f=$TMP/n$n/out
	[ -f "$f" ] || continue
	printf '%-6s %-6s %-8s %-15s %-10s %-9s %-15s %-15s %-15s\n' "$n" \
		"$(kv held "$f" hold)" "$(kv hs_per_s "$f" ramp)" \
		"$(kv hs_ms_p50 "$f" ramp)/$(kv hs_ms_p99 "$f" ramp)" \
		"$(kv sn_rss_per_stream_b "$f" hold)" "$(kv sn_cpu_pct "$f" hold)" \
		"$(kv ping_rtt_ms_p50 "$f" hold)/$(kv ping_rtt_ms_p99 "$f" hold)" \
		"$(kv exit_rtt_ms_p50 "$f" exit)/$(kv exit_rtt_ms_p99 "$f" exit)" \
		"$(kv setup_exit_to_resp_ms_p50 "$f" exit)/$(kv setup_exit_to_resp_ms_p99 "$f" exit)"
done
grep '^throughput ' "$TMP/tput.out" 2>/dev/null
if [ -n "${BENCH_KEEP:-}" ]; then
	mkdir -p "$BENCH_KEEP" && cp -r "$TMP"/. "$BENCH_KEEP"/ && echo "raw output in $BENCH_KEEP"
fi

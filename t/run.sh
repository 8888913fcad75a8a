#!/bin/sh
# Runs every test: unit tests (Check binaries in $O/t/) and, as root, the
# network-namespace tests in t/e2e/. One line per test, then a closing line
# "check: N passed, N failed, N skipped". Usage: t/run.sh [unit|e2e] [NAME...]
# VALGRIND=1 runs the unit tests under valgrind's memcheck (leaks are errors).
set -u
O=${O:-build}
what=${1:-all}
[ $# -gt 0 ] && shift
filter="$*"
pass=0 fail=0 skip=0 failed=""
logdir=$O/t/logs
mkdir -p "$logdir"

selected() {
	[ -z "$filter" ] && return 0
	for f in $filter; do case "$1" in *"$f"*) return 0 ;; esac; done
	return 1
}

record() { # name status seconds
	case $2 in
	0) pass=$((pass + 1)); printf 'PASS  %-36s %4ss\n' "$1" "$3" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-36s %s\n' "$1" "$(tail -n 1 "$logdir/$1.log")" ;;
	*) fail=$((fail + 1)); failed="$failed $1"
	   printf 'FAIL  %-36s %4ss (exit %s)\n' "$1" "$3" "$2"
	   sed 's/^/    | /' "$logdir/$1.log" | tail -n 40 ;;
	esac
}

run_one() { # name limit_s command...
	name=$1 limit=$2
	shift 2
	start=$(date +%s)
	timeout -k 5 "$limit" "$@" >"$logdir/$name.log" 2>&1
	rc=$?
	record "$name" "$rc" $(($(date +%s) - start))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$O"/t/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		selected "$n" || continue
		if [ "${VALGRIND:-0}" = 1 ]; then
			SM_TEST_SLOW=10 CK_FORK=no run_one "$n" 600 valgrind -q --error-exitcode=99 \
				--leak-check=full --errors-for-leak-kinds=definite,indirect "$t"
		else
			run_one "$n" 300 "$t"
		fi
	done
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
	for t in t/e2e/[0-9]*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		selected "$n" || continue
		if [ "$(id -u)" -ne 0 ]; then
			echo "needs root for network namespaces" >"$logdir/$n.log"
			record "$n" 77 0
			continue
		fi
		O=$O run_one "$n" 600 sh "$t"
	done
fi

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

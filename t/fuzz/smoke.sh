#!/bin/sh
# Short fuzz run of every target in $O/fuzz: first every kept crash input in
# t/fuzz/regress/<target>/ (each must now pass), then FUZZ_SECONDS of fuzzing
# from t/fuzz/corpus/<target>/. Any crash fails the run; its input is left in
# $O/fuzz/crash-<target>-* to be added to t/fuzz/regress/.
set -u
O=${O:-build/fuzz}
secs=${FUZZ_SECONDS:-10}
pass=0 fail=0
for f in "$O"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	ok=1
	if [ -d "t/fuzz/regress/$n" ] && [ -n "$(ls "t/fuzz/regress/$n")" ]; then
		"$f" "t/fuzz/regress/$n"/* >"$O/fuzz/$n.regress.log" 2>&1 || ok=0
	fi
	work="$O/fuzz/corpus-$n"
	mkdir -p "$work"
	[ -d "t/fuzz/corpus/$n" ] && cp -r "t/fuzz/corpus/$n"/. "$work"/ 2>/dev/null
	if [ $ok -eq 1 ]; then
		"$f" -max_total_time="$secs" -max_len=70000 -rss_limit_mb=1024 \
			-artifact_prefix="$O/fuzz/crash-$n-" "$work" \
			>"$O/fuzz/$n.log" 2>&1 || ok=0
	fi
	if [ $ok -eq 1 ]; then
		pass=$((pass + 1))
		printf 'PASS  %-36s %s\n' "$n" "$(grep -o 'Done [0-9]* runs' "$O/fuzz/$n.log" | tail -n 1)"
	else
		fail=$((fail + 1))
		printf 'FAIL  %s\n' "$n"
		tail -n 30 "$O/fuzz/$n.regress.log" "$O/fuzz/$n.log" 2>/dev/null | sed 's/^/    | /'
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

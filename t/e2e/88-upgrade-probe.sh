#!/bin/sh
# Relay -> direct retries tested out of band: both sides behind EIM NATs,
# so the classes say a punch can work, but the inet router drops UDP between
# the two NATs. The session goes to the relay; with path_retry_s = 1 the
# supernode retries three times while a TCP stream and a ping every 100 ms
# run through the relay for 16 s. Each retry is a PROBE_PATH test that
# fails: nothing is moved (no path change), the stream never stalls and at
# most a few pings are lost. Then the cut is lifted and the next test
# passes: the session moves to direct.
# PROBE_NO_RAW=1 runs the client's wgrelay without CAP_NET_RAW: the test is
# "unsupported", and the retries move the peers untested as before this
# test existed -- the stall of a failed retry, for comparison (BENCH.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft python3 ss setpriv
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done
NO_RAW=${PROBE_NO_RAW:-0}

# topo.sh's start_wgrelay, with the client's without CAP_NET_RAW if asked.
start_wgrelay() {
	_pre=
	[ "$NO_RAW" = 1 ] && [ "$1" = cli ] && _pre="setpriv --bounding-set=-net_raw"
	mkdir -p /var/run/wireguard
	rm -f "$TMP/$1.wg.sock"
	bg "$1" unshare -m sh -c "mount -t tmpfs tmpfs /var/run/wireguard &&
		exec $_pre '$BIN/wgrelay' -d -c /dev/null -l '$TMP/$1.wg.sock'"
	wait_for 10 "wgrelay in $1" test -S "$TMP/$1.wg.sock"
}
tests() { path_tests "$1" snb; }
moves() { path_moves snb; }

NAT1_MODE=eim NAT2_MODE=eim SNB_EXTRA="path_retry_s = 1"
say "both behind EIM NATs, the path between them cut: relay"
natpath_up exit2
cut_nats
wait_for 15 "exit2 classified eim" peer_nat_is "$(id_of exit2)" eim
wait_for 15 "the client classified eim" peer_nat_is "$(id_of cli)" eim
adm cli connect b >/dev/null
wait_for 20 "the client connected" cli_is connected
wait_for 15 "the session on the relay" sn_session_is relay
wait_for 10 "a ping through the relay" ping_target
moves0=$(moves)

say "16 s of TCP and pings through the relay while retries are tested"
traffic_run 16
adm snb sessions
adm snb status
grep 'event=path_test' "$TMP/snb.log" || true
echo "during the retries: tests ok=$(tests ok) failed=$(tests failed)" \
	"unsupported=$(tests unsupported); moves to direct $(( $(moves) - moves0 ));" \
	"pings lost $LOST of $SENT; longest TCP stall ${STALL} ms"
if [ "$NO_RAW" = 1 ]; then
	[ "$(tests unsupported)" -ge 1 ] || fail "the test was not reported unsupported"
	grep -q 'event=path_test_unsupported' "$TMP/snb.log" || fail "unsupported not logged"
	[ $(( $(moves) - moves0 )) -ge 1 ] || fail "no untested move after unsupported"
else
	tests_moved_nothing snb "$moves0"
fi

say "the cut is lifted: the next test passes and the session goes direct"
uncut_nats
t0=$(now_ms)
wait_for 40 "the session upgraded to direct" sn_session_is direct
t1=$(now_ms)
[ "$(cli_field path)" = direct ] || fail "client path is not direct after the upgrade"
[ "$NO_RAW" = 1 ] || [ "$(tests ok)" -ge 1 ] || fail "no passed test before the move"
adm snb status | grep -q ' path_upgrades=1 ' || fail "status does not count the upgrade"
wait_for 10 "a ping over the direct path" ping_target
echo "upgrade: $((t1 - t0)) ms after the cut was lifted"
say "pass"

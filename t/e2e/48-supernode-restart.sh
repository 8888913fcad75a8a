#!/bin/sh
# Supernode kill -9 and restart: a client tunnels directly to exit1 while a
# ping runs every 0.1 s. Supernode A (the client's) is killed with -9 and
# restarted, then supernode B (the exit's). No ping is lost, since no user
# packet passes through a supernode, and each restarted supernode lists the
# same session, active, once its peers have reconnected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3 awk
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up with exit1; client connected directly"
topo_up exit1
cli_connect b
sid=$(cli_field session)
echo "session $sid"
adm sna sessions
adm snb sessions
pinger_start

# restart HOST: kill -9 its supernoded, start it again from the same config,
# and wait until it lists the session active again.
peers_back() {
	case $1 in
	sna) adm sna status | grep -q ' clients=1 ' ;;
	snb) adm snb status | grep -q ' exits=1 ' ;;
	esac
}
same_session() { adm "$1" sessions 2>/dev/null | grep -q "session=$sid,active,"; }
restart() {
	say "kill -9 supernoded in $1 and restart it"
	kill -9 "$(pid_of "$1")"
	wait "$(pid_of "$1")" 2>/dev/null || true
	t0=$(now_ms)
	start_daemon "$1" supernoded
	wait_for 30 "$1 to list session $sid active again" same_session "$1"
	echo "$1: session listed $(($(now_ms) - t0)) ms after the restart"
	wait_for 30 "$1's peers back" peers_back "$1"
	echo "$1: peers reconnected $(($(now_ms) - t0)) ms after the restart"
	adm "$1" sessions
}
restart sna
wait_for 10 "the client's stream back up" sh -c "'$BIN/clientd' -c /dev/null -s '$TMP/cli.adm.sock' status | grep -q ' stream=up '"
restart snb
tnow=$(now_ms)
# Keep pinging past dead_after_s: a session dropped late would show here.
wait_for $((DEAD + 10)) "pings for ${DEAD}s more" reply_after $((tnow + DEAD * 1000 + 1000))
same_session sna && same_session snb || fail "a supernode dropped the session later"
pinger_stop
echo "pings: $SENT sent (one per 0.1 s), $LOST lost; longest gap $(longest_gap) ms"
[ "$LOST" -eq 0 ] || fail "$LOST pings lost while the supernodes restarted"
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field session)" = "$sid" ] && [ "$(echo "$st" | field state)" = connected ] ||
	fail "the client lost its session"
[ "$(whoami)" = "$EXIT1_IP" ] || fail "target does not see exit1 after the restarts"
say "pass"

#!/bin/sh
# Hole punching across regions: the client behind nat2 on sna (region a),
# exit2 behind nat1 on snb (region b), both supernodes with reflectors.
# sna sees the client, snb the exit and tells sna in its ExitCandidate; sna
# decides, has snb point the exit at the client's public endpoint with its
# relay beside it, and probes. Three runs, each its own topology:
#   direct (default): both NATs EIM -> direct, the relay forwards nothing;
#   edm: nat1 EDM -> no punch tried, relayed through snb within 6 s;
#   cut: both EIM, UDP between the NATs dropped -> the punch fails and sna
#        moves the exit through snb onto snb's relay, then the client; with
#        path_retry_s = 1 on sna its retries during 16 s of TCP and pings
#        are PROBE_PATH tests (the exit's side through snb) that fail:
#        nothing moves, the relay carries everything; the cut lifted, the
#        next test passes and sna moves both to direct through snb.
# The direct run starts the other two (CROSS_PHASE) after its own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft python3 ss
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

PHASE=${CROSS_PHASE:-direct}
NATPATH_CROSS=1 NAT2_MODE=eim NAT1_MODE=eim
[ "$PHASE" != edm ] || NAT1_MODE=edm
[ "$PHASE" != cut ] || SNA_EXTRA="path_retry_s = 1"
# relay_packets: what snb's relay forwarded from the client (5th field).
relay_packets() { wr snb relay list | field relay | cut -d, -f5; }

say "[$PHASE] exit2 behind $NAT1_MODE nat1 on snb, the client behind $NAT2_MODE nat2 on sna"
natpath_up exit2
[ "$PHASE" != cut ] || cut_nats
E2=$(id_of exit2) C=$(id_of cli)
wait_for 15 "exit2 classified $NAT1_MODE by snb" peer_nat_is "$E2" "$NAT1_MODE" snb
wait_for 15 "the client classified $NAT2_MODE by sna" peer_nat_is "$C" "$NAT2_MODE" sna

say "[$PHASE] connect to region b"
t0=$(now_ms)
adm cli connect b >/dev/null
case $PHASE in
direct)
	wait_for 20 "the client connected" cli_is connected
	wait_for 15 "a ping through the tunnel" ping_target
	t1=$(now_ms)
	wait_for 10 "sna judges the path direct" sn_session_is direct sna
	t2=$(now_ms)
	st=$(cli_status)
	echo "$st"
	adm sna sessions
	adm snb sessions
	[ "$(echo "$st" | field path)" = direct ] || fail "client path is not direct"
	case $(echo "$st" | field endpoint) in
	"$NAT1_IP":*) ;; *) fail "client endpoint is not exit2's public (nat1) endpoint" ;;
	esac
	adm sna sessions | grep -q ',origin,1,.*,direct' || fail "sna's session is not direct"
	adm sna status | grep -q ' path_direct=1 ' || fail "sna's status does not count it"
	adm snb sessions | grep -q ',serve,1,.*,origin' || fail "snb does not list it as the origin's"
	echo "cross-region: connect to first ping $((t1 - t0)) ms; to direct verdict $((t2 - t0)) ms"
	say "[direct] traffic flows direct: snb's relay (the fallback) forwards nothing"
	before=$(relay_packets)
	in_ns cli ping -n -q -c 20 -i 0.1 -W 1 "$TARGET" || fail "pings lost on the punched path"
	after=$(relay_packets)
	echo "relay packets from the client at snb: before=$before after=$after"
	[ -n "$before" ] || fail "no relay at snb beside the direct path"
	[ "$after" -le 2 ] || fail "snb's relay forwarded client packets"
	for ph in edm cut; do
		SMT="${SMT}${ph}" CROSS_PHASE=$ph O=$O sh "$0" || fail "the $ph run failed"
	done
	;;
edm)
	wait_for 6 "a ping through the tunnel within 6 s" ping_target
	t1=$(now_ms)
	st=$(cli_status)
	echo "$st"
	adm sna sessions
	[ "$(echo "$st" | field path)" = relay ] || fail "client path is not relay"
	case $(echo "$st" | field endpoint) in
	"$SNB_IP":*) ;; *) fail "client endpoint is not snb's relay" ;;
	esac
	adm sna status | grep -q ' punch_failed=0\( \|$\)' || fail "a punch was tried through EDM"
	echo "cross-region EDM: connect to first ping through snb's relay $((t1 - t0)) ms"
	in_ns cli ping -n -q -c 10 -i 0.1 -W 1 "$TARGET" || fail "pings lost on the relay"
	;;
cut)
	wait_for 20 "the client connected" cli_is connected
	addr=$(cli_field address)
	wait_for 15 "a ping through the tunnel" ping_target
	t1=$(now_ms)
	st=$(cli_status)
	echo "$st"
	adm sna sessions
	adm snb sessions
	[ "$(echo "$st" | field path)" = relay ] || fail "client path is not relay after the failed punch"
	[ "$(echo "$st" | field address)" = "$addr" ] || fail "tunnel address changed on fallback"
	case $(echo "$st" | field endpoint) in
	"$SNB_IP":*) ;; *) fail "client endpoint is not snb's relay" ;;
	esac
	adm sna status | grep -q ' path_fallbacks=1 punch_failed=1' || fail "sna does not count the fallback"
	grep -q 'event=serve_repoint' "$TMP/snb.log" || fail "snb did not re-point the exit"
	echo "cross-region fallback: connect to first ping through snb's relay $((t1 - t0)) ms"
	moves0=$(path_moves sna)
	say "[cut] 16 s of TCP and pings through snb's relay while sna's retries are tested"
	traffic_run 16
	adm sna status
	grep 'event=path_test\|event=serve_probe' "$TMP/sna.log" "$TMP/snb.log" || true
	echo "cross-region retries: tests ok=$(path_tests ok sna) failed=$(path_tests failed sna);" \
		"moves to direct $(($(path_moves sna) - moves0)); pings lost $LOST of $SENT;" \
		"longest TCP stall ${STALL} ms"
	tests_moved_nothing sna "$moves0"
	grep -q 'event=serve_probe ' "$TMP/snb.log" || fail "snb did not forward the exit's probe"
	[ "$(grep -c 'event=path_change .*to=relay' "$TMP/sna.log")" = 1 ] ||
		fail "moved to the relay more than once: a failed test moved the session"
	say "[cut] the cut is lifted: the next test passes, sna moves the exit through snb"
	uncut_nats
	t2=$(now_ms)
	wait_for 40 "sna upgrades the session to direct" sn_session_is direct sna
	t3=$(now_ms)
	wait_for 10 "the client on the direct path" sh -c \
		"'$BIN/clientd' -c /dev/null -s '$TMP/cli.adm.sock' status | grep -q ' path=direct '"
	[ "$(cli_field address)" = "$addr" ] || fail "tunnel address changed on the upgrade"
	adm sna status | grep -q ' path_upgrades=1 ' || fail "sna does not count the upgrade"
	[ "$(path_tests ok sna)" -ge 1 ] || fail "no passed test before the move"
	echo "cross-region upgrade: uncut to sna's direct verdict $((t3 - t2)) ms (retry backoff included)"
	in_ns cli ping -n -q -c 10 -i 0.1 -W 1 "$TARGET" || fail "pings lost after the upgrade"
	;;
esac
say "[$PHASE] pass"

#!/bin/sh
# Direct without punching: exit1 has a public endpoint (NAT class none).
# First the client is public too (class none: the reflectors see exactly its
# wg_local_endpoint), then (a second run of this script, with
# its own namespaces) behind an EIM NAT: either way it sends to exit1,
# which learns the client's endpoint from its handshake; no relay is set
# up, the path is direct from the start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/natpath.sh"
need ip ping wireguard-go unshare mount nft
for p in supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

check_direct() { # what
	adm cli connect b >/dev/null
	wait_for 20 "the client connected ($1)" cli_is connected
	wait_for 10 "a ping through the tunnel ($1)" ping_target
	st=$(cli_status)
	echo "$st"
	[ "$(echo "$st" | field path)" = direct ] || fail "$1: path is not direct"
	[ "$(echo "$st" | field endpoint)" = "$EXIT1_IP:51820" ] || fail "$1: endpoint is not exit1"
	wr snb relay list | grep -q '^ok count=0' || fail "$1: a relay was set up"
	in_ns cli ping -n -q -c 5 -i 0.1 -W 1 "$TARGET" || fail "$1: pings lost"
}

if [ "${1:-}" = natted ]; then
	say "client behind EIM nat2, exit1 public"
	NAT2_MODE=eim want=eim
else
	say "both public"
	CLI_PUBLIC=1 want=none
fi
natpath_up exit1
wait_for 15 "exit1 classified none" peer_nat_is "$(id_of exit1)" none
wait_for 15 "the client classified $want" peer_nat_is "$(id_of cli)" "$want"
adm snb peers
check_direct "${1:-public}"
[ "${1:-}" = natted ] || sh "$0" natted || fail "the NATed client's run failed"
say "pass (${1:-both public})"

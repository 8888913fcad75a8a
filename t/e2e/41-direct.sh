#!/bin/sh
# Direct path: the client in region a asks supernode A for an exit in region
# b; A finds B through basenoded, B sets up the public exit1, and the client
# tunnels straight to it. Ping and TCP (HTTP) to the target pass through the
# tunnel and the target sees exit1's address, not the client's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
need ip ping wireguard-go unshare mount nft curl python3
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	[ -x "$BIN/$p" ] || skip "$p not built in $O"
done

say "topology up: basenoded, supernodes a and b, exit1 (public), client"
topo_up exit1
[ "$(whoami)" = "$CLI_IP" ] || fail "without a tunnel the target should see the client"

say "client asks for an exit in region b"
t0=$(now_ms)
cli_connect b
t1=$(now_ms)
st=$(cli_status)
echo "$st"
[ "$(echo "$st" | field path)" = direct ] || fail "path is not direct"
[ "$(echo "$st" | field endpoint)" = "$EXIT1_IP:51820" ] || fail "endpoint is not exit1"
echo "connect to first ping through the tunnel: $((t1 - t0)) ms"

say "ping and TCP through the tunnel; the target sees exit1"
before=$(wr cli peer list smc0 | field peer | cut -d, -f5)
in_ns cli ping -n -q -c 5 -i 0.2 -W 1 "$TARGET" || fail "pings lost through the tunnel"
src=$(whoami)
echo "target saw source $src"
[ "$src" = "$EXIT1_IP" ] || fail "target saw $src, want exit1's $EXIT1_IP"
after=$(wr cli peer list smc0 | field peer | cut -d, -f5)
[ "$after" -gt $((before + 5 * 84)) ] || fail "WireGuard tx did not grow: $before -> $after"
echo "client WireGuard tx bytes: $before -> $after"
adm sna sessions | grep -q ',active,origin,1,' || fail "sna has no active direct session"
adm snb sessions | grep -q ',active,serve,1,' || fail "snb has no active serving session"
nat exit1 list | grep -q "masq=$(cli_field address | cut -d/ -f1)" ||
	fail "exit1 does not masquerade the client's address"
say "pass"

#!/bin/sh
# `make install DESTDIR=... PREFIX=...` lays out what a distro package ships:
# six binaries, their man pages (sections 5 and 8), six systemd units that
# systemd-analyze verify accepts, the sysusers file, example configs that the
# installed programs accept, the Grafana dashboard; PREFIX moves all of it,
# nothing goes to /etc, and `make uninstall` takes it all away again.
. "$(dirname "$0")/lib.sh"
need make sed
PROGS="basenoded supernoded exitpeerd clientd wgrelay natctl"
for p in $PROGS; do [ -x "$BIN/$p" ] || skip "$p not built"; done

ROOT=$TMP/root
UNITDIR=$ROOT/usr/lib/systemd/system
DOC=$ROOT/usr/share/doc/supermesh
MAN=$ROOT/usr/share/man
inst() { make -s -C "$TOP" O="$O" "$@" >"$TMP/make.log" 2>&1 || {
	cat "$TMP/make.log"; fail "make $*"; }; }

say "make install DESTDIR=$ROOT PREFIX=/usr"
inst install DESTDIR="$ROOT" PREFIX=/usr
[ ! -e "$ROOT/etc" ] || fail "install wrote to /etc"
for p in $PROGS; do
	[ -x "$ROOT/usr/sbin/$p" ] || fail "no /usr/sbin/$p"
	[ -f "$MAN/man8/$p.8" ] || fail "no man8/$p.8"
	[ -f "$MAN/man5/$p.conf.5" ] || fail "no man5/$p.conf.5"
	[ -f "$UNITDIR/$p.service" ] || fail "no unit $p.service"
	[ -f "$DOC/examples/$p.conf.example" ] || fail "no example $p.conf.example"
	grep -q "/usr/sbin/$p " "$UNITDIR/$p.service" || fail "$p.service does not run /usr/sbin/$p"
done
[ -f "$ROOT/usr/lib/sysusers.d/supermesh.conf" ] || fail "no sysusers.d/supermesh.conf"
[ -f "$DOC/grafana/supermesh.json" ] || fail "no Grafana dashboard"
[ -f "$DOC/runbook.md" ] || fail "no runbook"

say "the units: unprivileged, hardened, only the helpers hold CAP_NET_ADMIN"
for p in $PROGS; do
	u=$UNITDIR/$p.service
	for l in User=supermesh NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	    PrivateTmp=yes RuntimeDirectory=supermesh RuntimeDirectoryPreserve=yes \
	    ConfigurationDirectory=supermesh RestartPreventExitStatus=100 Restart=on-failure; do
		grep -q "^$l" "$u" || fail "$p.service lacks $l"
	done
	grep -q -- "$p -d " "$u" || fail "$p.service does not run $p in the foreground"
	case $p in
	wgrelay|natctl)
		# wgrelay also needs CAP_NET_RAW, for probes' raw sockets
		caps=CAP_NET_ADMIN
		[ "$p" = natctl ] || caps="CAP_NET_ADMIN CAP_NET_RAW"
		grep -q "^AmbientCapabilities=$caps\$" "$u" || fail "$p: not $caps"
		grep -q "^CapabilityBoundingSet=$caps\$" "$u" || fail "$p: bounding set"
		grep -q -- "-l /run/supermesh/$p.sock" "$u" || fail "$p: not serving its socket" ;;
	*)
		grep -q '^CapabilityBoundingSet=$' "$u" || fail "$p: capabilities not empty"
		grep -q "^StateDirectory=supermesh/$p$" "$u" || fail "$p: StateDirectory"
		grep -q "^ExecStart=.* -c /etc/supermesh/$p.conf" "$u" || fail "$p: config" ;;
	esac
done
grep -q '^DeviceAllow=/dev/net/tun rw' "$UNITDIR/wgrelay.service" || fail "wgrelay: no tun"
grep -q '^PrivateDevices=no' "$UNITDIR/wgrelay.service" || fail "wgrelay: PrivateDevices"
# SIGHUP reloads only where main.c handles it; elsewhere it would kill.
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$UNITDIR/basenoded.service" ||
	fail "basenoded: no ExecReload"
for p in supernoded exitpeerd clientd wgrelay natctl; do
	! grep -q '^ExecReload' "$UNITDIR/$p.service" || fail "$p: reload it does not handle"
done
for p in supernoded clientd exitpeerd; do
	grep -q '^Wants=.*wgrelay.service' "$UNITDIR/$p.service" || fail "$p: wants wgrelay"
	grep -q '^After=.*wgrelay.service' "$UNITDIR/$p.service" || fail "$p: after wgrelay"
done
grep -q '^Wants=.*natctl.service' "$UNITDIR/exitpeerd.service" || fail "exitpeerd: natctl"

say "systemd-analyze verify"
if command -v systemd-analyze >/dev/null 2>&1; then
	# --root would need sysinit.target, /bin/sh and man in the DESTDIR, so the
	# installed units are checked against this host, pointed at the DESTDIR's
	# binaries and man pages. verify exits 0 on unknown keys: any output fails.
	mkdir "$TMP/verify"
	for p in $PROGS; do
		sed "s|/usr/sbin/|$ROOT/usr/sbin/|g" "$UNITDIR/$p.service" >"$TMP/verify/$p.service"
	done
	(cd "$TMP/verify" && MANPATH=$MAN systemd-analyze verify ./*.service) \
		>"$TMP/verify.log" 2>&1 || { cat "$TMP/verify.log"; fail "verify failed"; }
	[ ! -s "$TMP/verify.log" ] || { cat "$TMP/verify.log"; fail "verify complained"; }
else
	echo "systemd-analyze not installed: units not verified (apt-get install systemd)"
fi
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --root="$ROOT" --dry-run >"$TMP/sysusers.log" 2>&1 ||
		{ cat "$TMP/sysusers.log"; fail "sysusers file rejected"; }
	grep -q supermesh "$TMP/sysusers.log" || { cat "$TMP/sysusers.log"; fail "no user made"; }
fi

say "the installed programs accept the example configs"
key=$("$ROOT/usr/sbin/basenoded" -o key_file="$TMP/k/id.key" -k) || fail "basenoded -k"
for p in $PROGS; do
	set --
	# exitpeerd's example leaves its required keys for the operator.
	[ "$p" = exitpeerd ] && set -- -o supernode=192.0.2.1:7100 -o supernode_key="$key" -o region=eu
	"$ROOT/usr/sbin/$p" -n -c "$DOC/examples/$p.conf.example" "$@" ||
		fail "$p -n rejects $p.conf.example"
done

say "man pages render without warnings"
for m in "$MAN"/man5/*.5 "$MAN"/man8/*.8; do
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -T lint -W warning "$m" || fail "mandoc lint: $m"
	fi
	w=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null) || fail "man -l $m"
	[ -z "$w" ] || fail "man -l $m: $w"
done
if command -v jq >/dev/null 2>&1; then
	jq -e '.panels | length > 0' "$DOC/grafana/supermesh.json" >/dev/null ||
		fail "dashboard is not valid JSON"
fi
# Every metric name of DESIGN section 9 has a panel.
for m in active_streams_total stream_auth_failures_total peer_heartbeat_latency_ms_bucket \
    command_latency_seconds_bucket command_success_total command_failure_total \
    wg_peers_count relay_sessions_active relay_bytes_total relay_packets_total \
    supernode_cpu_pct supernode_net_tx_mbps supernode_net_rx_mbps; do
	grep -q "$m" "$DOC/grafana/supermesh.json" || fail "dashboard lacks $m"
done
if command -v promtool >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
	# Each panel query must be valid PromQL: checked as recording rules.
	jq -r '.panels[].targets[]?.expr' "$DOC/grafana/supermesh.json" |
		sed -e 's/\$__rate_interval/5m/g' -e 's/\$job/.*/g' -e 's/\$instance/.*/g' |
		jq -R -s '{groups: [{name: "dashboard", rules: [split("\n")[] |
			select(length > 0) | {record: "supermesh:panel", expr: .}]}]}' \
		>"$TMP/rules.yml"
	promtool check rules "$TMP/rules.yml" >"$TMP/promtool.log" 2>&1 ||
		{ cat "$TMP/promtool.log"; fail "dashboard has invalid PromQL"; }
fi

say "PREFIX moves everything, units included"
inst install DESTDIR="$TMP/opt" PREFIX=/opt/sm
for p in $PROGS; do
	[ -x "$TMP/opt/opt/sm/sbin/$p" ] || fail "PREFIX=/opt/sm: no sbin/$p"
	u=$TMP/opt/opt/sm/lib/systemd/system/$p.service
	grep -q "/opt/sm/sbin/$p " "$u" || fail "PREFIX=/opt/sm: $p.service runs the wrong path"
	! grep -q /usr/sbin "$u" || fail "PREFIX=/opt/sm: $p.service still names /usr/sbin"
done
[ -f "$TMP/opt/opt/sm/share/man/man8/wgrelay.8" ] || fail "PREFIX=/opt/sm: man pages"
[ -f "$TMP/opt/opt/sm/lib/sysusers.d/supermesh.conf" ] || fail "PREFIX=/opt/sm: sysusers"

say "make uninstall leaves nothing"
inst uninstall DESTDIR="$ROOT" PREFIX=/usr
left=$(find "$ROOT" -type f)
[ -z "$left" ] || fail "uninstall left: $left"
[ ! -e "$DOC" ] || fail "uninstall left $DOC"
say "ok"

/* clientd: flags, config, identity, the loop and its signals. The work is
 * in core.c (stream, interface), exit.c, commands.c, session.c and admin.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "clientd.h"
#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "httpd.h"
#include "keys.h"
#include "line_client.h"
#include "log.h"

#define DEFAULT_CONF "/etc/supermesh/clientd.conf"
#define CLIENT_TIMEOUT_MS 5000

static const struct config_key cd_keys[] = {
	{ "supernode", CFG_ADDR, NULL, 0, 0, "supernode control address, numeric IP:port" },
	{ "supernode_key", CFG_STR, NULL, 0, 0, "the supernode's Ed25519 key (base64), pinned" },
	{ "insecure_no_pin", CFG_BOOL, "no", 0, 0, "accept any supernode key (tests only)" },
	{ "region", CFG_STR, "", 0, 0, "this client's own region, sent at auth" },
	{ "key_file", CFG_PATH, "/var/lib/supermesh/clientd/identity.key", 0, 0,
	  "Ed25519 identity, created 0600 on first start" },
	{ "state_dir", CFG_PATH, "/var/lib/supermesh/clientd", 0, 0,
	  "holds clientd.db (session, command journal)" },
	{ "wgrelay_socket", CFG_PATH, "/run/supermesh/wgrelay.sock", 0, 0, "wgrelay's socket" },
	{ "admin_socket", CFG_PATH, "/run/supermesh/clientd.sock", 0, 0, "admin UNIX socket" },
	{ "admin_mode", CFG_STR, "0660", 0, 0, "admin socket permissions (octal)" },
	{ "api_socket", CFG_PATH, "/run/supermesh/clientd.api", 0, 0,
	  "HTTP/JSON API UNIX socket (empty: none); `clientd ctl` talks to it" },
	{ "api_mode", CFG_STR, "0660", 0, 0, "API socket permissions (octal)" },
	{ "api_listen", CFG_STR, "", 0, 0, "also serve the API on loopback IP:port (empty: no)" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9473", 0, 0,
	  "Prometheus /metrics on IP:port (empty: off)" },
	{ "wg_iface", CFG_STR, "smc0", 0, 0, "WireGuard interface (made by wgrelay)" },
	{ "wg_port", CFG_INT, "0", 0, 65535, "WireGuard listen port (0: random)" },
	{ "full_tunnel", CFG_BOOL, "yes", 0, 0, "route everything through the exit" },
	{ "allowed_ips", CFG_STR, NULL, 0, 0,
	  "CIDRs into the tunnel (default 0.0.0.0/0 full, else the exit's)" },
	{ "table", CFG_INT, "51820", 1, 4294967295L, "routing table of the full tunnel" },
	{ "fwmark", CFG_INT, "51820", 1, 4294967295L, "firewall mark of WireGuard's packets" },
	{ "rule_priority", CFG_INT, "100", 2, 4294967294L, "priority P of the rules (P-1..P+1)" },
	{ "connect_region", CFG_STR, "", 0, 0, "connect to this region at start (empty: wait)" },
	{ "heartbeat_s", CFG_INT, "10", 1, 3600, "Ping interval on the stream" },
	{ "dead_after_s", CFG_INT, "30", 1, 86400, "silence before the stream is dead" },
	{ "exit_timeout_s", CFG_INT, "30", 1, 3600, "wait for an ExitResponse before retrying" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

/* What the loop needs beyond the core. */
static struct clientd *core;
enum { NSIGS = 2 };
static const int signums[NSIGS] = { SIGTERM, SIGINT };
static uv_signal_t sigs[NSIGS];

/* how: DAEMON_USAGE_SHORT (to stderr) or DAEMON_USAGE_FULL (to stdout). */
static void usage(int how)
{
	FILE *f = how == DAEMON_USAGE_FULL ? stdout : stderr;

	fprintf(f, "usage: clientd [-dnv] [-c file] [-o key=value]\n"
	           "       clientd [-c file] [-o key=value] -k\n"
	           "       clientd [-c file] [-o key=value] -s path|- verb [word ...]\n"
	           "       clientd [-c file] [-o key=value] ctl connect REGION|disconnect|"
	           "status [--json]|health [--json]|exits [--json]\n");
	if (how != DAEMON_USAGE_FULL)
		return;
	fprintf(f, "  -d foreground  -n check config  -v verbose  -k print public key\n"
	           "  -s send one admin request (-: the configured admin_socket)\n"
	           "admin verbs:\n");
	verb_print_usage(clientd_admin_verbs, f);
	fprintf(f, "config keys:\n");
	for (const struct config_key *k = cd_keys; k->name; k++)
		fprintf(f, "  %-16s %s (default %s)\n", k->name, k->help, k->def ? k->def : "unset");
}

/* The API drives the tunnel: over TCP only from this host. */
static int loopback_listen(const char *text)
{
	if (!text || !text[0])
		return 1;
	if (httpd_check_listen(text) < 0)
		return 0;
	return !strncmp(text, "127.", 4) || !strncmp(text, "[::1]:", 6);
}

static char state_path[CONFIG_VALUE_MAX + 16];
static uint8_t sn_key[32];

/* The config into the core's options; a line on stderr when it is wrong. */
static int settings(const struct config *c, struct clientd_opts *o)
{
	const char *key = config_get(c, "supernode_key");
	int lvl = log_level_parse(config_get(c, "log_level"));

	memset(o, 0, sizeof(*o));
	if (lvl < 0) {
		fprintf(stderr, "clientd: log_level must be error, warn, info or debug\n");
		return -EINVAL;
	}
	log_set_level((enum log_level)lvl);
	if (!config_get(c, "supernode")) {
		fprintf(stderr, "clientd: supernode is required\n");
		return -EINVAL;
	}
	if (key && key_from_base64(key, sn_key) == 0)
		o->supernode_key = sn_key;
	else if (key || !config_get_bool(c, "insecure_no_pin")) {
		fprintf(stderr, "clientd: supernode_key (base64 Ed25519 key) is required "
		                "unless insecure_no_pin = yes\n");
		return -EINVAL;
	}
	/* mode_t is unsigned int on Linux: the fields take it as is. */
	if (daemon_parse_mode(config_get(c, "admin_mode"), &o->admin_mode) < 0 ||
	    daemon_parse_mode(config_get(c, "api_mode"), &o->api_mode) < 0) {
		fprintf(stderr, "clientd: admin_mode and api_mode must be octal, e.g. 0660\n");
		return -EINVAL;
	}
	if (httpd_check_listen(config_get(c, "metrics_listen")) < 0) {
		fprintf(stderr, "clientd: metrics_listen must be a numeric IP:port or empty\n");
		return -EINVAL;
	}
	if (!loopback_listen(config_get(c, "api_listen"))) {
		fprintf(stderr, "clientd: api_listen must be a loopback IP:port "
		                "(127.x.x.x or [::1]) or empty\n");
		return -EINVAL;
	}
	snprintf(state_path, sizeof(state_path), "%s/clientd.db", config_get(c, "state_dir"));
	o->supernode = config_get(c, "supernode");
	o->region = config_get(c, "region");
	o->state_path = state_path;
	o->wgrelay_socket = config_get(c, "wgrelay_socket");
	o->admin_socket = config_get(c, "admin_socket");
	o->api_socket = config_get(c, "api_socket");
	o->api_listen = config_get(c, "api_listen");
	o->metrics_listen = config_get(c, "metrics_listen");
	o->wg_iface = config_get(c, "wg_iface");
	o->wg_port = (unsigned)config_get_int(c, "wg_port");
	o->full_tunnel = config_get_bool(c, "full_tunnel");
	o->allowed_ips = config_get(c, "allowed_ips");
	o->table = (uint32_t)config_get_int(c, "table");
	o->fwmark = (uint32_t)config_get_int(c, "fwmark");
	o->rule_priority = (uint32_t)config_get_int(c, "rule_priority");
	o->connect_region = config_get(c, "connect_region");
	o->heartbeat_ms = (uint32_t)config_get_int(c, "heartbeat_s") * 1000;
	o->dead_ms = (uint32_t)config_get_int(c, "dead_after_s") * 1000;
	o->exit_timeout_ms = (uint32_t)config_get_int(c, "exit_timeout_s") * 1000;
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("event=stopping signal=%d", signum);
	clientd_free(core);
	core = NULL;
	uv_close((uv_handle_t *)&sigs[0], on_handle_closed);
	uv_close((uv_handle_t *)&sigs[1], on_handle_closed);
}

/* State, sockets and the stream, then the loop until SIGTERM or SIGINT. */
static int run(struct clientd_opts *o, const struct daemon_flags *f, const char *key_file)
{
	struct identity id;
	uv_loop_t loop;
	char err[512];
	int rc, ret;

	if ((ret = daemon_identity(&id, key_file, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		return ret;
	}
	ret = EXIT_TEMP;
	o->id = &id;
	if (uv_loop_init(&loop) < 0)
		goto out_id;
	daemon_mkdir_parent(o->state_path);
	if (o->admin_socket)
		daemon_mkdir_parent(o->admin_socket);
	if (o->api_socket && o->api_socket[0])
		daemon_mkdir_parent(o->api_socket);
	if ((rc = clientd_new(&loop, o, &core, err, sizeof(err))) < 0) {
		log_errorx("event=start_failed err=\"%s\"", err);
		ret = rc == -EINVAL ? EXIT_USAGE : EXIT_TEMP;
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	daemon_signals(&loop, sigs, signums, NSIGS, on_signal);
	if (!f->foreground && (rc = daemon_detach(&loop)) < 0) {
		log_errorx("event=daemon_failed err=\"%s\"", strerror(-rc));
		on_signal(&sigs[0], SIGTERM);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	log_info("event=started supernode=%s region=%s iface=%s full_tunnel=%d", o->supernode,
	         o->region, o->wg_iface, o->full_tunnel);
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("event=stopped");
	ret = 0;
out_loop:
	if (uv_loop_close(&loop) != 0)
		log_warnx("event=loop_not_empty");
out_id:
	identity_release(&id);
	return ret;
}

static const struct daemon_spec spec = {
	.default_conf = DEFAULT_CONF, .keys = cd_keys, .verb = "ctl",
};

int main(int argc, char **argv)
{
	struct daemon_flags f;
	struct clientd_opts o;
	struct config c;
	char err[LINE_MAX_LEN + 1];
	int ret;

	log_init("clientd", LOG_LVL_INFO);
	/* `clientd [flags] ctl ...`: words without -s (spec.verb). */
	if ((ret = daemon_setup(argc, argv, &spec, &f, &c, err, sizeof(err))) != DAEMON_GO) {
		if (err[0])
			fprintf(stderr, "clientd: %s\n", err);
		if (f.usage)
			usage(f.usage);
		return ret;
	}
	ret = EXIT_USAGE;
	if (!f.client && f.nwords > 0) {
		ret = ctl_main(config_get(&c, "api_socket"), f.nwords - 1, f.words + 1, stdout,
		               stderr);
		goto out;
	}
	if (f.client || f.print_key) {
		ret = daemon_oneshot("clientd", &f, &c, CLIENT_TIMEOUT_MS, err, sizeof(err));
		fprintf(ret ? stderr : stdout, "%s\n", err);
		goto out;
	}
	if (settings(&c, &o) < 0)
		goto out;
	if (clientd_check_opts(&o, err, sizeof(err)) < 0) {
		fprintf(stderr, "clientd: %s\n", err);
		goto out;
	}
	if (f.verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (f.check) {
		if (f.verbose)
			config_dump(&c, stdout);
		ret = 0;
		goto out;
	}
	ret = run(&o, &f, config_get(&c, "key_file"));
out:
	config_release(&c);
	return ret;
}

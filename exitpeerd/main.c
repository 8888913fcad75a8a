/* exitpeerd: flags, config, identity, the loop and its signals. The exit's
 * work is in core.c (startup, stream), commands.c and ops.c, admin.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "admin.h"
#include "daemon.h"
#include "httpd.h"
#include "exitpeerd.h"
#include "line_client.h"
#include "log.h"

#define PROG "exitpeerd"
#define DEFAULT_CONF "/etc/supermesh/exitpeerd.conf"
#define CLIENT_TIMEOUT_MS 5000
#define REGION_MAX 63
#define IFACE_MAX 15

static const struct config_key ep_keys[] = {
	{ "supernode", CFG_ADDR, NULL, 0, 0, "supernode control port (IP:port), required" },
	{ "supernode_key", CFG_STR, NULL, 0, 0, "the supernode's Ed25519 key (base64), pinned" },
	{ "insecure_no_pin", CFG_BOOL, "no", 0, 0, "accept any supernode key (tests only)" },
	{ "region", CFG_STR, NULL, 0, 0, "region this exit serves, required" },
	{ "key_file", CFG_PATH, "/var/lib/supermesh/exitpeerd/identity.key", 0, 0,
	  "Ed25519 identity, created 0600 on first start" },
	{ "state_dir", CFG_PATH, "/var/lib/supermesh/exitpeerd", 0, 0,
	  "holds exitpeerd.db (sessions, applied commands)" },
	{ "wgrelay_socket", CFG_PATH, "/run/supermesh/wgrelay.sock", 0, 0, "wgrelay's socket" },
	{ "natctl_socket", CFG_PATH, "/run/supermesh/natctl.sock", 0, 0, "natctl's socket" },
	{ "admin_socket", CFG_PATH, "/run/supermesh/exitpeerd.sock", 0, 0, "admin UNIX socket" },
	{ "admin_mode", CFG_STR, "0660", 0, 0, "admin socket permissions (octal)" },
	{ "wg_iface", CFG_STR, "smexit0", 0, 0, "WireGuard interface clients connect to" },
	{ "wg_port", CFG_INT, "51820", 1, 65535, "its UDP listen port" },
	{ "pool", CFG_STR, "10.200.0.0/24", 0, 0,
	  "client address pool (IPv4 CIDR /23../30); the exit takes the first address" },
	{ "public_endpoint", CFG_STR, "", 0, 0,
	  "IP:port clients can reach the exit on; empty: behind NAT" },
	{ "dns", CFG_STR, "", 0, 0, "DNS servers for clients (comma-separated IPs)" },
	{ "keepalive_s", CFG_INT, "25", 0, 65535, "keepalive towards a client endpoint" },
	{ "heartbeat_s", CFG_INT, "10", 1, 3600, "Ping and load report interval" },
	{ "dead_after_s", CFG_INT, "30", 1, 86400, "silence before the stream is dead" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9472", 0, 0,
	  "Prometheus /metrics on IP:port (empty: off)" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

/* Checked config, and the buffers the exitpeer_conf points into. */
struct settings {
	struct exitpeer_conf ec;
	uint8_t supernode_key[ID_PK_LEN];
	const char *key_file, *state_dir, *metrics_listen;
	char state_path[CONFIG_VALUE_MAX + 32];
	int log_level;
};

static struct identity ident;
static struct exitpeer *ep;
enum { NSIGS = 2 };
static const int signums[NSIGS] = { SIGTERM, SIGINT };
static uv_signal_t sigs[NSIGS];

/* how: DAEMON_USAGE_SHORT (to stderr) or DAEMON_USAGE_FULL (to stdout). */
static void usage(int how)
{
	FILE *f = how == DAEMON_USAGE_FULL ? stdout : stderr;

	fprintf(f, "usage: " PROG " [-dnv] [-c file] [-o key=value]\n"
	           "       " PROG " [-c file] [-o key=value] -k\n"
	           "       " PROG " [-c file] [-o key=value] -s path|- verb [word ...]\n");
	if (how != DAEMON_USAGE_FULL)
		return;
	fprintf(f, "  -d foreground  -n check config  -v verbose  -k print public key\n"
	           "  -s send one admin request (-: the configured admin_socket)\n"
	           "admin verbs:\n");
	verb_print_usage(exitpeer_admin_verbs, f);
	fprintf(f, "config keys:\n");
	for (const struct config_key *k = ep_keys; k->name; k++)
		fprintf(f, "  %-16s %s (default %s)\n", k->name, k->help,
		        k->def ? (k->def[0] ? k->def : "empty") : "unset");
}

static int bad(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	return -EINVAL;
}

static int check_text(const char *s, size_t max, const char *extra)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		                  (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])))
			return -EINVAL;
	return i > 0 ? 0 : -EINVAL;
}

/* "" or comma-separated IPv4/IPv6 addresses. */
static int check_dns(const char *s)
{
	char buf[CONFIG_VALUE_MAX + 1], *tok, *save = NULL;
	unsigned char a[16];

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (inet_pton(AF_INET, tok, a) != 1 && inet_pton(AF_INET6, tok, a) != 1)
			return -EINVAL;
	return 0;
}

static int check_supernode(const struct config *c, struct settings *s)
{
	const char *key = config_get(c, "supernode_key");

	s->ec.supernode_text = config_get(c, "supernode");
	if (!s->ec.supernode_text || daemon_parse_sockaddr(s->ec.supernode_text,
	                                                   &s->ec.supernode) < 0)
		return bad("supernode must be set to IP:port or [IPv6]:port");
	if (key && key[0]) {
		if (key_from_base64(key, s->supernode_key) < 0)
			return bad("supernode_key must be a base64 Ed25519 key");
		s->ec.supernode_key = s->supernode_key;
	} else if (!config_get_bool(c, "insecure_no_pin")) {
		return bad("supernode_key is required (or insecure_no_pin = yes, tests only)");
	}
	return 0;
}

static int check_exit(const struct config *c, struct settings *s)
{
	struct sockaddr_storage ss;
	struct exit_pool pool;
	const char *pe = config_get(c, "public_endpoint");

	s->ec.region = config_get(c, "region");
	if (!s->ec.region || check_text(s->ec.region, REGION_MAX, "-_.") < 0)
		return bad("region must be set: 1-63 of a-z A-Z 0-9 - _ .");
	s->ec.wg_iface = config_get(c, "wg_iface");
	if (check_text(s->ec.wg_iface, IFACE_MAX, "-_.") < 0)
		return bad("wg_iface must be 1-15 of a-z A-Z 0-9 - _ .");
	s->ec.pool = config_get(c, "pool");
	if (exit_pool_init(&pool, s->ec.pool) < 0)
		return bad("pool must be an IPv4 CIDR /23 to /30 without host bits");
	exit_pool_release(&pool);
	s->ec.public_endpoint = pe ? pe : "";
	if (pe && pe[0] && (strlen(pe) >= ENDPOINT_MAX || daemon_parse_sockaddr(pe, &ss) < 0))
		return bad("public_endpoint must be empty or IP:port");
	if (check_dns(config_get(c, "dns") ? config_get(c, "dns") : "") < 0)
		return bad("dns must be comma-separated IP addresses");
	return 0;
}

static int settings_check(const struct config *c, struct settings *s)
{
	memset(s, 0, sizeof(*s));
	if (check_supernode(c, s) < 0 || check_exit(c, s) < 0)
		return -EINVAL;
	if ((s->log_level = log_level_parse(config_get(c, "log_level"))) < 0)
		return bad("log_level must be error, warn, info or debug");
	if (daemon_parse_mode(config_get(c, "admin_mode"), &s->ec.admin_mode) < 0)
		return bad("admin_mode must be octal, e.g. 0660");
	s->metrics_listen = config_get(c, "metrics_listen");
	if (httpd_check_listen(s->metrics_listen) < 0)
		return bad("metrics_listen must be a numeric IP:port or empty");
	s->key_file = config_get(c, "key_file");
	s->state_dir = config_get(c, "state_dir");
	snprintf(s->state_path, sizeof(s->state_path), "%s/" PROG ".db", s->state_dir);
	s->ec.state_path = s->state_path;
	s->ec.wgrelay_socket = config_get(c, "wgrelay_socket");
	s->ec.natctl_socket = config_get(c, "natctl_socket");
	s->ec.admin_socket = config_get(c, "admin_socket");
	s->ec.wg_port = (uint16_t)config_get_int(c, "wg_port");
	s->ec.keepalive_s = (uint32_t)config_get_int(c, "keepalive_s");
	s->ec.heartbeat_s = (uint32_t)config_get_int(c, "heartbeat_s");
	s->ec.dead_after_s = (uint32_t)config_get_int(c, "dead_after_s");
	s->ec.id = &ident;
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("event=stopping signal=%d sessions=%zu", signum, ep ? ep->nsessions : 0);
	exitpeer_stop(ep);
	uv_close((uv_handle_t *)&sigs[0], NULL);
	uv_close((uv_handle_t *)&sigs[1], NULL);
}

static int start(uv_loop_t *loop, struct settings *s)
{
	char err[512];
	int rc;

	if ((rc = daemon_mkdir_parent(s->state_path)) < 0) {
		log_errorx("event=state_failed path=%s err=\"%s\"", s->state_dir, strerror(-rc));
		return rc;
	}
	daemon_mkdir_parent(s->ec.admin_socket);
	if ((rc = exitpeer_new(loop, &s->ec, &ep, err, sizeof(err))) < 0) {
		log_errorx("event=start_failed err=\"%s\"", err);
		return rc;
	}
	if ((rc = exitpeer_metrics_start(ep, s->metrics_listen)) < 0) {
		log_errorx("event=metrics_failed listen=%s err=\"%s\"", s->metrics_listen,
		           strerror(-rc));
		exitpeer_stop(ep);
		uv_run(loop, UV_RUN_DEFAULT);
		return rc;
	}
	daemon_signals(loop, sigs, signums, NSIGS, on_signal);
	return 0;
}

/* Identity, state, sockets, then the loop until SIGTERM or SIGINT. */
static int run(struct settings *s, const struct daemon_flags *f)
{
	char err[CONFIG_VALUE_MAX + 128];
	uv_loop_t loop;
	int rc, ret;

	if ((ret = daemon_identity(&ident, s->key_file, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		return ret;
	}
	ret = EXIT_TEMP;
	if (uv_loop_init(&loop) < 0)
		goto out_id;
	if ((rc = start(&loop, s)) < 0) {
		ret = rc == -EINVAL ? EXIT_USAGE : EXIT_TEMP;
		goto out_loop;
	}
	if (!f->foreground && (rc = daemon_detach(&loop)) < 0) {
		log_errorx("event=daemon_failed err=\"%s\"", strerror(-rc));
		on_signal(&sigs[0], SIGTERM);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("event=stopped");
	ret = 0;
out_loop:
	exitpeer_free(ep);
	ep = NULL;
	if (uv_loop_close(&loop) != 0)
		log_warnx("event=loop_not_empty");
out_id:
	identity_release(&ident);
	return ret;
}

static const struct daemon_spec spec = { .default_conf = DEFAULT_CONF, .keys = ep_keys };

int main(int argc, char **argv)
{
	struct daemon_flags f;
	struct settings s;
	struct config c;
	char err[LINE_MAX_LEN + 1];
	int ret;

	log_init(PROG, LOG_LVL_INFO);
	if ((ret = daemon_setup(argc, argv, &spec, &f, &c, err, sizeof(err))) != DAEMON_GO) {
		if (err[0])
			fprintf(stderr, PROG ": %s\n", err);
		if (f.usage)
			usage(f.usage);
		return ret;
	}
	ret = EXIT_USAGE;
	/* -s and -k only need their one path, not a complete exit config. */
	if (f.client || (f.print_key && !f.check)) {
		ret = daemon_oneshot(PROG, &f, &c, CLIENT_TIMEOUT_MS, err, sizeof(err));
		fprintf(ret ? stderr : stdout, "%s\n", err);
		goto out;
	}
	if (settings_check(&c, &s) < 0)
		goto out;
	log_set_level(f.verbose ? LOG_LVL_DEBUG : (enum log_level)s.log_level);
	if (f.check) {
		if (f.verbose)
			config_dump(&c, stdout);
		ret = 0;
	} else {
		ret = run(&s, &f);
	}
out:
	config_release(&c);
	return ret;
}

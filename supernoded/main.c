/* supernoded: flags, config, identity, state, admin socket, the loop and its
 * signals. The daemon's work is in core.c and the modules it starts. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <arpa/inet.h>
#include "admin.h"
#include "check.h"
#include "config.h"
#include "daemon.h"
#include "keys.h"
#include "line_client.h"
#include "line_server.h"
#include "log.h"
#include "supernoded.h"

#define DEFAULT_CONF "/etc/supermesh/supernoded.conf"
#define CLIENT_TIMEOUT_MS 5000

static const struct config_key sn_keys[] = {
	{ "listen", CFG_ADDR, "0.0.0.0:7100", 0, 0, "control port for peers (IP:port)" },
	{ "region", CFG_STR, "default", 0, 0, "region this supernode serves" },
	{ "key_file", CFG_PATH, "/var/lib/supermesh/supernoded/identity.key", 0, 0,
	  "Ed25519 identity, created 0600 on first start" },
	{ "state_dir", CFG_PATH, "/var/lib/supermesh/supernoded", 0, 0,
	  "holds supernoded.db (sessions, revocations, applied commands)" },
	{ "admin_socket", CFG_PATH, "/run/supermesh/supernoded.sock", 0, 0, "admin UNIX socket" },
	{ "basenoded", CFG_STR, NULL, 0, 0, "basenoded addresses, IP:port, comma-separated" },
	{ "basenoded_keys", CFG_STR, NULL, 0, 0, "their keys (base64), same order" },
	{ "public_address", CFG_STR, "127.0.0.1:7100", 0, 0,
	  "host:port other supernodes reach our listen port on" },
	{ "relay_host", CFG_STR, "127.0.0.1", 0, 0, "address clients and exits reach relays on" },
	{ "wgrelay_socket", CFG_PATH, "/run/supermesh/wgrelay.sock", 0, 0, "wgrelay's socket" },
	{ "admission", CFG_STR, "open", 0, 0, "open or allowlist" },
	{ "allow_file", CFG_PATH, NULL, 0, 0, "allowed peer keys, one per line (allowlist)" },
	{ "max_handshakes_per_ip", CFG_INT, "16", 0, 1000000,
	  "unauthenticated connections one IP may hold (0: no limit)" },
	{ "max_streams", CFG_INT, "4096", 1, 1000000, "streams accepted; more are told busy" },
	{ "auth_rate", CFG_INT, "20", 0, 1000000, "auth attempts per second per IP (0: no limit)" },
	{ "auth_burst", CFG_INT, "40", 1, 1000000, "auth attempts one IP may burst" },
	{ "max_msgs_per_s", CFG_INT, "100", 0, 1000000,
	  "messages a second one stream may send, burst twice that (0: no limit)" },
	{ "max_msgs_per_s_supernode", CFG_INT, "2000", 0, 1000000,
	  "the same for another supernode's stream, which carries many clients' requests" },
	{ "heartbeat_s", CFG_INT, "10", 1, 3600, "Ping interval asked of peers" },
	{ "dead_after_s", CFG_INT, "30", 1, 86400, "silence before a stream is dropped" },
	{ "force_relay", CFG_BOOL, "no", 0, 0, "relay every session, even to public exits" },
	{ "relay_chain", CFG_BOOL, "no", 0, 0, "clients use our relay for remote exits too" },
	{ "client_allowed_ips", CFG_STR, "0.0.0.0/0", 0, 0, "CIDRs clients route to the exit" },
	{ "dns", CFG_STR, NULL, 0, 0, "DNS servers given to clients, comma-separated" },
	{ "keepalive_s", CFG_INT, "25", 0, 3600, "WireGuard persistent keepalive" },
	{ "reflector_port", CFG_INT, "0", 0, 65534,
	  "UDP port of the first endpoint reflector (the second is the next); 0: off" },
	{ "path_retry_s", CFG_INT, "60", 1, 3600,
	  "first retry of a direct path from the relay (doubles to 1 h)" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9471", 0, 0,
	  "Prometheus /metrics on IP:port (empty: off)" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

static struct supernoded *core;
static struct line_server *admin_srv;
static const int signums[2] = { SIGTERM, SIGINT };
static uv_signal_t sigs[2];

/* how: DAEMON_USAGE_SHORT (to stderr) or DAEMON_USAGE_FULL (to stdout). */
static void usage(int how)
{
	FILE *f = how == DAEMON_USAGE_FULL ? stdout : stderr;

	fprintf(f, "usage: supernoded [-dnv] [-c file] [-o key=value]\n"
	           "       supernoded [-c file] [-o key=value] -k\n"
	           "       supernoded [-c file] [-o key=value] -s path|- verb [word ...]\n"
	           "  -d foreground  -n check config  -v verbose  -k print public key\n"
	           "  -s send one admin request (-: the configured admin_socket)\n"
	           "admin verbs:\n");
	verb_print_usage(admin_verbs, f);
	fprintf(f, "config keys:\n");
	for (const struct config_key *k = sn_keys; k->name; k++)
		fprintf(f, "  %-18s %s (default %s)\n", k->name, k->help, k->def ? k->def : "unset");
}

static int copy_str(char *dst, size_t size, const char *src, const char *key)
{
	if (snprintf(dst, size, "%s", src ? src : "") < (int)size)
		return 0;
	fprintf(stderr, "supernoded: %s is too long\n", key);
	return -EINVAL;
}

/* basenoded and basenoded_keys, pairwise. */
static int settings_basenoded(const struct config *c, struct sn_settings *s)
{
	char addrs[SN_MAX_LIST][SN_LIST_ITEM], keys[SN_MAX_LIST][SN_LIST_ITEM];
	size_t na = 0, nk = 0, i;
	const char *a = config_get(c, "basenoded"), *k = config_get(c, "basenoded_keys");

	if ((a && sn_split_list(a, addrs, SN_MAX_LIST, &na) < 0) ||
	    (k && sn_split_list(k, keys, SN_MAX_LIST, &nk) < 0) || na != nk) {
		fprintf(stderr, "supernoded: basenoded and basenoded_keys must be lists "
		                "of the same length\n");
		return -EINVAL;
	}
	for (i = 0; i < na; i++) {
		if (daemon_parse_sockaddr(addrs[i], &s->bn_addr[i]) < 0 ||
		    key_from_base64(keys[i], s->bn_key[i]) < 0) {
			fprintf(stderr, "supernoded: bad basenoded entry %s\n", addrs[i]);
			return -EINVAL;
		}
	}
	s->nbn = na;
	return 0;
}

static int settings_lists(const struct config *c, struct sn_settings *s)
{
	const char *adm = config_get(c, "admission"), *dns = config_get(c, "dns");

	if (sn_split_list(config_get(c, "client_allowed_ips"), s->allowed_ips, SN_MAX_LIST,
	                  &s->nallowed_ips) < 0 ||
	    (dns && sn_split_list(dns, s->dns, SN_MAX_LIST, &s->ndns) < 0)) {
		fprintf(stderr, "supernoded: client_allowed_ips or dns: too many or too long\n");
		return -EINVAL;
	}
	if (strcmp(adm, "open") && strcmp(adm, "allowlist")) {
		fprintf(stderr, "supernoded: admission must be open or allowlist\n");
		return -EINVAL;
	}
	s->allowlist = !strcmp(adm, "allowlist");
	if (s->allowlist && !config_get(c, "allow_file")) {
		fprintf(stderr, "supernoded: admission = allowlist needs allow_file\n");
		return -EINVAL;
	}
	return settings_basenoded(c, s);
}

static int settings_from(const struct config *c, struct sn_settings *s)
{
	struct in6_addr v6;

	sn_settings_default(s);
	if (daemon_parse_sockaddr(config_get(c, "listen"), &s->listen) < 0) {
		fprintf(stderr, "supernoded: listen must be an IP address and port\n");
		return -EINVAL;
	}
	if (copy_str(s->region, sizeof(s->region), config_get(c, "region"), "region") < 0 ||
	    copy_str(s->public_address, sizeof(s->public_address),
	             config_get(c, "public_address"), "public_address") < 0 ||
	    copy_str(s->relay_host, sizeof(s->relay_host), config_get(c, "relay_host"),
	             "relay_host") < 0 ||
	    copy_str(s->wgrelay_socket, sizeof(s->wgrelay_socket),
	             config_get(c, "wgrelay_socket"), "wgrelay_socket") < 0 ||
	    copy_str(s->allow_file, sizeof(s->allow_file), config_get(c, "allow_file"),
	             "allow_file") < 0)
		return -EINVAL;
	if (!check_region(s->region, 0) || !check_hostport(s->public_address) ||
	    (inet_pton(AF_INET, s->relay_host, &v6) != 1 &&
	     inet_pton(AF_INET6, s->relay_host, &v6) != 1)) {
		fprintf(stderr, "supernoded: region must be [A-Za-z0-9._-], public_address "
		                "host:port, relay_host a numeric IP address\n");
		return -EINVAL;
	}
	s->max_streams = (size_t)config_get_int(c, "max_streams");
	s->max_handshakes_per_ip = (unsigned)config_get_int(c, "max_handshakes_per_ip");
	s->auth_rate = (double)config_get_int(c, "auth_rate");
	s->auth_burst = (double)config_get_int(c, "auth_burst");
	s->max_msgs_per_s = (uint32_t)config_get_int(c, "max_msgs_per_s");
	s->max_msgs_per_s_supernode = (uint32_t)config_get_int(c, "max_msgs_per_s_supernode");
	s->heartbeat_s = (uint32_t)config_get_int(c, "heartbeat_s");
	s->dead_after_s = (uint32_t)config_get_int(c, "dead_after_s");
	s->keepalive_s = (uint32_t)config_get_int(c, "keepalive_s");
	s->force_relay = config_get_bool(c, "force_relay");
	s->reflector_port = (uint16_t)config_get_int(c, "reflector_port");
	s->path_retry_s = (uint32_t)config_get_int(c, "path_retry_s");
	s->relay_chain = config_get_bool(c, "relay_chain");
	if (log_level_parse(config_get(c, "log_level")) < 0) {
		fprintf(stderr, "supernoded: log_level must be error, warn, info or debug\n");
		return -EINVAL;
	}
	if (httpd_check_listen(config_get(c, "metrics_listen")) < 0) {
		fprintf(stderr, "supernoded: metrics_listen must be a numeric IP:port or empty\n");
		return -EINVAL;
	}
	return settings_lists(c, s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("event=stopping signal=%d", signum);
	sn_core_stop(core);
	sn_metrics_stop(core);
	line_server_free(admin_srv);
	admin_srv = NULL;
	uv_close((uv_handle_t *)&sigs[0], NULL);
	uv_close((uv_handle_t *)&sigs[1], NULL);
}

static int start(uv_loop_t *loop, const struct config *c, const struct sn_settings *s,
                 const struct identity *id)
{
	struct line_server_opts lo = {
		.path = config_get(c, "admin_socket"), .mode = 0660,
		.allow_uid = getuid(), .allow_gid = (gid_t)-1,
	};
	char db[CONFIG_VALUE_MAX + 32], err[512];
	int rc;

	snprintf(db, sizeof(db), "%s/supernoded.db", config_get(c, "state_dir"));
	if ((rc = daemon_mkdir_parent(db)) < 0 ||
	    (rc = sn_core_new(loop, s, id, db, &core, err, sizeof(err))) < 0) {
		log_errorx("event=start_failed err=\"%s\"", rc == -ENOTDIR ? "state_dir" : err);
		return rc;
	}
	if ((rc = sn_metrics_start(core, config_get(c, "metrics_listen"))) < 0) {
		log_errorx("event=metrics_failed listen=%s err=\"%s\"",
		           config_get(c, "metrics_listen"), strerror(-rc));
		sn_core_stop(core);
		sn_metrics_stop(core);
		return rc;
	}
	daemon_mkdir_parent(lo.path);
	if ((rc = line_server_new(loop, &lo, admin_verbs, core, &admin_srv)) < 0) {
		log_errorx("event=admin_failed path=%s err=\"%s\"", lo.path, strerror(-rc));
		sn_core_stop(core);
		sn_metrics_stop(core);
		return rc;
	}
	daemon_signals(loop, sigs, signums, 2, on_signal);
	log_info("event=started server_id=%s region=%s listen=%s basenodeds=%zu", core->id_hex,
	         s->region, config_get(c, "listen"), s->nbn);
	return 0;
}

static int run(const struct config *c, const struct sn_settings *s, int foreground)
{
	char err[CONFIG_VALUE_MAX + 128];
	struct identity id;
	uv_loop_t loop;
	int ret, rc;

	if ((ret = daemon_identity(&id, config_get(c, "key_file"), err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		return ret;
	}
	ret = EXIT_TEMP;
	if (uv_loop_init(&loop) < 0)
		goto out;
	if (start(&loop, c, s, &id) == 0) {
		if (!foreground && (rc = daemon_detach(&loop)) < 0) {
			log_errorx("event=daemon_failed err=\"%s\"", strerror(-rc));
			on_signal(NULL, 0);
		} else {
			ret = 0;
		}
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	sn_metrics_release(core);
	sn_core_destroy(core);
	if (uv_loop_close(&loop) != 0)
		log_warnx("event=loop_not_empty");
	log_info("event=stopped");
out:
	identity_release(&id);
	return ret;
}

static const struct daemon_spec spec = { .default_conf = DEFAULT_CONF, .keys = sn_keys };

int main(int argc, char **argv)
{
	struct daemon_flags f;
	struct sn_settings s;
	struct config c;
	char err[LINE_MAX_LEN + 1];
	int ret;

	log_init("supernoded", LOG_LVL_INFO);
	if ((ret = daemon_setup(argc, argv, &spec, &f, &c, err, sizeof(err))) != DAEMON_GO) {
		if (err[0])
			fprintf(stderr, "supernoded: %s\n", err);
		if (f.usage)
			usage(f.usage);
		return ret;
	}
	ret = EXIT_USAGE;
	if (settings_from(&c, &s) < 0)
		goto out;
	log_set_level(f.verbose ? LOG_LVL_DEBUG
	                        : (enum log_level)log_level_parse(config_get(&c, "log_level")));
	if (f.client || (f.print_key && !f.check)) {
		ret = daemon_oneshot("supernoded", &f, &c, CLIENT_TIMEOUT_MS, err, sizeof(err));
		fprintf(ret ? stderr : stdout, "%s\n", err);
	} else if (f.check) {
		if (f.verbose)
			config_dump(&c, stdout);
		ret = 0;
	} else
		ret = run(&c, &s, f.foreground);
out:
	config_release(&c);
	return ret;
}

/* basenoded: flags, config, identity, state, the loop and its signals. The
 * directory's work is in stream.c, messages.c, directory.c and admin.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "admin.h"
#include "basenoded.h"
#include "config.h"
#include "daemon.h"
#include "httpd.h"
#include "keys.h"
#include "line_client.h"
#include "line_server.h"
#include "log.h"
#include "store.h"
#include "stream.h"

#define DEFAULT_CONF "/etc/supermesh/basenoded.conf"
#define CLIENT_TIMEOUT_MS 5000

static const struct config_key bn_keys[] = {
	{ "listen", CFG_ADDR, "0.0.0.0:7000", 0, 0, "supernode control port (IP:port)" },
	{ "admin_socket", CFG_PATH, "/run/supermesh/basenoded.sock", 0, 0,
	  "admin UNIX socket" },
	{ "admin_mode", CFG_STR, "0660", 0, 0, "admin socket permissions (octal)" },
	{ "key_file", CFG_PATH, "/var/lib/supermesh/basenoded/identity.key", 0, 0,
	  "Ed25519 identity, created 0600 on first start" },
	{ "state_dir", CFG_PATH, "/var/lib/supermesh/basenoded", 0, 0,
	  "holds basenoded.db (the blacklist)" },
	{ "heartbeat_s", CFG_INT, "10", 1, 3600, "Ping interval asked of supernodes" },
	{ "dead_after_s", CFG_INT, "30", 1, 86400, "silence before a supernode is evicted" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ "allow_supernodes", CFG_PATH, NULL, 0, 0,
	  "file of allowed supernode keys; unset: any supernode" },
	{ "auth_rate", CFG_INT, "20", 0, 1000000, "auth attempts per second per IP (0: no limit)" },
	{ "auth_burst", CFG_INT, "40", 1, 1000000, "auth attempts a single IP may burst" },
	{ "max_handshakes_per_ip", CFG_INT, "16", 0, 1000000,
	  "unauthenticated connections one IP may hold (0: no limit)" },
	{ "max_streams", CFG_INT, "4096", 1, 1000000, "streams held at once, handshakes included" },
	{ "max_msgs_per_s", CFG_INT, "2000", 0, 1000000,
	  "messages a second one supernode's stream may send, burst twice that (0: no limit)" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9470", 0, 0,
	  "Prometheus /metrics on IP:port (empty: off)" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

/* The config, checked and converted once. */
struct settings {
	struct sockaddr_storage listen;
	const char *listen_text, *admin_socket, *key_file, *state_dir, *allow;
	const char *metrics_listen;
	mode_t admin_mode;
	int log_level;
};

static struct basenoded bn;
static struct line_server *admin_srv;
enum { NSIGS = 3 };
static const int signums[NSIGS] = { SIGTERM, SIGINT, SIGHUP };
static uv_signal_t sigs[NSIGS];
static const char *allow_path;

/* how: DAEMON_USAGE_SHORT (to stderr) or DAEMON_USAGE_FULL (to stdout). */
static void usage(int how)
{
	FILE *f = how == DAEMON_USAGE_FULL ? stdout : stderr;

	fprintf(f, "usage: basenoded [-dnv] [-c file] [-o key=value]\n"
	           "       basenoded [-c file] [-o key=value] -k\n"
	           "       basenoded [-c file] [-o key=value] -s path|- verb [word ...]\n");
	if (how != DAEMON_USAGE_FULL)
		return;
	fprintf(f, "  -d foreground  -n check config  -v verbose  -k print public key\n"
	           "  -s send one admin request (-: the configured admin_socket)\n"
	           "admin verbs:\n");
	verb_print_usage(admin_verbs, f);
	fprintf(f, "config keys:\n");
	for (const struct config_key *k = bn_keys; k->name; k++)
		fprintf(f, "  %-16s %s (default %s)\n", k->name, k->help, k->def ? k->def : "unset");
}

static int settings_check(const struct config *c, struct settings *s)
{
	const char *mode = config_get(c, "admin_mode");

	if (daemon_parse_sockaddr(config_get(c, "listen"), &s->listen) < 0) {
		fprintf(stderr, "basenoded: listen must be an IP address and port\n");
		return -EINVAL;
	}
	if ((s->log_level = log_level_parse(config_get(c, "log_level"))) < 0) {
		fprintf(stderr, "basenoded: log_level must be error, warn, info or debug\n");
		return -EINVAL;
	}
	if (daemon_parse_mode(mode, &s->admin_mode) < 0) {
		fprintf(stderr, "basenoded: admin_mode must be octal, e.g. 0660\n");
		return -EINVAL;
	}
	/* Otherwise every healthy supernode is evicted between two pings. */
	if (config_get_int(c, "dead_after_s") <= config_get_int(c, "heartbeat_s")) {
		fprintf(stderr, "basenoded: dead_after_s must be larger than heartbeat_s\n");
		return -EINVAL;
	}
	s->listen_text = config_get(c, "listen");
	s->admin_socket = config_get(c, "admin_socket");
	s->key_file = config_get(c, "key_file");
	s->state_dir = config_get(c, "state_dir");
	s->allow = config_get(c, "allow_supernodes");
	s->metrics_listen = config_get(c, "metrics_listen");
	if (httpd_check_listen(s->metrics_listen) < 0) {
		fprintf(stderr, "basenoded: metrics_listen must be a numeric IP:port or empty\n");
		return -EINVAL;
	}
	return 0;
}

static int blacklist_one(void *arg, const uint8_t id[ID_PK_LEN])
{
	void *live;
	int rc = directory_blacklist_add(arg, id, &live);

	return rc == -EEXIST ? 0 : rc;
}

static int open_state(const struct settings *s)
{
	char path[CONFIG_VALUE_MAX + 32], err[512];
	int rc;

	snprintf(path, sizeof(path), "%s/basenoded.db", s->state_dir);
	if ((rc = daemon_mkdir_parent(path)) < 0) {
		log_errorx("event=state_failed path=%s err=\"%s\"", s->state_dir, strerror(-rc));
		return rc;
	}
	if ((rc = store_open(path, &bn.store, err, sizeof(err))) < 0) {
		log_errorx("event=state_failed err=\"%s\"", err);
		return rc;
	}
	rc = store_blacklist_load(bn.store, blacklist_one, &bn.dir);
	if (rc < 0)
		log_errorx("event=state_failed path=%s err=\"%s\"", path,
		           rc == -EIO ? store_errmsg(bn.store) : strerror(-rc));
	return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
}

static void shutdown_all(void)
{
	static int stopping;
	int i;

	/* A second SIGTERM while streams close must not close handles twice. */
	if (stopping++)
		return;
	log_info("event=stopping streams=%zu", bn.streams ? stream_server_count(bn.streams, 0) : 0);
	stream_server_free(bn.streams);
	bn.streams = NULL;
	line_server_free(admin_srv);
	admin_srv = NULL;
	observe_stop(&bn);
	for (i = 0; i < NSIGS; i++)
		uv_close((uv_handle_t *)&sigs[i], on_handle_closed);
}

static void on_signal(uv_signal_t *h, int signum)
{
	char err[256];

	if (signum != SIGHUP) {
		shutdown_all();
		return;
	}
	/* SIGHUP re-reads the allow-list; a bad file keeps the old one. */
	if (!allow_path)
		return;
	if (policy_load_allow(&bn.policy, allow_path, err, sizeof(err)) < 0)
		log_warnx("event=allow_reload_failed err=\"%s\"", err);
	else
		log_info("event=allow_reloaded count=%zu", bn.policy.allow.n);
}

static int start(const struct settings *s)
{
	struct line_server_opts lo = {
		.path = s->admin_socket, .mode = s->admin_mode,
		.allow_uid = getuid(), .allow_gid = (gid_t)-1,
	};
	char b64[KEY_B64_LEN];
	int rc;

	rc = stream_server_new(&bn, (const struct sockaddr *)&s->listen, &bn.streams);
	if (rc < 0) {
		log_errorx("event=listen_failed listen=%s err=\"%s\"", s->listen_text,
		           uv_strerror(rc));
		return rc;
	}
	daemon_mkdir_parent(s->admin_socket);
	if ((rc = line_server_new(bn.loop, &lo, admin_verbs, &bn, &admin_srv)) < 0) {
		log_errorx("event=admin_failed path=%s err=\"%s\"", s->admin_socket,
		           strerror(-rc));
		return rc;
	}
	if ((rc = observe_start(&bn, s->metrics_listen)) < 0) {
		log_errorx("event=metrics_failed listen=%s err=\"%s\"", s->metrics_listen,
		           strerror(-rc));
		return rc;
	}
	daemon_signals(bn.loop, sigs, signums, NSIGS, on_signal);
	key_to_base64(bn.id.pk, b64);
	log_info("event=started server_id=%s admin_socket=%s blacklisted=%zu allow=%s", b64,
	         s->admin_socket, bn.dir.nblack, s->allow ? s->allow : "any");
	return 0;
}

/* Identity, state, sockets, then the loop until SIGTERM or SIGINT. */
static int run(const struct settings *s, const struct daemon_flags *f)
{
	char err[CONFIG_VALUE_MAX + 128];
	uv_loop_t loop;
	int rc, ret;

	if ((ret = daemon_identity(&bn.id, s->key_file, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		return ret;
	}
	ret = EXIT_TEMP;
	if (open_state(s) < 0)
		goto out_id;
	if (uv_loop_init(&loop) < 0)
		goto out_id;
	bn.loop = &loop;
	if (start(s) < 0) {
		stream_server_free(bn.streams);
		line_server_free(admin_srv);
		observe_stop(&bn);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	if (!f->foreground && (rc = daemon_detach(&loop)) < 0) {
		log_errorx("event=daemon_failed err=\"%s\"", strerror(-rc));
		shutdown_all();
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("event=stopped");
	ret = 0;
out_loop:
	if (uv_loop_close(&loop) != 0)
		log_warnx("event=loop_not_empty");
	observe_release(&bn);
out_id:
	identity_release(&bn.id);
	return ret;
}

static const struct daemon_spec spec = {
	.default_conf = DEFAULT_CONF, .keys = bn_keys, .hup_reloads = 1,
};

int main(int argc, char **argv)
{
	struct daemon_flags f;
	struct settings s;
	struct config c;
	char err[LINE_MAX_LEN + 1];
	int ret;

	log_init("basenoded", LOG_LVL_INFO);
	if ((ret = daemon_setup(argc, argv, &spec, &f, &c, err, sizeof(err))) != DAEMON_GO) {
		if (err[0])
			fprintf(stderr, "basenoded: %s\n", err);
		if (f.usage)
			usage(f.usage);
		return ret;
	}
	ret = EXIT_USAGE;
	directory_init(&bn.dir);
	if (settings_check(&c, &s) < 0)
		goto out;
	log_set_level(f.verbose ? LOG_LVL_DEBUG : (enum log_level)s.log_level);
	if (f.client || (f.print_key && !f.check)) {
		ret = daemon_oneshot("basenoded", &f, &c, CLIENT_TIMEOUT_MS, err, sizeof(err));
		fprintf(ret ? stderr : stdout, "%s\n", err);
		goto out;
	}
	policy_init(&bn.policy, &bn.dir, (double)config_get_int(&c, "auth_rate"),
	            (double)config_get_int(&c, "auth_burst"));
	allow_path = s.allow;
	if (s.allow && policy_load_allow(&bn.policy, s.allow, err, sizeof(err)) < 0) {
		fprintf(stderr, "basenoded: allow_supernodes: %s\n", err);
		goto out;
	}
	bn.heartbeat_s = (uint32_t)config_get_int(&c, "heartbeat_s");
	bn.dead_after_ms = (uint64_t)config_get_int(&c, "dead_after_s") * 1000;
	bn.max_streams = (size_t)config_get_int(&c, "max_streams");
	bn.max_msgs_per_s = (uint32_t)config_get_int(&c, "max_msgs_per_s");
	connlimit_init(&bn.pending, (unsigned)config_get_int(&c, "max_handshakes_per_ip"));
	if (f.check) {
		if (f.verbose)
			config_dump(&c, stdout);
		ret = 0;
	} else {
		ret = run(&s, &f);
	}
out:
	store_close(bn.store);
	policy_release(&bn.policy);
	directory_release(&bn.dir);
	config_release(&c);
	return ret;
}

/* wgrelay: flags, config, the WireGuard backend choice, and the four ways to
 * run the verbs (argv, stdin, UNIX socket server -l, client -s). */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "keys.h"
#include "line_client.h"
#include "line_server.h"
#include "log.h"
#include "observe.h"
#include "httpd.h"
#include "probe.h"
#include "relay.h"
#include "wg.h"
#include "wgrelay.h"

#define EXIT_USAGE 100
#define EXIT_TEMP 111
#define DEFAULT_CONF "/etc/supermesh/wgrelay.conf"
#define CLIENT_TIMEOUT_MS 30000
#define MAX_OVERRIDES 32

static const struct config_key wgrelay_keys[] = {
	{ "listen", CFG_PATH, NULL, 0, 0, "UNIX socket to serve the verbs on (as -l)" },
	{ "socket_mode", CFG_STR, "0660", 0, 0, "octal permissions of the socket" },
	{ "allow_gid", CFG_INT, NULL, 0, 4294967294L, "group whose members may use the socket" },
	{ "wireguard_go", CFG_PATH, "wireguard-go", 0, 0, "userspace WireGuard to start" },
	{ "backend", CFG_STR, "auto", 0, 0, "WireGuard backend: auto, kernel or userspace" },
	{ "relay_bind", CFG_STR, "0.0.0.0", 0, 0, "numeric address relay ports bind to" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9474", 0, 0,
	  "Prometheus /metrics on IP:port under -l (empty: off)" },
	{ NULL, CFG_STR, NULL, 0, 0, NULL },
};

struct opts {
	int verbose, check, argc;
	const char *conf, *listen, *client;
	const char *overrides[MAX_OVERRIDES];
	int n_overrides;
	char **argv;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: wgrelay [-dnvh] [-c FILE] [-o key=value] [-l PATH | -s PATH] "
	           "[VERB WORDS...]\nverbs:\n");
	verb_print_usage(wgrelay_verbs, f);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "+dnvhc:o:l:s:")) != -1) {
		switch (c) {
		case 'd': break; /* wgrelay never daemonizes: always foreground */
		case 'n': o->check = 1; break;
		case 'v': o->verbose = 1; break;
		case 'c': o->conf = optarg; break;
		case 'l': o->listen = optarg; break;
		case 's': o->client = optarg; break;
		case 'o':
			if (o->n_overrides >= MAX_OVERRIDES)
				return -E2BIG;
			o->overrides[o->n_overrides++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->listen && o->client)
		return -EINVAL;
	return 0;
}

static int load_config(struct config *cfg, const struct opts *o)
{
	char err[512];
	int i, ret;

	ret = config_load_file(cfg, o->conf ? o->conf : DEFAULT_CONF, err, sizeof(err));
	if (ret == -ENOENT && !o->conf)
		ret = 0; /* no config file: defaults */
	else if (ret == -EINVAL)
		fprintf(stderr, "wgrelay: %s\n", err);
	else if (ret < 0)
		fprintf(stderr, "wgrelay: %s: %s\n", o->conf ? o->conf : DEFAULT_CONF,
		        strerror(-ret));
	for (i = 0; ret == 0 && i < o->n_overrides; i++) {
		ret = config_set_override(cfg, o->overrides[i], err, sizeof(err));
		if (ret < 0)
			fprintf(stderr, "wgrelay: -o %s: %s\n", o->overrides[i], err);
	}
	return ret;
}

/* Checks what the key types cannot: returns 0 or prints why and -EINVAL. */
static int check_config(const struct config *cfg, mode_t *mode)
{
	const char *m = config_get(cfg, "socket_mode"), *b = config_get(cfg, "backend");
	const char *bind = config_get(cfg, "relay_bind");
	unsigned char addr[sizeof(struct in6_addr)];
	char *end;
	long v;

	errno = 0;
	v = strtol(m, &end, 8);
	if (m[0] < '0' || m[0] > '7' || errno || *end || v > 0777) {
		fprintf(stderr, "wgrelay: socket_mode must be octal 0..0777\n");
		return -EINVAL;
	}
	*mode = (mode_t)v;
	if (strcmp(b, "auto") && strcmp(b, "kernel") && strcmp(b, "userspace")) {
		fprintf(stderr, "wgrelay: backend must be auto, kernel or userspace\n");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, bind, addr) != 1 && inet_pton(AF_INET6, bind, addr) != 1) {
		fprintf(stderr, "wgrelay: relay_bind must be a numeric IPv4 or IPv6 address\n");
		return -EINVAL;
	}
	if (log_level_parse(config_get(cfg, "log_level")) < 0) {
		fprintf(stderr, "wgrelay: log_level must be error, warn, info or debug\n");
		return -EINVAL;
	}
	if (httpd_check_listen(config_get(cfg, "metrics_listen")) < 0) {
		fprintf(stderr, "wgrelay: metrics_listen must be a numeric IP:port or empty\n");
		return -EINVAL;
	}
	return 0;
}

static const struct wg_backend *pick_backend(const struct config *cfg, struct wg_backend *uapi)
{
	const char *b = config_get(cfg, "backend");

	wg_uapi_backend_init(uapi, config_get(cfg, "wireguard_go"));
	if (!strcmp(b, "kernel") || (!strcmp(b, "auto") && wg_kernel_available()))
		return &wg_kernel_backend;
	return uapi;
}

/* -s: the words as one request to a running wgrelay; its reply printed. */
static int run_client(const char *path, int argc, char **argv)
{
	char req[LINE_MAX_LEN + 1] = "", reply[LINE_MAX_LEN + 1];
	int i, ret;

	if (argc == 0) {
		fprintf(stderr, "wgrelay: -s needs a request\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < argc; i++) {
		size_t len = strlen(req);

		if (i > 0 && len + 1 < sizeof(req)) {
			req[len] = ' ';
			req[len + 1] = '\0';
		}
		if ((i > 0 && len + 1 >= sizeof(req)) ||
		    line_escape(req, sizeof(req), argv[i]) < 0) {
			fprintf(stderr, "wgrelay: request too long\n");
			return EXIT_USAGE;
		}
	}
	ret = line_request(path, req, reply, sizeof(reply), CLIENT_TIMEOUT_MS);
	if (ret < 0) {
		fprintf(stderr, "wgrelay: %s: %s\n", path, strerror(-ret));
		return EXIT_TEMP;
	}
	ret = line_reply_parse(reply, NULL, 0, NULL, 0);
	fprintf(ret == 1 ? stdout : stderr, "%s\n", reply);
	return ret == 1 ? 0 : 1;
}

struct server {
	struct wgrelay *w;
	struct line_server *srv;
	uv_signal_t sigterm, sigint;
	struct wgrelay_metrics met;
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct server *s = h->data;

	log_info("event=stopping signal=%d", signum);
	line_server_free(s->srv);
	wgrelay_metrics_stop(&s->met);
	relay_table_free(s->w->relays);
	s->w->relays = NULL;
	probe_table_free(s->w->probes);
	s->w->probes = NULL;
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
}

static int run_server(struct wgrelay *w, const struct config *cfg, const char *path,
                      mode_t mode)
{
	struct line_server_opts lo = { path, mode, (uid_t)-1, (gid_t)-1, 0 };
	struct server s = { .w = w };
	const char *mlisten = config_get(cfg, "metrics_listen");
	uv_loop_t loop;
	int ret;

	if (config_get(cfg, "allow_gid"))
		lo.allow_gid = (gid_t)config_get_int(cfg, "allow_gid");
	if ((ret = uv_loop_init(&loop)) < 0)
		return ret;
	w->loop = &loop;
	w->serving = 1;
	ret = relay_table_new(&loop, w->relay_bind, &w->relays);
	if (ret == 0)
		ret = line_server_new(&loop, &lo, wgrelay_verbs, w, &s.srv);
	if (ret == 0 && (ret = wgrelay_metrics_start(&s.met, w, &loop, mlisten)) < 0) {
		log_warnx("event=metrics_failed listen=%s err=\"%s\"", mlisten, strerror(-ret));
		line_server_free(s.srv);
		s.srv = NULL;
	}
	if (ret == 0) {
		uv_signal_init(&loop, &s.sigterm);
		uv_signal_init(&loop, &s.sigint);
		s.sigterm.data = s.sigint.data = &s;
		uv_signal_start(&s.sigterm, on_signal, SIGTERM);
		uv_signal_start(&s.sigint, on_signal, SIGINT);
		log_info("event=listening path=%s backend=%s", path, w->wg->name);
	} else {
		log_warnx("event=start_failed path=%s err=\"%s\"", path, strerror(-ret));
		if (w->relays)
			relay_table_free(w->relays);
		w->relays = NULL;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	wgrelay_metrics_release(&s.met);
	if (uv_loop_close(&loop) != 0)
		log_warnx("event=loop_not_closed");
	return ret;
}

/* The verbs from argv, stdin or the socket; returns the exit status. */
static int run_verbs(const struct opts *o, const struct config *cfg, mode_t mode)
{
	const char *listen = o->listen ? o->listen
	                             : (o->argc == 0 ? config_get(cfg, "listen") : NULL);
	int level = log_level_parse(config_get(cfg, "log_level")), ret;
	struct wg_backend uapi;
	struct wgrelay w;

	/* A one-shot or stdin run answers on stdout; only trouble goes to stderr. */
	if (!listen && level > LOG_LVL_WARN)
		level = LOG_LVL_WARN;
	log_init("wgrelay", o->verbose ? LOG_LVL_DEBUG : (enum log_level)level);
	if (listen && o->argc > 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	memset(&w, 0, sizeof(w));
	snprintf(w.relay_bind, sizeof(w.relay_bind), "%s", config_get(cfg, "relay_bind"));
	w.wg = pick_backend(cfg, &uapi);
	if (listen) {
		ret = run_server(&w, cfg, listen, mode);
		return ret == 0 ? 0 : (ret == -EINVAL ? EXIT_USAGE : EXIT_TEMP);
	}
	if (o->argc > 0)
		return line_run_argv(wgrelay_verbs, &w, o->argc, o->argv, stdout, stderr);
	return line_run_file(wgrelay_verbs, &w, stdin, stdout) > 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct config cfg;
	mode_t mode = 0660;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* nothing to reload; never a reason to die */
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (keys_init() < 0 || config_init(&cfg, wgrelay_keys) < 0) {
		fprintf(stderr, "wgrelay: cannot initialise\n");
		return EXIT_TEMP;
	}
	if (load_config(&cfg, &o) < 0 || check_config(&cfg, &mode) < 0)
		ret = EXIT_USAGE;
	else if (o.check)
		ret = 0;
	else if (o.client)
		ret = run_client(o.client, o.argc, o.argv);
	else
		ret = run_verbs(&o, &cfg, mode);
	if (o.check && o.verbose && ret == 0)
		config_dump(&cfg, stdout);
	config_release(&cfg);
	return ret;
}

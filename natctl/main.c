/* natctl: flags, config, and the ways to run its verbs: one request from argv,
 * requests from stdin, a UNIX socket server (-l), or a client of one (-s). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "config.h"
#include "line_client.h"
#include "line_server.h"
#include "log.h"
#include "metrics_http.h"
#include "verbs.h"

#define EXIT_ERR 1      /* an err reply */
#define EXIT_USAGE 100  /* bad flags, bad config, err usage in one-shot */
#define EXIT_TEMP 111   /* could not serve or reach the server */
#define DEFAULT_CONF "/etc/supermesh/natctl.conf"
#define CLIENT_TIMEOUT_MS 10000

static const struct config_key natctl_keys[] = {
	{ "uplink", CFG_STR, NULL, 0, 0, "interface masqueraded traffic leaves by (needed by add)" },
	{ "listen", CFG_PATH, "/run/supermesh/natctl.sock", 0, 0, "socket for -l - and -s -" },
	{ "socket_mode", CFG_STR, "0660", 0, 0, "permissions of the socket, octal" },
	{ "allow_gid", CFG_INT, "-1", -1, INT_MAX, "group allowed on the socket besides root (-1: none)" },
	{ "log_level", CFG_STR, "info", 0, 0, "error, warn, info or debug" },
	{ "metrics_listen", CFG_STR, "127.0.0.1:9475", 0, 0,
	  "Prometheus /metrics (process metrics) under -l on IP:port (empty: off)" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

/* The config, checked and converted once. */
struct settings {
	const char *uplink;
	const char *listen;
	const char *metrics_listen;
	mode_t mode;
	gid_t gid;
	int log_level;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: natctl [-dnv] [-c file] [-o key=value] [verb [word ...]]\n"
	           "       natctl [-dv] [-c file] [-o key=value] -l path|-\n"
	           "       natctl -s path|- verb [word ...]\n"
	           "With no verb, reads one request per line from stdin.\nverbs:\n");
	verb_print_usage(natctl_verbs, f);
}

static int parse_mode(const char *s, mode_t *mode)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '7')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 8);
	if (errno || *end || v > 07777)
		return -EINVAL;
	*mode = (mode_t)v;
	return 0;
}

/* Values the config parser cannot check by type. */
static int settings_check(const struct config *c, struct settings *s)
{
	const char *level = config_get(c, "log_level");
	long gid = config_get_int(c, "allow_gid");

	s->uplink = config_get(c, "uplink");
	s->listen = config_get(c, "listen");
	if (s->uplink && natctl_parse_ifname(s->uplink) < 0) {
		log_errorx("event=config_error key=uplink reason=\"not an interface name\"");
		return -EINVAL;
	}
	if (parse_mode(config_get(c, "socket_mode"), &s->mode) < 0) {
		log_errorx("event=config_error key=socket_mode reason=\"not an octal mode\"");
		return -EINVAL;
	}
	if ((s->log_level = log_level_parse(level)) < 0) {
		log_errorx("event=config_error key=log_level reason=\"not error|warn|info|debug\"");
		return -EINVAL;
	}
	s->gid = gid < 0 ? (gid_t)-1 : (gid_t)gid;
	s->metrics_listen = config_get(c, "metrics_listen");
	if (httpd_check_listen(s->metrics_listen) < 0) {
		log_errorx("event=config_error key=metrics_listen reason=\"not IP:port\"");
		return -EINVAL;
	}
	return 0;
}

/* The default file may be absent; one named with -c must be there. */
static int config_read(struct config *c, const char *path, int explicit,
                       char **overrides, int n)
{
	char err[512] = "";
	int i, ret;

	ret = config_load_file(c, path, err, sizeof(err));
	if (ret == -ENOENT && !explicit)
		ret = 0;
	for (i = 0; ret == 0 && i < n; i++)
		ret = config_set_override(c, overrides[i], err, sizeof(err));
	if (ret < 0)
		log_errorx("event=config_error reason=\"%s\"", err);
	return ret;
}

struct server {
	struct line_server *srv;
	uv_signal_t sigterm, sigint;
	struct metrics_http mh;   /* process metrics only: natctl keeps no state */
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct server *sv = h->data;

	log_info("event=stop signal=%d", signum);
	line_server_free(sv->srv);
	metrics_http_stop(&sv->mh);
	uv_close((uv_handle_t *)&sv->sigterm, NULL);
	uv_close((uv_handle_t *)&sv->sigint, NULL);
}

static int serve(struct natctl *n, const struct settings *s, const char *path)
{
	struct line_server_opts o = { path, s->mode, (uid_t)-1, s->gid, 0 };
	struct server sv = { 0 };
	uv_loop_t loop;
	int err;

	if ((err = uv_loop_init(&loop)) < 0) {
		log_errorx("event=loop_init_failed err=\"%s\"", uv_strerror(err));
		return EXIT_TEMP;
	}
	err = line_server_new(&loop, &o, natctl_verbs, n, &sv.srv);
	if (err < 0) {
		log_errorx("event=listen_failed path=%s err=\"%s\"", path, strerror(-err));
		uv_loop_close(&loop);
		return EXIT_TEMP;
	}
	if (!(sv.mh.m = metrics_new()) ||
	    (err = metrics_http_start(&sv.mh, &loop, s->metrics_listen)) < 0) {
		log_errorx("event=metrics_failed listen=%s err=\"%s\"", s->metrics_listen,
		           strerror(sv.mh.m ? -err : ENOMEM));
		line_server_free(sv.srv);
		uv_run(&loop, UV_RUN_DEFAULT);
		metrics_free(sv.mh.m);
		uv_loop_close(&loop);
		return EXIT_TEMP;
	}
	sv.sigterm.data = sv.sigint.data = &sv;
	uv_signal_init(&loop, &sv.sigterm);
	uv_signal_init(&loop, &sv.sigint);
	uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
	uv_signal_start(&sv.sigint, on_signal, SIGINT);
	n->log_changes = 1;
	log_info("event=listening path=%s uplink=%s", path, s->uplink ? s->uplink : "-");
	if (!s->uplink)
		log_warnx("event=no_uplink reason=\"add will be refused\"");
	uv_run(&loop, UV_RUN_DEFAULT);
	metrics_free(sv.mh.m);
	return uv_loop_close(&loop) == 0 ? 0 : EXIT_TEMP;
}

/* Prints a reply line to stdout (ok) or stderr (err); returns the exit code.
 * In one-shot use an err usage reply is a usage error: exit 100. */
static int print_reply(const char *line)
{
	char code[32] = "";
	int ok = line_reply_parse(line, code, sizeof(code), NULL, 0);
	size_t len;

	if (ok < 0) {
		fprintf(stderr, "natctl: not a reply: %s\n", line);
		return EXIT_TEMP;
	}
	len = strlen(line);
	/* Local replies end in '\n'; line_request strips it. */
	fprintf(ok ? stdout : stderr, "%s%s", line,
	        len > 0 && line[len - 1] == '\n' ? "" : "\n");
	if (ok)
		return 0;
	return strcmp(code, LINE_EUSAGE) ? EXIT_ERR : EXIT_USAGE;
}

static int run_argv(struct natctl *n, int argc, char **argv)
{
	struct line_reply r;

	verb_dispatch(natctl_verbs, n, argc, argv, &r);
	return print_reply(line_reply_finish(&r));
}

/* -s: the words become one request line, escaped as line_split reads them. */
static int run_client(const char *path, int argc, char **argv)
{
	char req[LINE_MAX_LEN] = "", reply[LINE_MAX_LEN + 1];
	size_t len;
	int i, err;

	for (i = 0; i < argc; i++) {
		len = strlen(req);
		if (i > 0 && len + 1 < sizeof(req)) {
			req[len] = ' ';
			req[len + 1] = '\0';
		}
		if ((i > 0 && len + 1 >= sizeof(req)) || line_escape(req, sizeof(req), argv[i]) < 0) {
			fprintf(stderr, "natctl: request longer than %d bytes\n", LINE_MAX_LEN - 1);
			return EXIT_USAGE;
		}
	}
	err = line_request(path, req, reply, sizeof(reply), CLIENT_TIMEOUT_MS);
	if (err < 0) {
		fprintf(stderr, "natctl: %s: %s\n", path, strerror(-err));
		return EXIT_TEMP;
	}
	return print_reply(reply);
}

struct flags {
	const char *conf, *listen, *client;
	int conf_explicit, check, verbose;
	char **overrides;
	int noverrides;
};

/* Returns 0, or EXIT_USAGE after printing usage. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	int ch;

	f->conf = DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "+c:dhl:no:s:v")) != -1) {
		switch (ch) {
		case 'c': f->conf = optarg; f->conf_explicit = 1; break;
		case 'd': break; /* natctl never forks; logs always go to stderr */
		case 'h': usage(stdout); exit(0);
		case 'l': f->listen = optarg; break;
		case 'n': f->check = 1; break;
		case 'o': f->overrides[f->noverrides++] = optarg; break;
		case 's': f->client = optarg; break;
		case 'v': f->verbose = 1; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if ((f->listen && f->client) || (f->listen && optind < argc) ||
	    (f->client && optind == argc)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

static int run(struct flags *f, struct config *c, int argc, char **argv)
{
	struct settings s;
	struct natctl n = { NULL, NATCTL_IP_FORWARD, &nat_nft, 0 };

	if (config_read(c, f->conf, f->conf_explicit, f->overrides, f->noverrides) < 0 ||
	    settings_check(c, &s) < 0)
		return EXIT_USAGE;
	log_set_level(f->verbose ? LOG_LVL_DEBUG : (enum log_level)s.log_level);
	if (f->check) {
		if (f->verbose)
			config_dump(c, stdout);
		return 0;
	}
	if (f->client)
		return run_client(strcmp(f->client, "-") ? f->client : s.listen, argc, argv);
	n.uplink = s.uplink;
	if (f->listen)
		return serve(&n, &s, strcmp(f->listen, "-") ? f->listen : s.listen);
	if (argc > 0)
		return run_argv(&n, argc, argv);
	return line_run_file(natctl_verbs, &n, stdin, stdout) ? EXIT_ERR : 0;
}

int main(int argc, char **argv)
{
	struct flags f = { 0 };
	struct config c;
	int ret;

	log_init("natctl", LOG_LVL_INFO);
	/* A client that goes away mid-reply must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* nothing to reload; never a reason to die */
	if (!(f.overrides = calloc((size_t)argc, sizeof(char *))))
		return EXIT_TEMP;
	if ((ret = parse_flags(argc, argv, &f)) != 0) {
		free(f.overrides);
		return ret;
	}
	if (config_init(&c, natctl_keys) < 0) {
		free(f.overrides);
		return EXIT_TEMP;
	}
	ret = run(&f, &c, argc - optind, argv + optind);
	config_release(&c);
	free(f.overrides);
	return ret;
}

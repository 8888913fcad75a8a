/* What every program's main() shares: the standard flags, the config file
 * with its -o overrides, numeric socket addresses, parent directories, the
 * -s admin request and -k, identity, signals, detaching. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "daemon.h"
#include "line.h"
#include "line_client.h"

static int flag_err(char *err, size_t err_size, const char *what, const char *arg)
{
	if (err && err_size)
		snprintf(err, err_size, "%s%s", what, arg);
	return EXIT_USAGE;
}

/* One option letter into f; EXIT_USAGE with err on a bad one. */
static int flag_one(int ch, struct daemon_flags *f, char *err, size_t err_size)
{
	char letter[2];

	switch (ch) {
	case 'c': f->conf = optarg; f->conf_explicit = 1; break;
	case 'd': f->foreground = 1; break;
	case 'h': f->help = 1; break;
	case 'k': f->print_key = 1; break;
	case 'n': f->check = 1; break;
	case 'o':
		if (f->noverrides == DAEMON_MAX_OVERRIDES)
			return flag_err(err, err_size, "too many -o", "");
		f->overrides[f->noverrides++] = optarg;
		break;
	case 's': f->client = optarg; break;
	case 'v': f->verbose = 1; break;
	case ':':
		snprintf(letter, sizeof(letter), "%c", optopt);
		return flag_err(err, err_size, "missing argument to -", letter);
	default:
		snprintf(letter, sizeof(letter), "%c", optopt);
		return flag_err(err, err_size, "unknown option -", letter);
	}
	return 0;
}

int daemon_parse_flags(int argc, char **argv, const char *default_conf,
                       struct daemon_flags *f, char *err, size_t err_size)
{
	int ch, rc = 0, saved_opterr = opterr;

	memset(f, 0, sizeof(*f));
	f->conf = default_conf;
	/* optind 0 makes glibc start over, so main and tests may call this
	 * more than once; opterr 0 because lib/ never prints. The leading ':'
	 * tells a missing argument from an unknown letter. */
	optind = 0;
	opterr = 0;
	while (rc == 0 && (ch = getopt(argc, argv, "+:c:dhkno:s:v")) != -1)
		rc = flag_one(ch, f, err, err_size);
	opterr = saved_opterr;
	if (rc)
		return rc;
	f->nwords = argc - optind;
	f->words = argv + optind;
	if (f->help)
		return 0;
	if (!f->client && f->nwords > 0)
		return flag_err(err, err_size, "admin request words need -s: ", f->words[0]);
	if (f->client && f->nwords == 0)
		return flag_err(err, err_size, "-s needs a verb after the flags", "");
	return 0;
}

int daemon_read_config(struct config *c, const struct daemon_flags *f,
                       char *err, size_t err_size)
{
	int i, rc = 0;

	if (f->conf) {
		rc = config_load_file(c, f->conf, err, err_size);
		/* Running without a config file is normal: defaults and -o. */
		if (rc == -ENOENT && !f->conf_explicit)
			rc = 0;
	}
	for (i = 0; rc == 0 && i < f->noverrides; i++)
		rc = config_set_override(c, f->overrides[i], err, err_size);
	return rc;
}

/* Words without -s are fine after spec->verb (clientd's "ctl ..."). */
static int verb_words(const struct daemon_spec *spec, const struct daemon_flags *f)
{
	return spec->verb && !f->client && !f->help && f->nwords > 0 &&
	       !strcmp(f->words[0], spec->verb);
}

int daemon_setup(int argc, char **argv, const struct daemon_spec *spec,
                 struct daemon_flags *f, struct config *c, char *err, size_t err_size)
{
	int rc;

	err[0] = '\0';
	signal(SIGPIPE, SIG_IGN);
	/* Nothing to reload: a stray SIGHUP is never a reason to die. */
	if (!spec->hup_reloads)
		signal(SIGHUP, SIG_IGN);
	rc = daemon_parse_flags(argc, argv, spec->default_conf, f, err, err_size);
	if (rc && verb_words(spec, f)) {
		rc = 0;
		err[0] = '\0';
	}
	if (rc || f->help) {
		f->usage = rc ? DAEMON_USAGE_SHORT : DAEMON_USAGE_FULL;
		return rc;
	}
	if (keys_init() < 0 || config_init(c, spec->keys) < 0) {
		snprintf(err, err_size, "cannot initialise");
		return EXIT_TEMP;
	}
	if (daemon_read_config(c, f, err, err_size) < 0) {
		config_release(c);
		return EXIT_USAGE;
	}
	err[0] = '\0'; /* a missing default file said so, and is fine */
	return DAEMON_GO;
}

int daemon_identity(struct identity *id, const char *path, char *err, size_t err_size)
{
	int rc = daemon_load_identity(id, path);

	if (rc == 0)
		return 0;
	/* identity_load says -EACCES for a key others may read, too. */
	snprintf(err, err_size, "event=key_failed path=%s err=\"%s\"%s", path, strerror(-rc),
	         rc == -EACCES ? " hint=\"must be ours, mode 0600\"" : "");
	return daemon_key_exit(rc);
}

/* -k: the key file's public key, or why not. */
static int print_key(const char *prog, const char *path, char *out, size_t out_size)
{
	char why[CONFIG_VALUE_MAX + 128];
	struct identity id;
	int rc;

	if ((rc = daemon_identity(&id, path, why, sizeof(why))) != 0) {
		snprintf(out, out_size, "%s: %s", prog, why);
		return rc;
	}
	if (out_size >= KEY_B64_LEN)
		key_to_base64(id.pk, out);
	else
		rc = EXIT_USAGE;
	identity_release(&id);
	return rc;
}

int daemon_oneshot(const char *prog, const struct daemon_flags *f, const struct config *c,
                   int timeout_ms, char *out, size_t out_size)
{
	const char *path;

	if (f->client) {
		path = strcmp(f->client, "-") ? f->client : config_get(c, "admin_socket");
		return daemon_client(prog, path ? path : "", f->nwords, f->words, timeout_ms, out,
		                     out_size);
	}
	if (!f->print_key)
		return DAEMON_GO;
	path = config_get(c, "key_file");
	return print_key(prog, path ? path : "", out, out_size);
}

int daemon_parse_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	char host[256];
	uint16_t port;

	if (!text || config_parse_addr(text, host, sizeof(host), &port) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (text[0] != '[' && uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (text[0] == '[' && uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	memset(ss, 0, sizeof(*ss));
	return -EINVAL;
}

int daemon_mkdir_parent(const char *path)
{
	char buf[CONFIG_VALUE_MAX + 1], *p;
	struct stat st;

	if (!path || !path[0])
		return -EINVAL;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	p = strrchr(buf, '/');
	if (!p || p == buf)
		return 0; /* in the working directory, or in / */
	*p = '\0';
	/* Walk the components so "a/b/c" creates a, then a/b. */
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char ch = *p;

		*p = '\0';
		if (buf[0] && mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (!(*p = ch))
			break;
	}
	/* EEXIST above may have been a file in the way. */
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int daemon_parse_mode(const char *text, mode_t *mode)
{
	char *end;
	long m;

	/* strtol alone would take a sign or leading spaces. */
	if (text[0] < '0' || text[0] > '7')
		return -EINVAL;
	errno = 0;
	m = strtol(text, &end, 8);
	if (errno || *end || m > 0777)
		return -EINVAL;
	*mode = (mode_t)m;
	return 0;
}

/* The words joined by single spaces, each escaped; -E2BIG if over a line. */
static int join_words(char *req, size_t size, int argc, char **argv)
{
	size_t len;
	int i;

	req[0] = '\0';
	for (i = 0; i < argc; i++) {
		len = strlen(req);
		/* Words are escaped; the spaces between them must not be. */
		if (i > 0 && len + 1 < size) {
			req[len++] = ' ';
			req[len] = '\0';
		}
		if (len + 1 >= size || line_escape(req, size, argv[i]) < 0)
			return -E2BIG;
	}
	return 0;
}

int daemon_client(const char *prog, const char *path, int argc, char **argv,
                  int timeout_ms, char *out, size_t out_size)
{
	char req[LINE_MAX_LEN], reply[LINE_MAX_LEN + 1];
	int rc;

	if (join_words(req, sizeof(req), argc, argv) < 0) {
		snprintf(out, out_size, "%s: request longer than %d bytes", prog, LINE_MAX_LEN - 1);
		return EXIT_USAGE;
	}
	if ((rc = line_request(path, req, reply, sizeof(reply), timeout_ms)) < 0) {
		snprintf(out, out_size, "%s: %s: %s", prog, path, strerror(-rc));
		return EXIT_TEMP;
	}
	snprintf(out, out_size, "%s", reply);
	return line_reply_parse(reply, NULL, 0, NULL, 0) == 1 ? 0 : EXIT_ERR;
}

int daemon_load_identity(struct identity *id, const char *path)
{
	int rc = daemon_mkdir_parent(path);

	return rc < 0 ? rc : identity_load_or_create(id, path);
}

int daemon_key_exit(int rc)
{
	return rc == -EACCES || rc == -EINVAL ? EXIT_USAGE : EXIT_TEMP;
}

int daemon_signals(uv_loop_t *loop, uv_signal_t *sig, const int *signums, int n,
                   uv_signal_cb cb)
{
	int i, rc = 0;

	for (i = 0; i < n; i++)
		uv_signal_init(loop, &sig[i]);
	for (i = 0; i < n && rc == 0; i++)
		rc = uv_signal_start(&sig[i], cb, signums[i]);
	return rc;
}

int daemon_detach(uv_loop_t *loop)
{
	if (daemon(1, 1) < 0)
		return -errno;
	return uv_loop_fork(loop);
}

/* What every program's main() shares: the standard flags (STYLE habit 16:
 * -d -n -v -c FILE -o key=value -h, plus -k print public key and -s PATH
 * send one admin request), reading the config file and its overrides, and
 * the exit codes. lib/ never exits: these return codes for main to use. */
#ifndef SM_DAEMON_H
#define SM_DAEMON_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>
#include "config.h"
#include "keys.h"

#define EXIT_ERR 1     /* a request was answered err */
#define EXIT_USAGE 100 /* usage or config error: restarting will not help */
#define EXIT_TEMP 111  /* temporary failure: cannot bind, peer down, ... */

#define DAEMON_MAX_OVERRIDES 64

struct daemon_flags {
	const char *conf;      /* -c, else the default path */
	int conf_explicit;     /* -c was given: a missing file is an error */
	int foreground;        /* -d */
	int check;             /* -n */
	int verbose;           /* -v */
	int help;              /* -h */
	int print_key;         /* -k */
	const char *client;    /* -s PATH ("-": the configured admin socket) */
	char *overrides[DAEMON_MAX_OVERRIDES]; /* -o, in order */
	int noverrides;
	int nwords;            /* words after the flags (the -s request) */
	char **words;
	int usage;             /* set by daemon_setup: DAEMON_USAGE_* to print */
};

#define DAEMON_GO (-1)          /* daemon_setup: go on with the program */
#define DAEMON_USAGE_SHORT 1    /* bad flags: the short usage, to stderr */
#define DAEMON_USAGE_FULL 2     /* -h: the full usage, to stdout */

/* What a daemon's main hands daemon_setup. */
struct daemon_spec {
	const char *default_conf;
	const struct config_key *keys;
	int hup_reloads;      /* SIGHUP is the program's own; else ignored */
	const char *verb;     /* words without -s allowed when the first is this */
};

/*
 * Parses argv. Returns 0, or EXIT_USAGE with a one-line reason in err
 * (unknown flag, too many -o, words without -s, -s without words).
 */
int daemon_parse_flags(int argc, char **argv, const char *default_conf,
                       struct daemon_flags *f, char *err, size_t err_size);

/* Loads f->conf (a missing default file is fine), then applies every -o.
 * Returns 0 or a negative errno with "<file>:<line>: ..." or similar in err. */
int daemon_read_config(struct config *c, const struct daemon_flags *f,
                       char *err, size_t err_size);

/*
 * The start every daemon's main shares, after log_init: SIGPIPE (and,
 * unless spec->hup_reloads, SIGHUP) ignored, the flags, libsodium, c made
 * from spec->keys and read (file, then -o). Returns DAEMON_GO with c to
 * config_release later, or main's exit code with c released: 0 for -h,
 * EXIT_USAGE for bad flags or config, EXIT_TEMP if initialising failed.
 * Then err says what to print ("" for nothing) and f->usage which usage.
 */
int daemon_setup(int argc, char **argv, const struct daemon_spec *spec,
                 struct daemon_flags *f, struct config *c, char *err, size_t err_size);

/*
 * -s or -k, after daemon_setup: the admin request (to f->client, "-" being
 * the config's admin_socket) or the public key of the config's key_file
 * (made when missing). Returns main's exit code with the reply, the key or
 * "prog: why" in out, for main to print (stdout when 0, else stderr); or
 * DAEMON_GO when neither flag was given.
 */
int daemon_oneshot(const char *prog, const struct daemon_flags *f, const struct config *c,
                   int timeout_ms, char *out, size_t out_size);

/* Numeric "IPv4:port" or "[IPv6]:port" (no DNS) into ss; -EINVAL if not. */
int daemon_parse_sockaddr(const char *text, struct sockaddr_storage *ss);

/* Ensures the directory holding path exists (mode 0700 when created). */
int daemon_mkdir_parent(const char *path);

/* A socket mode as config text: octal digits only, 0 to 0777. 0 or -EINVAL. */
int daemon_parse_mode(const char *text, mode_t *mode);

/*
 * -s: the words, each escaped as line_split reads them, as one request to
 * the admin socket at path, waiting up to timeout_ms. Returns main's exit
 * code: 0 for an ok reply, EXIT_ERR for any other reply (the reply in out);
 * EXIT_USAGE if the words do not fit one line, EXIT_TEMP if no reply came
 * (out then says "prog: why"). Prints nothing.
 */
int daemon_client(const char *prog, const char *path, int argc, char **argv,
                  int timeout_ms, char *out, size_t out_size);

/* The key file: its directory made when missing (0700), then
 * identity_load_or_create. Returns 0 or a negative errno (-EACCES also for a
 * key that group or others may read). */
int daemon_load_identity(struct identity *id, const char *path);

/* main's exit code for a failed daemon_load_identity: EXIT_USAGE when the
 * file itself is wrong (-EACCES, -EINVAL), else EXIT_TEMP. */
int daemon_key_exit(int rc);

/* daemon_load_identity for main: 0, or its exit code (daemon_key_exit)
 * with what to log in err: `event=key_failed path=.. err=".."` (and a hint
 * for a key others may read). */
int daemon_identity(struct identity *id, const char *path, char *err, size_t err_size);

/* Starts sig[i] for signums[i], i < n, all calling cb. 0 or a negative errno;
 * the handles are initialised either way, so the caller closes them. */
int daemon_signals(uv_loop_t *loop, uv_signal_t *sig, const int *signums, int n,
                   uv_signal_cb cb);

/* Without -d: leaves the terminal but keeps stderr (under a supervisor that
 * is the journal), then tells loop it lives in the child. 0 or -errno. */
int daemon_detach(uv_loop_t *loop);

#endif

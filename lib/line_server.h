/* The three ways a helper or admin socket is driven with the same verbs: a
 * UNIX socket server on a libuv loop, lines from a FILE (stdin), and one
 * request from the command line. */
#ifndef SM_LINE_SERVER_H
#define SM_LINE_SERVER_H

#include <stdio.h>
#include <sys/types.h>
#include <uv.h>
#include "verb.h"

struct line_server;

/* Who may talk to the socket, checked with SO_PEERCRED before any request is
 * read: root always; else uid == allow_uid or gid == allow_gid (-1: nobody). */
struct line_server_opts {
	const char *path;
	mode_t mode;        /* e.g. 0660; 0: 0660 */
	uid_t allow_uid;
	gid_t allow_gid;
	int max_clients;    /* 0: 64 */
};

/* The SO_PEERCRED decision above, for a peer's uid and primary gid: 1 allowed,
 * 0 not. (The server also accepts a peer whose supplementary groups hold
 * allow_gid, read with SO_PEERGROUPS.) */
int line_peer_allowed(uid_t uid, gid_t gid, const struct line_server_opts *opts);

/* Binds (replacing a stale socket file), chmods and listens. Returns 0 and
 * *out, or a negative errno with nothing left behind. */
int line_server_new(uv_loop_t *loop, const struct line_server_opts *opts,
                    const struct verb *table, void *ctx, struct line_server **out);
/* Closes the listener and every client, unlinks the socket path; memory is
 * freed from close callbacks, so run the loop afterwards. */
void line_server_free(struct line_server *srv);

/* Reads requests from f one per line, writes one reply line each to out.
 * Returns the number of err replies (0: all ok). */
int line_run_file(const struct verb *table, void *ctx, FILE *f, FILE *out);

/* One request from argv words (already split by the shell): prints an ok
 * reply to out, an err reply to err. Returns 0 on ok, 1 on err. */
int line_run_argv(const struct verb *table, void *ctx, int argc, char **argv,
                  FILE *out, FILE *err);

#endif

/* Runs a plan against wgrelay, one request at a time on its UNIX socket: the
 * main steps in order; on the first err the done steps are undone in reverse;
 * cleanup steps after them are best effort. */
#ifndef CD_TUNNEL_H
#define CD_TUNNEL_H

#include <uv.h>
#include "plan.h"

struct tunnel_run;

/* status 0: every main step answered ok, msg is the last main step's reply
 * (e.g. iface ensure's "ok name=... pubkey=..."). Else a negative errno
 * (-EIO: wgrelay answered err) after the rollback, msg says which step. */
typedef void (*tunnel_done_fn)(void *arg, int status, const char *msg);

/* Starts running p (taken: freed by the run, even on error). *out is set
 * before the first request goes out; a run that ends at once (an empty plan,
 * no socket) calls done before this returns, so done should clear *out.
 * Returns 0, or a negative errno without calling done. */
int tunnel_run_start(uv_loop_t *loop, const char *socket_path, int timeout_ms,
                     struct plan *p, tunnel_done_fn done, void *arg,
                     struct tunnel_run **out);

/* The owner goes away: done will not run, and the run stops after the
 * request in flight, which frees it. */
void tunnel_run_abandon(struct tunnel_run *r);

#endif

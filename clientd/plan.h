/* The wgrelay requests that take the interface from one tunnel_conf to
 * another, each with the request that undoes it. Pure: the order of the
 * requests is the behaviour (new peer before old, rules after routes), so it
 * is built here and tested without wgrelay. */
#ifndef CD_PLAN_H
#define CD_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "wgconf.h"

#define PLAN_REQ_MAX 768
#define PLAN_MAX_STEPS 48

struct plan_step {
	char req[PLAN_REQ_MAX];
	char undo[PLAN_REQ_MAX]; /* "" when nothing is to undo */
	int cleanup;             /* after the main steps: a failure is only logged */
};

struct plan {
	struct plan_step steps[PLAN_MAX_STEPS];
	size_t n;
	int overflow;
};

/* The interface and the policy routing numbers of the config. */
struct plan_opts {
	const char *iface;
	uint32_t table, fwmark, priority;
};

/*
 * From `have` to `want`: address, peer, routes, rules, bypass rules (each
 * only if not already there, with its undo), then cleanup steps removing
 * what `have` had and `want` does not (the old peer last of all the adds, so
 * a rotation never leaves the tunnel without a peer). 0 or -E2BIG.
 */
int plan_up(const struct plan_opts *o, const struct tunnel_conf *have,
            const struct tunnel_conf *want, struct plan *p);

/*
 * Takes `have` down: the peer first, then (unless keep_routes: a full
 * tunnel failing closed) rules, routes and the address. Steps have no undo
 * and are all cleanup (best effort). *after gets what remains. 0 or -E2BIG.
 */
int plan_down(const struct plan_opts *o, const struct tunnel_conf *have, int keep_routes,
              struct plan *p, struct tunnel_conf *after);

/* The first wgrelay request of all: `iface ensure NAME [port P] fwmark M`. */
int plan_iface(const struct plan_opts *o, unsigned port, struct plan *p);

void plan_init(struct plan *p);
/* Drops every undo: for re-applying a stored session at start, where
 * rolling back would remove a fail-closed full tunnel's routes. */
void plan_no_undo(struct plan *p);

#endif

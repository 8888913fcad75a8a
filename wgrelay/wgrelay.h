/* wgrelay's process state, shared by its verb files. */
#ifndef WGRELAY_H
#define WGRELAY_H

#include <uv.h>
#include "verb.h"

struct wg_backend;   /* wg.h: kernel or userspace WireGuard */
struct relay_table;  /* relay.h: the ciphertext relay sessions */
struct probe_table;  /* probe.h: direct-path probes */

struct wgrelay {
	uv_loop_t *loop;
	int serving;                 /* 1 under -l: relay sessions need a running loop */
	const struct wg_backend *wg; /* chosen at start-up */
	struct relay_table *relays;  /* NULL unless serving */
	struct probe_table *probes;  /* probe.h: made by the first probe verb */
	char relay_bind[64];         /* address relay ports bind to (config relay_bind) */
};

/* Every verb wgrelay answers, ending with {NULL} (verbs.c). */
extern const struct verb wgrelay_verbs[];

#endif

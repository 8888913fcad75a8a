/* wgrelay's /metrics under -l: the relay's sessions, bytes, packets and
 * drops, read from the relay table at each scrape. */
#ifndef WGRELAY_OBSERVE_H
#define WGRELAY_OBSERVE_H

#include <uv.h>
#include "metrics_http.h"
#include "wgrelay.h"

struct wgrelay_metrics {
	struct wgrelay *w;
	struct metrics *reg;
	struct metrics_http mh;
	struct metric *sessions, *bytes[2], *packets[2], *drops[5];
};

/* Makes the registry and serves it on listen ("": registry only). 0 or a
 * negative errno; wgrelay_metrics_stop then _release in every case. */
int wgrelay_metrics_start(struct wgrelay_metrics *wm, struct wgrelay *w, uv_loop_t *loop,
                          const char *listen);
void wgrelay_metrics_stop(struct wgrelay_metrics *wm);
void wgrelay_metrics_release(struct wgrelay_metrics *wm);
/* Brings the series up to the relay table's counters (also the refresh). */
void wgrelay_metrics_update(struct wgrelay_metrics *wm);

#endif

/* wgrelay's metrics: the relay table's totals (they only grow: deleted
 * sessions are kept in them) turned into Prometheus counters at each scrape. */
#include <errno.h>
#include <string.h>
#include "relay.h"
#include "observe.h"

static const char *const dir_names[2] = {
	[RELAY_C2E] = "client_to_exit",
	[RELAY_E2C] = "exit_to_client",
};
static const char *const drop_names[5] = { "stranger", "nodest", "rate", "oversize", "send" };

/* A counter brought up to an absolute value read elsewhere. */
static void counter_to(struct metric *c, uint64_t v)
{
	uint64_t have = metrics_counter_value(c);

	if (v > have)
		metrics_counter_add(c, v - have);
}

void wgrelay_metrics_update(struct wgrelay_metrics *wm)
{
	struct relay_totals t;
	int d, i;

	if (!wm->w->relays)
		return;
	relay_table_totals(wm->w->relays, &t);
	const uint64_t why[5] = { t.why.stranger, t.why.nodest, t.why.rate, t.why.oversize,
	                          t.why.send };
	metrics_gauge_set(wm->sessions, (double)t.sessions);
	for (d = 0; d < 2; d++) {
		counter_to(wm->bytes[d], t.dir_bytes[d]);
		counter_to(wm->packets[d], t.dir_packets[d]);
	}
	for (i = 0; i < 5; i++)
		counter_to(wm->drops[i], why[i]);
}

static void refresh(void *arg)
{
	wgrelay_metrics_update(arg);
}

static int make_series(struct wgrelay_metrics *wm)
{
	struct metrics *m = wm->reg;
	const char *l[3] = { NULL, NULL, NULL };
	int d, i;

	wm->sessions = metrics_gauge_new(m, "relay_sessions_active", "Relay sessions open now.");
	for (d = 0; d < 2; d++) {
		l[0] = "direction";
		l[1] = dir_names[d];
		wm->bytes[d] = metrics_counter_new_labels(m, "relay_bytes_total",
		                                          "Ciphertext bytes relayed.", l);
		wm->packets[d] = metrics_counter_new_labels(m, "relay_packets_total",
		                                            "Datagrams relayed.", l);
		if (!wm->bytes[d] || !wm->packets[d])
			return -ENOMEM;
	}
	for (i = 0; i < 5; i++) {
		l[0] = "reason";
		l[1] = drop_names[i];
		if (!(wm->drops[i] = metrics_counter_new_labels(m, "relay_drops_total",
		                                                "Datagrams dropped, by reason.",
		                                                l)))
			return -ENOMEM;
	}
	return wm->sessions ? 0 : -ENOMEM;
}

int wgrelay_metrics_start(struct wgrelay_metrics *wm, struct wgrelay *w, uv_loop_t *loop,
                          const char *listen)
{
	memset(wm, 0, sizeof(*wm));
	wm->w = w;
	if (!(wm->reg = metrics_new()) || make_series(wm) < 0)
		return -ENOMEM;
	wm->mh.m = wm->reg;
	wm->mh.refresh = refresh;
	wm->mh.arg = wm;
	return metrics_http_start(&wm->mh, loop, listen);
}

void wgrelay_metrics_stop(struct wgrelay_metrics *wm)
{
	metrics_http_stop(&wm->mh);
}

void wgrelay_metrics_release(struct wgrelay_metrics *wm)
{
	metrics_free(wm->reg);
	wm->reg = NULL;
}

/* A daemon's /metrics endpoint: its registry served over lib/httpd, with the
 * process metrics (memory, CPU, fds, start time) read from /proc/self at
 * each scrape. Also the metric names every daemon shares (DESIGN 9). */
#ifndef SM_METRICS_HTTP_H
#define SM_METRICS_HTTP_H

#include <uv.h>
#include "httpd.h"
#include "metrics.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4"

/* Heartbeat RTT buckets (ms) and command latency buckets (s). */
extern const double metrics_rtt_ms_bounds[];
extern const size_t metrics_rtt_ms_nbounds;
extern const double metrics_cmd_s_bounds[];
extern const size_t metrics_cmd_s_nbounds;

/* Called before each render so the daemon can refresh gauges it samples. */
typedef void (*metrics_refresh_fn)(void *arg);

/* The endpoint's state, embedded in the daemon: fill m (and refresh, arg),
 * then start. */
struct metrics_http {
	struct metrics *m;
	metrics_refresh_fn refresh;  /* or NULL */
	void *arg;
	struct httpd *httpd;         /* NULL: not serving */
};

/* Serves GET /metrics on listen ("IP:port"; NULL or "": nothing served, 0).
 * mh and its registry must outlive the server. 0 or httpd_new's errors. */
int metrics_http_start(struct metrics_http *mh, uv_loop_t *loop, const char *listen);
/* Stops serving (run the loop afterwards); fine when not started. */
void metrics_http_stop(struct metrics_http *mh);

/* The page /metrics serves: m rendered, then process_resident_memory_bytes,
 * process_cpu_seconds_total (a counter with fractions, which the registry's
 * integer counters cannot hold), process_open_fds and
 * process_start_time_seconds from /proc/self (a series that cannot be read
 * is left out). *out is malloc'd, *len bytes plus a NUL. 0 or -ENOMEM. */
int metrics_http_render(const struct metrics *m, char **out, size_t *len);

#endif

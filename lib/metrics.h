/* A registry of counters, gauges and histograms rendered as Prometheus text
 * exposition 0.0.4, for every daemon's /metrics. One loop thread: no locking. */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 32

struct metrics;
struct metric; /* one series; owned by its registry, valid until metrics_free */

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Each returns the series, or NULL with errno EINVAL (bad name, label or
 * bounds, name already used by another type) or ENOMEM. Names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. The _labels
 * variants take up to METRICS_MAX_LABELS pairs, { "key", "value", ..., NULL };
 * series of one name share the first caller's help text (and bounds). Asking
 * again for an existing name and label set returns the same series.
 * Histogram bounds are finite and strictly increasing; +Inf is implied.
 */
struct metric *metrics_counter_new(struct metrics *m, const char *name, const char *help);
struct metric *metrics_gauge_new(struct metrics *m, const char *name, const char *help);
struct metric *metrics_histogram_new(struct metrics *m, const char *name, const char *help,
                                     const double *bounds, size_t nbounds);
struct metric *metrics_counter_new_labels(struct metrics *m, const char *name,
                                          const char *help, const char *const *labels);
struct metric *metrics_gauge_new_labels(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels);
struct metric *metrics_histogram_new_labels(struct metrics *m, const char *name,
                                            const char *help, const double *bounds,
                                            size_t nbounds, const char *const *labels);

/* Updates; a series of another type is left alone. */
void metrics_counter_add(struct metric *c, uint64_t n);
void metrics_gauge_set(struct metric *g, double v);
void metrics_gauge_add(struct metric *g, double delta);
void metrics_histogram_observe(struct metric *h, double v);

/* Current values, for tests and admin output. */
uint64_t metrics_counter_value(const struct metric *c);
double metrics_gauge_value(const struct metric *g);

/* The whole registry as exposition text in *out (malloc'd, the caller frees
 * it), *len bytes plus a NUL. Returns 0 or -ENOMEM. */
int metrics_render(const struct metrics *m, char **out, size_t *len);

#endif

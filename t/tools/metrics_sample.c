/* Prints a registry using every metrics feature (labels, escaping, all three
 * types) so an independent exposition parser can check lib/metrics output:
 *   metrics_sample | python3 -c 'import sys, prometheus_client.parser as p;
 *       list(p.text_string_to_metric_families(sys.stdin.read()))' */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "metrics.h"

int main(void)
{
	static const double bounds[] = { 0.001, 0.01, 0.1, 1, 10 };
	static const char *const a[] = { "peer", "a\\b \"c\"\nd", "role", "client", NULL };
	static const char *const b[] = { "peer", "b", "role", "exit", NULL };
	struct metrics *m = metrics_new();
	struct metric *c1, *c2, *g, *h;
	char *out = NULL;
	size_t len;
	int ret = 1;

	if (!m)
		return 1;
	c1 = metrics_counter_new_labels(m, "sm_frames_total", "Frames \\ received\nper peer.", a);
	c2 = metrics_counter_new_labels(m, "sm_frames_total", "", b);
	g = metrics_gauge_new(m, "sm_peers", "Connected peers.");
	h = metrics_histogram_new_labels(m, "sm_rtt_seconds", "Heartbeat RTT.", bounds, 5, b);
	if (!c1 || !c2 || !g || !h)
		goto out;
	metrics_counter_add(c1, 42);
	metrics_counter_add(c2, 7);
	metrics_gauge_set(g, -0.25);
	metrics_histogram_observe(h, 0.0005);
	metrics_histogram_observe(h, 0.05);
	metrics_histogram_observe(h, 100);
	if (metrics_render(m, &out, &len) < 0)
		goto out;
	ret = fwrite(out, 1, len, stdout) == len ? 0 : 1;
out:
	free(out);
	metrics_free(m);
	return ret;
}

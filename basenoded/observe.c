/* basenoded's metrics: streams, auth failures and floods (the standard
 * set of metrics_std.c, counted in stream.c),
 * the directory's size, read at each scrape of GET /metrics. */
#include <errno.h>
#include "metrics_std.h"
#include "stream.h"
#include "basenoded.h"

static void count_stream(void *arg, const struct sn_stream *s)
{
	size_t *n = arg;

	n[s->state == SN_HANDSHAKE ? 0 : 1]++;
	if (s->state == SN_REGISTERED)
		n[2]++;
}

static void refresh(void *arg)
{
	struct basenoded *bn = arg;
	size_t n[3] = { 0, 0, 0 };

	if (bn->streams)
		stream_server_each(bn->streams, count_stream, n);
	metrics_gauge_set(bn->m_handshakes, (double)n[0]);
	metrics_gauge_set(bn->m_streams, (double)n[1]);
	metrics_gauge_set(bn->m_registered, (double)n[2]);
	metrics_gauge_set(bn->m_blacklisted, (double)bn->dir.nblack);
}

int observe_start(struct basenoded *bn, const char *listen)
{
	struct metrics *m = metrics_new();

	if (!(bn->metrics = m))
		return -ENOMEM;
	if (metrics_std_new(m, &(struct metrics_std){
	            .streams = &bn->m_streams, .auth_failures = &bn->auth_failures,
	            .flood = &bn->m_flood,
	            .streams_help = "Authenticated supernode streams open now.",
	            .auth_help = "Streams refused at authentication (policy, rate limit or "
	                         "bad signature)." }) < 0)
		return -ENOMEM;
	bn->m_handshakes = metrics_gauge_new(m, "basenoded_handshakes_pending",
	                                     "Connections still in their handshake.");
	bn->m_registered = metrics_gauge_new(m, "basenoded_supernodes_registered",
	                                     "Supernodes registered in the directory.");
	bn->m_blacklisted = metrics_gauge_new(m, "basenoded_supernodes_blacklisted",
	                                      "Supernode keys on the blacklist.");
	if (!bn->m_handshakes || !bn->m_registered || !bn->m_blacklisted)
		return -ENOMEM;
	bn->mhttp.m = m;
	bn->mhttp.refresh = refresh;
	bn->mhttp.arg = bn;
	return metrics_http_start(&bn->mhttp, bn->loop, listen);
}

void observe_stop(struct basenoded *bn)
{
	metrics_http_stop(&bn->mhttp);
}

void observe_release(struct basenoded *bn)
{
	bn->auth_failures = NULL;
	bn->m_flood = NULL;
	metrics_free(bn->metrics);
	bn->metrics = NULL;
}

/* exitpeerd's metrics: the stream, heartbeat RTT (sampled at each
 * heartbeat), commands applied, WireGuard peers (one per session). */
#include <errno.h>
#include <stdio.h>
#include "metrics_std.h"
#include "peerlink.h"
#include "exitpeerd.h"

static void refresh(void *arg)
{
	struct exitpeer *ep = arg;

	metrics_gauge_set(ep->m_streams, exitpeer_is_up(ep));
	metrics_gauge_set(ep->m_wg_peers, (double)ep->nsessions);
	metrics_gauge_set(ep->m_load, exitpeer_load_pct(ep));
}

int ep_observe_new(struct exitpeer *ep, char *err, size_t err_size)
{
	struct metrics *m = metrics_new();

	if (!(ep->metrics = m))
		goto nomem;
	if (metrics_std_new(m, &(struct metrics_std){
	            .streams = &ep->m_streams, .auth_failures = &ep->m_auth,
	            .rtt_ms = &ep->m_rtt, .cmd_latency = &ep->m_cmd_lat,
	            .cmd_ok = &ep->m_cmd_ok, .cmd_fail = &ep->m_cmd_fail }) < 0)
		goto nomem;
	ep->m_wg_peers = metrics_gauge_new(m, "wg_peers_count",
	                                   "WireGuard peers (client sessions) configured.");
	ep->m_load = metrics_gauge_new(m, "exitpeerd_pool_load_pct",
	                               "Client addresses in use, percent of the pool.");
	if (!ep->m_wg_peers || !ep->m_load)
		goto nomem;
	ep->mhttp.m = m;
	ep->mhttp.refresh = refresh;
	ep->mhttp.arg = ep;
	return 0;
nomem:
	snprintf(err, err_size, "metrics: out of memory");
	return -ENOMEM;
}

int exitpeer_metrics_start(struct exitpeer *ep, const char *listen)
{
	return metrics_http_start(&ep->mhttp, ep->loop, listen);
}

void ep_observe_stop(struct exitpeer *ep)
{
	metrics_http_stop(&ep->mhttp);
}

void ep_observe_release(struct exitpeer *ep)
{
	metrics_free(ep->metrics);
	ep->metrics = NULL;
}

void ep_observe_down(struct exitpeer *ep, int status)
{
	if (status == -EACCES || status == -EKEYREJECTED)
		metrics_counter_add(ep->m_auth, 1);
}

void ep_observe_rtt(struct exitpeer *ep)
{
	int64_t rtt = exitpeer_is_up(ep) ? peerlink_rtt_ms(ep->pl) : -1;

	if (rtt >= 0)
		metrics_histogram_observe(ep->m_rtt, (double)rtt);
}

void ep_observe_command(struct exitpeer *ep, int ok, uint64_t started_ns)
{
	metrics_counter_add(ok ? ep->m_cmd_ok : ep->m_cmd_fail, 1);
	if (started_ns)
		metrics_histogram_observe(ep->m_cmd_lat,
		                          (double)(uv_hrtime() - started_ns) / 1e9);
}

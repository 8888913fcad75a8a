/* What clientd shows of itself: its metrics registry and /metrics, the
 * heartbeat RTT sampled once per heartbeat, and the WireGuard peer's
 * counters polled from wgrelay (`peer list`) for status and metrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "keys.h"
#include "line_client.h"
#include "log.h"
#include "peerlink.h"
#include "clientd.h"

#define DEF_OBSERVE_MS 10000

/* A peer list in flight; cd is cleared if clientd goes first. */
struct stats_req {
	struct clientd *cd;
};

static const char *const recv_l[] = { "role", "receiver", NULL };
static const char *const sent_l[] = { "role", "sender", NULL };

static int make_series(struct cd_metrics *m)
{
	m->streams = metrics_gauge_new(m->reg, "active_streams_total",
	                               "Authenticated control streams open now (0 or 1).");
	m->auth_failures = metrics_counter_new(m->reg, "stream_auth_failures_total",
	                                       "Streams refused at authentication or "
	                                       "with a wrong server key.");
	m->rtt_ms = metrics_histogram_new(m->reg, "peer_heartbeat_latency_ms",
	                                  "Heartbeat round trip to the supernode, sampled "
	                                  "once per heartbeat.",
	                                  metrics_rtt_ms_bounds, metrics_rtt_ms_nbounds);
	m->cmd_latency = metrics_histogram_new(m->reg, "command_latency_seconds",
	                                       "From a command's arrival to its answer.",
	                                       metrics_cmd_s_bounds, metrics_cmd_s_nbounds);
	m->cmd_ok = metrics_counter_new_labels(m->reg, "command_success_total",
	                                       "Commands that succeeded.", recv_l);
	m->sent_ok = metrics_counter_new_labels(m->reg, "command_success_total", "", sent_l);
	m->cmd_fail = metrics_counter_new_labels(m->reg, "command_failure_total",
	                                         "Commands that failed or went unanswered.",
	                                         recv_l);
	m->sent_fail = metrics_counter_new_labels(m->reg, "command_failure_total", "", sent_l);
	m->wg_peers = metrics_gauge_new(m->reg, "wg_peers_count",
	                                "WireGuard peers configured on the tunnel interface.");
	m->exit_requests = metrics_counter_new(m->reg, "clientd_exit_requests_total",
	                                       "ExitRequests sent to the supernode.");
	m->connected = metrics_gauge_new(m->reg, "clientd_connected",
	                                 "1 while the tunnel is up through an exit.");
	if (!m->streams || !m->auth_failures || !m->rtt_ms || !m->cmd_latency || !m->cmd_ok ||
	    !m->sent_ok || !m->cmd_fail || !m->sent_fail || !m->wg_peers || !m->exit_requests ||
	    !m->connected)
		return -ENOMEM;
	return 0;
}

/* Gauges read from the core at each scrape. */
static void refresh(void *arg)
{
	struct clientd *cd = arg;
	struct cd_metrics *m = &cd->met;
	uint64_t sent = metrics_counter_value(m->exit_requests);

	metrics_gauge_set(m->streams, cd->link && peerlink_is_up(cd->link));
	metrics_gauge_set(m->wg_peers, cd->installed.has_peer);
	metrics_gauge_set(m->connected, cd->s.state == CS_CONNECTED);
	if (cd->exit_requests > sent)
		metrics_counter_add(m->exit_requests, cd->exit_requests - sent);
}

/* "ok count=1 peer=B64,ENDPOINT,HANDSHAKE,RX,TX": our peer's counters. */
static int parse_peer_list(const char *reply, const uint8_t key[32], struct cd_peer_stats *ps)
{
	char buf[LINE_MAX_LEN + 1], *argv[LINE_MAX_ARGS], b64[KEY_B64_LEN], *f[5], *save;
	const char *why;
	int i, n, k;

	key_to_base64(key, b64);
	snprintf(buf, sizeof(buf), "%s", reply);
	n = line_split(buf, strlen(buf), argv, LINE_MAX_ARGS, &why);
	for (i = 1; i < n; i++) {
		if (strncmp(argv[i], "peer=", 5))
			continue;
		for (k = 0, save = NULL; k < 5; k++)
			if (!(f[k] = strtok_r(k ? NULL : argv[i] + 5, ",", &save)))
				break;
		if (k < 5 || strcmp(f[0], b64))
			continue;
		if (sscanf(f[2], "%" SCNd64, &ps->last_handshake_s) != 1 ||
		    sscanf(f[3], "%" SCNu64, &ps->rx_bytes) != 1 ||
		    sscanf(f[4], "%" SCNu64, &ps->tx_bytes) != 1)
			return -EINVAL;
		memcpy(ps->key, key, 32);
		ps->valid = 1;
		return 0;
	}
	return -ENOENT;
}

static void on_peer_list(void *arg, int status, const char *reply)
{
	struct stats_req *sr = arg;
	struct clientd *cd = sr->cd;
	int64_t last;
	uint64_t last_rx;

	free(sr);
	if (!cd)
		return;
	cd->stats_req = NULL;
	last = cd->stats.last_handshake_s;
	last_rx = cd->stats.rx_bytes;
	if (status < 0 || line_reply_parse(reply, NULL, 0, NULL, 0) != 1 ||
	    !cd->installed.has_peer ||
	    parse_peer_list(reply, cd->installed.peer, &cd->stats) < 0)
		log_debug("event=peer_stats_unavailable status=%d", status);
	else if (cd->stats.last_handshake_s != last || cd->stats.rx_bytes != last_rx)
		/* The supernode's path choice: a new handshake proves a path,
		 * rx that stops growing (despite keepalives) says it broke. */
		clientd_send_info(cd);
}

static void poll_stats(struct clientd *cd)
{
	char req[128] = "peer list ", b64[KEY_B64_LEN];
	struct stats_req *sr;

	if (!cd->installed.has_peer) {
		memset(&cd->stats, 0, sizeof(cd->stats));
		return;
	}
	if (cd->stats_req || !cd->have_wg || !(sr = calloc(1, sizeof(*sr))))
		return;
	sr->cd = cd;
	/* Only our exit's peer: the interface may hold more than a reply line. */
	key_to_base64(cd->installed.peer, b64);
	line_escape(req, sizeof(req), cd->o.wg_iface);
	snprintf(req + strlen(req), sizeof(req) - strlen(req), " %s", b64);
	if (line_request_async(cd->loop, cd->o.wgrelay_socket, req, cd->o.helper_timeout_ms,
	                       on_peer_list, sr) < 0) {
		free(sr);
		return;
	}
	cd->stats_req = sr;
}

void observe_poll_now(struct clientd *cd)
{
	poll_stats(cd);
}

static void on_observe(uv_timer_t *t)
{
	struct clientd *cd = t->data;
	int64_t rtt = cd->link && peerlink_is_up(cd->link) ? peerlink_rtt_ms(cd->link) : -1;

	if (rtt >= 0)
		metrics_histogram_observe(cd->met.rtt_ms, (double)rtt);
	poll_stats(cd);
}

int observe_start(struct clientd *cd, char *err, size_t err_size)
{
	uint64_t ms = cd->o.heartbeat_ms ? cd->o.heartbeat_ms : DEF_OBSERVE_MS;
	int rc;

	if (!(cd->met.reg = metrics_new()) || make_series(&cd->met) < 0) {
		snprintf(err, err_size, "metrics: out of memory");
		return -ENOMEM;
	}
	cd->mhttp.m = cd->met.reg;
	cd->mhttp.refresh = refresh;
	cd->mhttp.arg = cd;
	rc = metrics_http_start(&cd->mhttp, cd->loop, cd->o.metrics_listen);
	if (rc < 0) {
		snprintf(err, err_size, "metrics_listen %s: %s", cd->o.metrics_listen,
		         strerror(-rc));
		return rc;
	}
	/* First sample after the first Pong can have come back. */
	uv_timer_start(&cd->observe_timer, on_observe, ms + ms / 2, ms);
	return 0;
}

void observe_stop(struct clientd *cd)
{
	metrics_http_stop(&cd->mhttp);
	uv_timer_stop(&cd->observe_timer);
	if (cd->stats_req)
		cd->stats_req->cd = NULL; /* its reply frees it */
	cd->stats_req = NULL;
}

void observe_release(struct clientd *cd)
{
	metrics_free(cd->met.reg);
	cd->met.reg = NULL;
}

void observe_stream_down(struct clientd *cd, int status)
{
	if (status == -EACCES || status == -EKEYREJECTED)
		metrics_counter_add(cd->met.auth_failures, 1);
}

void observe_command_done(struct clientd *cd, int ok)
{
	metrics_counter_add(ok ? cd->met.cmd_ok : cd->met.cmd_fail, 1);
	if (cd->cmd_started_ns)
		metrics_histogram_observe(cd->met.cmd_latency,
		                          (double)(uv_hrtime() - cd->cmd_started_ns) / 1e9);
	cd->cmd_started_ns = 0;
}

void observe_sent_done(struct clientd *cd, int ok)
{
	metrics_counter_add(ok ? cd->met.sent_ok : cd->met.sent_fail, 1);
}

int64_t observe_handshake_age(const struct clientd *cd)
{
	time_t now = time(NULL);

	if (!cd->stats.valid || cd->stats.last_handshake_s <= 0 ||
	    cd->stats.last_handshake_s > (int64_t)now)
		return -1;
	return (int64_t)now - cd->stats.last_handshake_s;
}

/* supernoded's metrics (DESIGN 9): streams and auth failures (stream.c),
 * commands sent to peers with their latency (sn_command_send), heartbeat
 * RTT, CPU and network rates (each heartbeat), path and NAT counts (each
 * scrape of GET /metrics). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "directory.h"
#include "metrics_std.h"
#include "peer.h"
#include "peerlink.h"
#include "reflect.h"
#include "session.h"
#include "stream.h"

static const char *const path_names[3] = { "direct", "relay", "relay_chain" };
static const char *const nat_names[4] = { "none", "eim", "edm", "unknown" };
static const char *const test_names[3] = { "ok", "failed", "unsupported" }; /* enum ps_test */

/* A counter mirroring a total the daemon keeps itself (punch.c, stream.c). */
static void mirror(struct metric *c, uint64_t total)
{
	uint64_t now = metrics_counter_value(c);

	if (total > now)
		metrics_counter_add(c, total - now);
}

static void refresh(void *arg)
{
	struct supernoded *sn = arg;
	const struct sn_session *s;
	size_t nat[4], path[3] = { 0, 0, 0 }, i;

	metrics_gauge_set(sn->m_streams, sn->streams ? (double)stream_server_count(sn->streams, 1)
	                                             : 0);
	metrics_gauge_set(sn->m_relays, (double)sn->relays_active);
	metrics_gauge_set(sn->m_cpu, sn->dir ? directory_cpu_pct(sn->dir) : 0);
	mirror(sn->m_upgrades, sn->path_upgrades);
	mirror(sn->m_fallbacks, sn->path_fallbacks);
	mirror(sn->m_punch_failed, sn->punch_failed);
	for (i = 0; i < 3; i++)
		mirror(sn->m_tests[i], sn->path_tests[i]);
	mirror(sn->m_refused_rate, sn->refused_rate);
	mirror(sn->m_flooded, sn->streams_flooded);
	for (s = sn->sessions; s; s = s->next)
		if (s->state == SS_ACTIVE && s->rec.path >= SUPERMESH__PATH_KIND__PATH_DIRECT &&
		    s->rec.path <= SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN)
			path[s->rec.path - SUPERMESH__PATH_KIND__PATH_DIRECT]++;
	for (i = 0; i < 3; i++)
		metrics_gauge_set(sn->m_path[i], (double)path[i]);
	reflect_counts(sn, nat);
	for (i = 0; i < 4; i++)
		metrics_gauge_set(sn->m_nat[i], (double)nat[i]);
}

static struct metric *labelled(struct metrics *m, const char *name, const char *help,
                               const char *key, const char *value)
{
	const char *const labels[] = { key, value, NULL };

	return metrics_gauge_new_labels(m, name, help, labels);
}

static int make_labelled(struct supernoded *sn)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (!(sn->m_path[i] = labelled(sn->metrics, "supernode_sessions_by_path",
		                               "Active sessions by the path their traffic takes.",
		                               "path", path_names[i])))
			return -ENOMEM;
	for (i = 0; i < 4; i++)
		if (!(sn->m_nat[i] = labelled(sn->metrics, "supernode_peers_by_nat",
		                              "Peers by the NAT class the reflectors found.",
		                              "nat", nat_names[i])))
			return -ENOMEM;
	for (i = 0; i < 3; i++) {
		const char *const labels[] = { "result", test_names[i], NULL };

		if (!(sn->m_tests[i] = metrics_counter_new_labels(
		              sn->metrics, "supernode_path_tests_total",
		              "Out-of-band tests of a direct path before a relay -> direct move, "
		              "by result.", labels)))
			return -ENOMEM;
	}
	return 0;
}

static int make_series(struct supernoded *sn)
{
	struct metrics *m = sn->metrics;

	if (metrics_std_new(m, &(struct metrics_std){
	            .streams = &sn->m_streams, .auth_failures = &sn->m_auth,
	            .rtt_ms = &sn->m_rtt, .cmd_latency = &sn->m_cmd_lat,
	            .cmd_ok = &sn->m_cmd_ok, .cmd_fail = &sn->m_cmd_fail,
	            .streams_help = "Authenticated peer streams open now.",
	            .auth_help = "Streams refused at authentication (policy, rate limit, "
	                         "capacity, bad signature or clock skew).",
	            .rtt_help = "Heartbeat round trip to basenoded and remote supernodes, "
	                        "sampled once per heartbeat.",
	            .cmd_latency_help = "From sending a command to its answer.",
	            .cmd_ok_help = "Commands a peer applied.",
	            .cmd_fail_help = "Commands refused or unanswered after every retry." }) < 0)
		return -ENOMEM;
	sn->m_relays = metrics_gauge_new(m, "relay_sessions_active",
	                                 "Relay sessions this supernode set up through wgrelay.");
	sn->m_cpu = metrics_gauge_new(m, "supernode_cpu_pct",
	                              "CPU use in percent of one core over the last heartbeat "
	                              "(the LoadReport value).");
	sn->m_tx = metrics_gauge_new(m, "supernode_net_tx_mbps",
	                             "Bytes sent by every interface but lo, Mbit/s over the "
	                             "last heartbeat.");
	sn->m_rx = metrics_gauge_new(m, "supernode_net_rx_mbps",
	                             "Bytes received by every interface but lo, Mbit/s over "
	                             "the last heartbeat.");
	sn->m_upgrades = metrics_counter_new(m, "supernode_path_upgrades_total",
	                                     "Sessions moved from the relay to a direct path.");
	sn->m_fallbacks = metrics_counter_new(m, "supernode_path_fallbacks_total",
	                                      "Sessions moved from a direct path to the relay.");
	sn->m_punch_failed = metrics_counter_new(m, "supernode_punch_failed_total",
	                                         "Hole punches that never saw a handshake.");
	sn->m_refused_rate = metrics_counter_new(m, "stream_refused_rate_total",
	                                         "Connections refused by the per-IP rate "
	                                         "before any crypto.");
	sn->m_flooded = metrics_counter_new(m, "stream_flood_closed_total",
	                                    "Streams closed for sending above max_msgs_per_s.");
	if (!sn->m_streams || !sn->m_auth || !sn->m_rtt || !sn->m_cmd_lat || !sn->m_cmd_ok ||
	    !sn->m_cmd_fail || !sn->m_relays || !sn->m_cpu || !sn->m_tx || !sn->m_rx ||
	    !sn->m_upgrades || !sn->m_fallbacks || !sn->m_punch_failed || !sn->m_refused_rate ||
	    !sn->m_flooded)
		return -ENOMEM;
	return make_labelled(sn);
}

int sn_metrics_start(struct supernoded *sn, const char *listen)
{
	int rc;

	if (!(sn->metrics = metrics_new()))
		return -ENOMEM;
	if ((rc = make_series(sn)) < 0)
		return rc;
	sn->mhttp.m = sn->metrics;
	sn->mhttp.refresh = refresh;
	sn->mhttp.arg = sn;
	return metrics_http_start(&sn->mhttp, sn->loop, listen);
}

void sn_metrics_stop(struct supernoded *sn)
{
	if (sn)
		metrics_http_stop(&sn->mhttp);
}

void sn_metrics_release(struct supernoded *sn)
{
	if (!sn)
		return;
	/* Every series goes with the registry: updates become no-ops. */
	sn->m_streams = sn->m_auth = sn->m_rtt = sn->m_cmd_lat = sn->m_cmd_ok = NULL;
	sn->m_cmd_fail = sn->m_relays = sn->m_cpu = sn->m_tx = sn->m_rx = NULL;
	sn->m_upgrades = sn->m_fallbacks = sn->m_punch_failed = NULL;
	sn->m_refused_rate = sn->m_flooded = NULL;
	memset(sn->m_path, 0, sizeof(sn->m_path));
	memset(sn->m_nat, 0, sizeof(sn->m_nat));
	memset(sn->m_tests, 0, sizeof(sn->m_tests));
	metrics_free(sn->metrics);
	sn->metrics = NULL;
}

/* Byte totals of every interface but lo in our namespace. 0 or -errno. */
static int net_bytes(uint64_t *tx, uint64_t *rx)
{
	FILE *f = fopen("/proc/self/net/dev", "re");
	char line[512], name[64];
	unsigned long long r, t;

	if (!f)
		return -errno;
	*tx = *rx = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %63[^:]: %llu %*u %*u %*u %*u %*u %*u %*u %llu", name, &r,
		           &t) == 3 &&
		    strcmp(name, "lo") != 0) {
			*rx += r;
			*tx += t;
		}
	fclose(f);
	return 0;
}

static void sample_net(struct supernoded *sn)
{
	uint64_t tx, rx, now = uv_now(sn->loop);

	if (net_bytes(&tx, &rx) < 0)
		return;
	/* Counters that went backwards (an interface gone) start a new window. */
	if (sn->net_at_ms && now > sn->net_at_ms && tx >= sn->net_tx && rx >= sn->net_rx) {
		double s = (double)(now - sn->net_at_ms) / 1000;

		metrics_gauge_set(sn->m_tx, (double)(tx - sn->net_tx) * 8 / 1e6 / s);
		metrics_gauge_set(sn->m_rx, (double)(rx - sn->net_rx) * 8 / 1e6 / s);
	}
	sn->net_tx = tx, sn->net_rx = rx, sn->net_at_ms = now;
}

void sn_observe_rtt(struct supernoded *sn, const struct peerlink *pl)
{
	int64_t rtt = pl && peerlink_is_up(pl) ? peerlink_rtt_ms(pl) : -1;

	if (sn->metrics && rtt >= 0)
		metrics_histogram_observe(sn->m_rtt, (double)rtt);
}

void sn_observe_heartbeat(struct supernoded *sn)
{
	const struct sn_peer *p;

	if (!sn->metrics)
		return;
	for (p = sn->peers; p; p = p->next)
		sn_observe_rtt(sn, p->pl);
	sample_net(sn);
}

/* What sn_command_send wraps around the caller's done callback. */
struct cmd_timing {
	struct supernoded *sn;
	cmd_done_fn done;
	void *arg;
	uint64_t t0;
};

static void timed_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct cmd_timing *t = arg;
	struct supernoded *sn = t->sn;

	/* Cancelled at shutdown: neither outcome. The registry may be gone. */
	if (status != -ECANCELED && sn->metrics) {
		metrics_counter_add(status == 0 && resp && resp->ok ? sn->m_cmd_ok : sn->m_cmd_fail,
		                    1);
		if (status == 0)
			metrics_histogram_observe(sn->m_cmd_lat, (double)(uv_hrtime() - t->t0) / 1e9);
	}
	if (t->done)
		t->done(t->arg, status, resp);
	free(t);
}

int sn_observe_wrap(struct supernoded *sn, cmd_done_fn *done, void **arg)
{
	struct cmd_timing *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->sn = sn;
	t->done = *done;
	t->arg = *arg;
	t->t0 = uv_hrtime();
	*done = timed_done;
	*arg = t;
	return 0;
}

void sn_observe_unwrap(void *arg)
{
	free(arg);
}

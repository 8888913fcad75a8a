/* The standard series of DESIGN section 9 (see metrics_std.h). */
#include <errno.h>
#include <stddef.h>
#include "metrics_http.h"
#include "metrics_std.h"

#define OR(help, def) ((help) ? (help) : (def))

/* What metrics_*_new said (ENOMEM, or EINVAL for a name another type has). */
static int made(const struct metric *x)
{
	return x ? 0 : errno == EINVAL ? -EINVAL : -ENOMEM;
}

static int gauge(struct metrics *m, struct metric **out, const char *name, const char *help)
{
	return out ? made(*out = metrics_gauge_new(m, name, help)) : 0;
}

static int counter(struct metrics *m, struct metric **out, const char *name,
                   const char *help)
{
	return out ? made(*out = metrics_counter_new(m, name, help)) : 0;
}

static int histogram(struct metrics *m, struct metric **out, const char *name,
                     const char *help, const double *bounds, size_t n)
{
	return out ? made(*out = metrics_histogram_new(m, name, help, bounds, n)) : 0;
}

int metrics_std_new(struct metrics *m, const struct metrics_std *s)
{
	int rc;

	if ((rc = gauge(m, s->streams, "active_streams_total",
	                OR(s->streams_help, "Authenticated streams to the supernode (0 or 1).")))
	    < 0)
		return rc;
	if ((rc = counter(m, s->auth_failures, "stream_auth_failures_total",
	                  OR(s->auth_help, "Streams refused at authentication or with a "
	                                   "wrong server key."))) < 0)
		return rc;
	if ((rc = counter(m, s->flood, "stream_flood_closed_total",
	                  "Streams closed for sending above max_msgs_per_s.")) < 0)
		return rc;
	if ((rc = histogram(m, s->rtt_ms, "peer_heartbeat_latency_ms",
	                    OR(s->rtt_help, "Heartbeat round trip to the supernode, sampled "
	                                    "once per heartbeat."),
	                    metrics_rtt_ms_bounds, metrics_rtt_ms_nbounds)) < 0)
		return rc;
	if ((rc = histogram(m, s->cmd_latency, "command_latency_seconds",
	                    OR(s->cmd_latency_help, "From a command's arrival to its answer."),
	                    metrics_cmd_s_bounds, metrics_cmd_s_nbounds)) < 0)
		return rc;
	if ((rc = counter(m, s->cmd_ok, "command_success_total",
	                  OR(s->cmd_ok_help, "Commands applied successfully."))) < 0)
		return rc;
	return counter(m, s->cmd_fail, "command_failure_total",
	               OR(s->cmd_fail_help, "Commands refused or failed (rolled back)."));
}

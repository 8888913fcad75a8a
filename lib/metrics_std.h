/* The series DESIGN section 9 asks of every daemon that holds streams or
 * sends commands: streams, auth failures, flood closes, heartbeat RTT,
 * command latency and outcomes. One place for their names, types and
 * buckets; the daemon says where it keeps each and what it means there. */
#ifndef SM_METRICS_STD_H
#define SM_METRICS_STD_H

#include "metrics.h"

/* Where each series goes (NULL: the daemon has none of it), and its help
 * text (NULL: the default, as a client-side daemon means it). */
struct metrics_std {
	struct metric **streams;        /* active_streams_total, gauge */
	struct metric **auth_failures;  /* stream_auth_failures_total */
	struct metric **flood;          /* stream_flood_closed_total */
	struct metric **rtt_ms;         /* peer_heartbeat_latency_ms, histogram */
	struct metric **cmd_latency;    /* command_latency_seconds, histogram */
	struct metric **cmd_ok;         /* command_success_total */
	struct metric **cmd_fail;       /* command_failure_total */
	const char *streams_help, *auth_help, *rtt_help, *cmd_latency_help;
	const char *cmd_ok_help, *cmd_fail_help;
};

/* Registers in m every series s asks for. 0, or -ENOMEM, or -EINVAL when
 * m has one of the names as another type; what was made stays in m. */
int metrics_std_new(struct metrics *m, const struct metrics_std *s);

#endif

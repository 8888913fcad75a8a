/* basenoded's shared state: one per process, made by main.c (or a test) and
 * handed to the stream server and the admin socket. */
#ifndef BN_BASENODED_H
#define BN_BASENODED_H

#include <stdint.h>
#include <uv.h>
#include "connlimit.h"
#include "directory.h"
#include "keys.h"
#include "metrics_http.h"
#include "policy.h"

struct store;
struct stream_server;

struct basenoded {
	uv_loop_t *loop;
	struct identity id;
	struct directory dir;
	struct auth_policy policy;
	struct store *store;           /* NULL: blacklist not persisted (tests) */
	struct stream_server *streams; /* NULL until listening */
	uint32_t heartbeat_s;          /* asked of every supernode */
	uint64_t dead_after_ms;        /* silent this long: evicted */
	struct connlimit pending;       /* handshakes in progress per source IP */
	size_t max_streams;            /* 0: no limit */
	uint32_t max_msgs_per_s;       /* per stream, burst twice that; 0: no limit */
	struct metric *auth_failures;  /* stream_auth_failures_total; NULL: none */
	struct metrics *metrics;       /* NULL until observe_start */
	struct metrics_http mhttp;
	struct metric *m_streams, *m_handshakes, *m_registered, *m_blacklisted;
	struct metric *m_flood;        /* stream_flood_closed_total */
};

/* observe.c: the metrics registry and GET /metrics on listen ("": off).
 * 0 or a negative errno; observe_stop before the loop's last run, then
 * observe_release after it. */
int observe_start(struct basenoded *bn, const char *listen);
void observe_stop(struct basenoded *bn);
void observe_release(struct basenoded *bn);

#endif

/* The outbound persistent stream every peer keeps to its supernode (and each
 * supernode to basenoded and to remote supernodes): a secure channel that
 * reconnects with full-jitter backoff, pings every ping_ms, measures the RTT
 * from Pong, and gives up on a stream silent for dead_ms (DESIGN section 3). */
#ifndef SM_PEERLINK_H
#define SM_PEERLINK_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "control.pb-c.h"
#include "keys.h"

struct peerlink;

struct peerlink_opts {
	const struct identity *id;       /* must outlive the peerlink */
	const uint8_t *pinned_server_id; /* 32 bytes (copied); NULL accepts any (tests) */
	uint32_t role;                   /* Role of handshake.proto */
	const char *region;              /* copied */
	const uint8_t *wg_pubkey;        /* 32 bytes (copied) or NULL */
	const struct sockaddr *addr;     /* server address (copied) */
	uint32_t ping_ms;                /* 0: 10000 */
	uint32_t dead_ms;                /* 0: 30000 */
	uint32_t backoff_base_ms;        /* 0: BACKOFF_BASE_MS */
	uint32_t backoff_cap_ms;         /* 0: BACKOFF_CAP_MS */
	uint32_t handshake_ms;           /* 0: HS_DEADLINE_MS */
};

struct peerlink_cbs {
	/* The stream is authenticated and open: resend state (InfoResponse). */
	void (*on_up)(struct peerlink *pl);
	/* Any message but Ping/Pong, which the peerlink answers itself. Valid
	 * only during the call. */
	void (*on_message)(struct peerlink *pl, const Supermesh__ControlMessage *m);
	/* The stream went down, or an attempt failed before it came up (status
	 * as channel on_close; -ETIMEDOUT "heartbeat_timeout" for a silent
	 * stream); a reconnect is scheduled after the backoff delay. Called for
	 * every failed attempt, never by peerlink_free. */
	void (*on_down)(struct peerlink *pl, int status, const char *reason);
};

/* Starts connecting at once. Returns 0 and *out, or a negative errno
 * (-EINVAL, -EAFNOSUPPORT for bad options) without any callback.
 * Our Pings carry uv_now(), opaque to the peer, which only echoes it. */
int peerlink_new(uv_loop_t *loop, const struct peerlink_opts *opts,
                 const struct peerlink_cbs *cbs, void *data, struct peerlink **out);
/* Closes the stream and timers; memory is freed from close callbacks, so
 * run the loop afterwards. No callback runs after this. */
void peerlink_free(struct peerlink *pl);

/* Sends one message on the open stream: 0, -ENOTCONN while down, or
 * msg_send's errors (the stream is then being closed and will reconnect). */
int peerlink_send(struct peerlink *pl, const Supermesh__ControlMessage *m);

int peerlink_is_up(const struct peerlink *pl);
void *peerlink_data(const struct peerlink *pl);
/* Last measured heartbeat RTT in ms; -1 before the first Pong. */
int64_t peerlink_rtt_ms(const struct peerlink *pl);
/* Session id the server gave the current stream (16 bytes), NULL while down. */
const uint8_t *peerlink_session_id(const struct peerlink *pl);
/* While up: "ip:port" of the stream's local address with `port` (1..65535)
 * in place of its own, e.g. where a WireGuard port listens on the address
 * the supernode is reached from. 0, -ENOTCONN while down, -EINVAL. */
int peerlink_local_endpoint(const struct peerlink *pl, unsigned port, char *out, size_t size);
/* How many times the stream has come up, for tests and metrics. */
uint64_t peerlink_connects(const struct peerlink *pl);

#endif

/* The ciphertext-only UDP relay (DESIGN section 6): sessions of two ports,
 * client-facing and exit-facing, forwarding opaque datagrams between them. */
#ifndef WGRELAY_RELAY_H
#define WGRELAY_RELAY_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "line.h"

#define RELAY_ID_MAX 64      /* [A-Za-z0-9_-]{1,64} */
#define RELAY_BATCH 64       /* datagrams per recvmmsg/sendmmsg */
/* Largest datagram relayed: a WireGuard packet over a 9000-byte jumbo MTU.
 * Bigger ones are dropped and counted (MSG_TRUNC), never cut. */
#define RELAY_DGRAM_MAX 9216
#define RELAY_SOCKBUF (4 * 1024 * 1024)

struct relay_table;

enum relay_dir { RELAY_C2E, RELAY_E2C };

/* What `relay add` asked for; a second add must ask for the same. */
struct relay_opts {
	uint64_t rate;                /* bits/s each way; 0: unlimited */
	int has_to;                   /* exit side sends to `to`, never latches */
	struct sockaddr_storage to;
	socklen_t to_len;
};

/* Why datagrams were dropped, for one session. */
struct relay_drops {
	uint64_t stranger;  /* from an address other than the latched peer */
	uint64_t nodest;    /* the other side has no peer yet */
	uint64_t rate;      /* over the token bucket */
	uint64_t oversize;  /* over RELAY_DGRAM_MAX */
	uint64_t send;      /* sendmmsg refused (full buffer: UDP semantics) */
};

struct relay_info {
	const char *id;
	uint16_t client_port, exit_port;
	uint64_t rate;
	uint64_t bytes[2], packets[2]; /* forwarded, by enum relay_dir */
	struct relay_drops drops;
	uint64_t drops_total;
	/* The hold queue (relay_hold.h): datagrams put on hold for a side with
	 * no peer yet, sent on when it latched, and dropped as too old (these
	 * and those pushed out of a full queue also count in drops.nodest). */
	uint64_t held, flushed, expired;
	unsigned queued;               /* held now */
};

/* Counters for metrics: bytes, packets and drops include sessions already
 * deleted, so they only grow; sessions is the current count. */
struct relay_totals {
	uint64_t sessions;
	uint64_t bytes;
	uint64_t packets;
	uint64_t drops;
	uint64_t dir_bytes[2], dir_packets[2]; /* the same by enum relay_dir */
	struct relay_drops why;                /* drops by reason */
	uint64_t held, flushed, expired;       /* as in struct relay_info */
};

/* bind_host: numeric IPv4 or IPv6 ("::" is dual-stack); NULL or "" is
 * 0.0.0.0. Returns 0 or a negative errno (-EINVAL bad address). */
int relay_table_new(uv_loop_t *loop, const char *bind_host, struct relay_table **out);
/* Closes every session. The table is freed now; sessions' memory in their
 * close callbacks, so run the loop afterwards. */
void relay_table_free(struct relay_table *t);
void relay_table_totals(const struct relay_table *t, struct relay_totals *out);

/*
 * Opens a session, or finds the one with this id. Returns 0 with the ports,
 * -EEXIST if it exists with other options, -EAFNOSUPPORT if `to` is IPv6 on an
 * IPv4 table, or another negative errno (nothing left open then).
 */
int relay_session_add(struct relay_table *t, const char *id, const struct relay_opts *o,
                      uint16_t *client_port, uint16_t *exit_port);
/* Closes the session's ports now. Returns 0 or -ENOENT. */
int relay_session_del(struct relay_table *t, const char *id);
/* Calls fn for each session, oldest first; returns the number of sessions. */
size_t relay_table_walk(const struct relay_table *t,
                        void (*fn)(void *arg, const struct relay_info *info), void *arg);
/* Fills info for one session; -ENOENT if there is none. */
int relay_session_info(const struct relay_table *t, const char *id, struct relay_info *info);

/* Verbs (relay_verbs.c); ctx is struct wgrelay *. argv holds the words
 * after the verb name. */
void verb_relay_add(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_relay_del(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_relay_list(void *ctx, int argc, char **argv, struct line_reply *r);

#endif

/* The stream side both channel daemons share: the listener, the list of
 * accepted streams, the refusals (per-IP rate and handshake slots at accept,
 * capacity, auth, message flood) with their per-reason log limit, and the
 * handle counting that frees it all. What differs is in the daemon's hooks. */
#ifndef SM_STREAM_SERVER_H
#define SM_STREAM_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "channel.h"
#include "connlimit.h"
#include "keys.h"
#include "metrics.h"
#include "tbucket.h"

#define STREAM_LINE_MAX 256   /* a warning line handed to hooks->warn */

struct stream_server;

/* The first member of every daemon stream: the lib allocates stream_size
 * bytes, zeroed, and frees them after hooks->close. */
struct stream_conn {
	struct stream_conn *next, *prev;
	struct stream_server *srv;
	struct channel *ch;
	void *owner;                     /* cfg.owner, for the hooks */
	char addr[64];                   /* peer ip:port, for log lines */
	char id_hex[2 * ID_PK_LEN + 1];  /* the peer's id once open, else "" */
	int opened;                      /* on_open was seen */
	int retired;                     /* no longer counted as open */
	int pending_slot;                /* connlimit slot during the handshake, else -1 */
	uint32_t msg_rate;               /* messages a second, burst twice; 0: none */
	struct tbucket msgs;
};

struct stream_server_hooks {
	/* Accept, before any crypto: 0, or < 0 to refuse the address ("rate"). */
	int (*take_ip)(void *owner, const struct sockaddr_storage *ss);
	/* A verified AuthRequest: NULL to accept (asking *heartbeat_s), or the
	 * reason to refuse it with. */
	const char *(*auth)(struct stream_conn *c, const struct hs_auth *a,
	                    const struct sockaddr_storage *ss, uint32_t *heartbeat_s);
	/* Open, after the lib's part; may set the rate (stream_conn_set_rate). */
	void (*open)(struct stream_conn *c);
	/* A frame that passed the flood check. */
	void (*message)(struct stream_conn *c, const uint8_t *data, size_t len);
	/* Before the lib unlinks and frees c. */
	void (*close)(struct stream_conn *c, int status, const char *reason);
	/* A line to log as a warning: accept errors, refusals within their
	 * per-reason limit, and the summaries of the ones over it. */
	void (*warn)(void *owner, const char *line);
	/* Optional: every refusal, logged or not, just before c is closed. */
	void (*refused)(struct stream_conn *c, const char *reason);
	/* Optional: the periodic sweep (cfg.sweep_ms), after the summaries. */
	void (*sweep)(void *owner, uint64_t now);
};

struct stream_server_cfg {
	uv_loop_t *loop;
	const struct identity *id;
	const struct stream_server_hooks *hooks;
	void *owner;
	size_t stream_size;                   /* >= sizeof(struct stream_conn) */
	struct connlimit *pending;            /* handshakes per IP */
	const size_t *max_streams;            /* read at accept; NULL or 0: none */
	struct metric *const *auth_failures;  /* read at each count; NULL: none */
	uint64_t sweep_ms;                    /* 0: no sweep timer */
	uint32_t logs_per_s;                  /* refusal lines per reason a second */
};

/* Listens on addr (and starts the sweep). 0 and *out, or a negative errno
 * with everything closing; run the loop to finish that. */
int stream_server_open(const struct stream_server_cfg *cfg, const struct sockaddr *addr,
                       struct stream_server **out);
/* Closes the listener, the timer and every stream ("shutdown"); memory goes
 * in close callbacks, so run the loop afterwards. NULL and twice are safe. */
void stream_server_free(struct stream_server *srv);
int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss);
/* Streams held: all (handshakes too), or only the open ones not retired. */
size_t stream_server_count(const struct stream_server *srv, int open_only);
/* Newest first, follow ->next; NULL srv: none. */
struct stream_conn *stream_server_first(const struct stream_server *srv);
/* Hands the refusal summaries owed at now to hooks->warn. */
void stream_server_flush(struct stream_server *srv, uint64_t now);

/* Messages a second c may send from now, burst twice that; 0: no limit. */
void stream_conn_set_rate(struct stream_conn *c, uint32_t rate);
/* c stops counting as open: a newer stream of its peer replaced it, or it
 * is being closed before the daemon took it on. Twice is safe. */
void stream_conn_retire(struct stream_conn *c);

#endif

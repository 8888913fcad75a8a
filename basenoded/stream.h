/* Supernode streams: the TCP listener, one authenticated channel per
 * supernode, its lifecycle (auth policy, replace, register, evict), and the
 * message handlers of messages.c. */
#ifndef BN_STREAM_H
#define BN_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "basenoded.h"
#include "channel.h"
#include "tbucket.h"

/* Where a stream is in its life; messages.c checks it per message. */
enum sn_state {
	SN_HANDSHAKE,  /* channel not open yet */
	SN_OPEN,       /* authenticated, RegisterSupernode not seen */
	SN_REGISTERED, /* in the directory's answers */
};

struct stream_server;

struct sn_stream {
	struct sn_stream *next, *prev;
	struct stream_server *srv;
	struct basenoded *bn;
	struct channel *ch;
	enum sn_state state;
	uint8_t id[ID_PK_LEN];
	char id_hex[2 * ID_PK_LEN + 1];  /* for log lines */
	char addr[64];                   /* peer ip:port, for log lines */
	char auth_region[DIR_REGION_MAX];
	int attached;                    /* holds a directory entry */
	int pending_slot;                /* connlimit slot during the handshake, else -1 */
	struct tbucket msgs;             /* message rate (max_msgs_per_s) */
};

/* Listens on addr and starts the eviction sweep. 0 and *out, or a negative
 * errno with nothing left open. */
int stream_server_new(struct basenoded *bn, const struct sockaddr *addr,
                      struct stream_server **out);
/* Closes the listener, the sweep timer and every stream; memory goes in
 * close callbacks, so run the loop afterwards. */
void stream_server_free(struct stream_server *srv);
/* The bound address (for listen ports chosen by the kernel). */
int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss);
/* Streams currently held, open or still in their handshake. */
size_t stream_server_count(const struct stream_server *srv);

/* Calls cb for every stream held, newest first; cb must not close any. */
void stream_server_each(const struct stream_server *srv,
                        void (*cb)(void *arg, const struct sn_stream *s), void *arg);

/* Closes one stream (status as for channel_close) and drops it from the
 * directory at once, so answers and sweeps stop seeing it before the close
 * completes. Directory owners are sn_streams. */
void sn_stream_close(struct sn_stream *s, int status, const char *reason);

/* messages.c: one decrypted ControlMessage frame from s. Closes s on
 * anything malformed or unexpected. */
void sn_stream_message(struct sn_stream *s, const uint8_t *data, size_t len);

#endif

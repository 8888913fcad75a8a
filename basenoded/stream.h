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
#include "stream_server.h"

/* Where a stream is in its life; messages.c checks it per message. */
enum sn_state {
	SN_HANDSHAKE,  /* channel not open yet */
	SN_OPEN,       /* authenticated, RegisterSupernode not seen */
	SN_REGISTERED, /* in the directory's answers */
};

/* A supernode's stream; the lib's part first (list, channel, addr, id_hex). */
struct sn_stream {
	struct stream_conn c;
	enum sn_state state;
	uint8_t id[ID_PK_LEN];
	char auth_region[DIR_REGION_MAX];
	int attached;                    /* holds a directory entry */
};

static inline struct basenoded *sn_bn(const struct sn_stream *s)
{
	return s->c.owner;
}

/* Listens on addr and starts the eviction sweep. 0 and *out, or a negative
 * errno with nothing left open once the loop has run. Then the rest of
 * lib/stream_server.h applies (free, addr, count). */
int stream_server_new(struct basenoded *bn, const struct sockaddr *addr,
                      struct stream_server **out);

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

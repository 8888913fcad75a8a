/* The stream manager: TCP listener, one authenticated channel per peer id
 * (a new one replaces the old cleanly), the auth decision, and liveness. */
#ifndef SN_STREAM_H
#define SN_STREAM_H

#include <stddef.h>
#include <sys/socket.h>
#include "channel.h"
#include "stream_server.h"
#include "supernoded.h"

struct sn_peer;

/* A peer's stream; the lib's part first (list, channel, addr, id_hex). */
struct sn_stream {
	struct stream_conn c;
	struct sn_peer *peer;      /* set once open and while it is the peer's */
};

/* Listens; then lib/stream_server.h applies (free, addr, count). */
int stream_server_new(struct supernoded *sn, const struct sockaddr *addr,
                      struct stream_server **out);
/* Closes streams silent for more than dead_ms at now. */
void stream_server_sweep(struct stream_server *srv, uint64_t now, uint64_t dead_ms);

/* The streams held, newest first; for the admin socket. */
struct sn_stream *stream_server_head(const struct stream_server *srv);
static inline struct sn_stream *sn_stream_next(const struct sn_stream *s)
{
	return (struct sn_stream *)s->c.next;
}

void sn_stream_close(struct sn_stream *s, int status, const char *reason);

#endif

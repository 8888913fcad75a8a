/* The stream manager: TCP listener, one authenticated channel per peer id
 * (a new one replaces the old cleanly), the auth decision, and liveness. */
#ifndef SN_STREAM_H
#define SN_STREAM_H

#include <stddef.h>
#include <sys/socket.h>
#include "channel.h"
#include "tbucket.h"
#include "supernoded.h"

struct sn_peer;

struct sn_stream {
	struct sn_stream *next, *prev;
	struct stream_server *srv;
	struct supernoded *sn;
	struct channel *ch;
	struct sn_peer *peer;      /* set once open and while it is the peer's */
	char addr[64];             /* ip:port for logs */
	int pending_slot;          /* connlimit slot during the handshake, else -1 */
	struct tbucket msgs;       /* message rate (max_msgs_per_s) */
};

int stream_server_new(struct supernoded *sn, const struct sockaddr *addr,
                      struct stream_server **out);
void stream_server_free(struct stream_server *srv);
int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss);
/* Streams held: all, or only authenticated ones. */
size_t stream_server_count(const struct stream_server *srv, int open_only);
/* Closes streams silent for more than dead_ms at now. */
void stream_server_sweep(struct stream_server *srv, uint64_t now, uint64_t dead_ms);

/* The streams held, newest first (follow ->next); for the admin socket. */
struct sn_stream *stream_server_head(const struct stream_server *srv);

void sn_stream_close(struct sn_stream *s, int status, const char *reason);

#endif

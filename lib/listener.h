/* The accepting side the channel daemons share: the TCP listener, and for
 * each accepted connection its channel, its peer address as text, and the
 * per-IP handshake slot taken before any crypto. Streams stay the daemon's. */
#ifndef SM_LISTENER_H
#define SM_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>
#include "channel.h"
#include "connlimit.h"

#define LISTENER_BACKLOG 128

/* Initialises tcp (its data set to data), binds addr and listens with cb.
 * tcp is initialised even on error, so the caller uv_closes it either way.
 * Returns 0 or a negative errno. */
int listener_open(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr,
                  uv_connection_cb cb, void *data);

/* The address tcp is bound to (for a port the kernel chose). 0 or a
 * negative errno. */
int listener_addr(const uv_tcp_t *tcp, struct sockaddr_storage *ss);

/* channel_accept on l, then the peer's address in ss and as text in addr
 * ("?" when unknown). Returns 0 and *ch, or channel_accept's error. */
int listener_accept(uv_stream_t *l, const struct channel_server_opts *opts,
                    const struct channel_cbs *cbs, void *data, struct channel **ch,
                    struct sockaddr_storage *ss, char *addr, size_t addr_size);

/* A handshake slot in cl for the IP of ss: 0 and *slot >= 0, or -EBUSY and
 * *slot = -1 when that IP already holds its maximum. */
int listener_slot_take(struct connlimit *cl, const struct sockaddr_storage *ss, int *slot);

/* Gives *slot back if held and sets it to -1, so calling it twice is safe. */
void listener_slot_put(struct connlimit *cl, int *slot);

#endif

/* The accept step the channel daemons share: listen, accept a channel, name
 * its peer, and hold a per-IP handshake slot (see listener.h). */
#include <errno.h>
#include <stdio.h>
#include "listener.h"
#include "netaddr.h"

int listener_open(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr,
                  uv_connection_cb cb, void *data)
{
	int rc;

	/* Without a socket family this only fills in the handle: it cannot
	 * fail, which is what lets the caller close tcp on any error. */
	uv_tcp_init(loop, tcp);
	tcp->data = data;
	if ((rc = uv_tcp_bind(tcp, addr, 0)) < 0)
		return rc;
	return uv_listen((uv_stream_t *)tcp, LISTENER_BACKLOG, cb);
}

int listener_addr(const uv_tcp_t *tcp, struct sockaddr_storage *ss)
{
	int len = (int)sizeof(*ss);

	return uv_tcp_getsockname(tcp, (struct sockaddr *)ss, &len);
}

int listener_accept(uv_stream_t *l, const struct channel_server_opts *opts,
                    const struct channel_cbs *cbs, void *data, struct channel **ch,
                    struct sockaddr_storage *ss, char *addr, size_t addr_size)
{
	int rc;

	if ((rc = channel_accept(l, opts, cbs, data, ch)) < 0)
		return rc;
	if (channel_peer_addr(*ch, ss) < 0 ||
	    netaddr_text((const struct sockaddr *)ss, addr, addr_size) < 0)
		snprintf(addr, addr_size, "?");
	return 0;
}

int listener_slot_take(struct connlimit *cl, const struct sockaddr_storage *ss, int *slot)
{
	const uint8_t *ip;
	size_t len = netaddr_ip(ss, &ip);

	if ((*slot = connlimit_take(cl, ip, len)) < 0) {
		*slot = -1;
		return -EBUSY;
	}
	return 0;
}

void listener_slot_put(struct connlimit *cl, int *slot)
{
	connlimit_put(cl, *slot);
	*slot = -1;
}

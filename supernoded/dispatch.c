/* The table from ControlMessage body case to handler and allowed roles. */
#include <errno.h>
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"

#define R_CLIENT (1u << SUPERMESH__ROLE__ROLE_CLIENT)
#define R_EXIT (1u << SUPERMESH__ROLE__ROLE_EXIT)
#define R_SUPER (1u << SUPERMESH__ROLE__ROLE_SUPERNODE)
#define R_ANY (R_CLIENT | R_EXIT | R_SUPER)

struct msg_handler {
	int (*fn)(struct sn_peer *p, const ControlMessage *m);
	unsigned roles;
};

static const struct msg_handler handlers[] = {
	[SUPERMESH__CONTROL_MESSAGE__BODY_PING] = { link_on_ping, R_ANY },
	[SUPERMESH__CONTROL_MESSAGE__BODY_PONG] = { link_on_pong, R_ANY },
	[SUPERMESH__CONTROL_MESSAGE__BODY_ERROR] = { link_on_error, R_ANY },
	[SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE] = { link_on_info, R_CLIENT | R_EXIT },
	[SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND] = { cmd_on_command, R_ANY },
	[SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE] = { cmd_on_response, R_ANY },
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST] = { exit_on_request, R_CLIENT },
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_REQUEST] = { exit_on_peer_request, R_SUPER },
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_RESPONSE] = { exit_on_peer_response,
	                                                          R_SUPER },
	[SUPERMESH__CONTROL_MESSAGE__BODY_PATH_UPDATE] = { punch_on_path_update, R_SUPER },
};

int sn_dispatch(struct sn_peer *p, const ControlMessage *m)
{
	const struct msg_handler *h = NULL;

	if ((size_t)m->body_case < sizeof(handlers) / sizeof(handlers[0]))
		h = &handlers[m->body_case];
	if (!h || !h->fn || p->role > 31 || !(h->roles & (1u << p->role))) {
		log_warnx("event=unexpected_message peer_id=%s role=%u message=%s", p->hex,
		          p->role, msg_name(m));
		return -EPROTO;
	}
	return h->fn(p, m);
}

int sn_dispatch_frame(struct sn_peer *p, const uint8_t *data, size_t len)
{
	ControlMessage *m = msg_unpack(data, len);
	int rc;

	if (!m) {
		log_warnx("event=bad_message peer_id=%s", p->hex);
		return -EPROTO;
	}
	rc = sn_dispatch(p, m);
	msg_free(m);
	return rc;
}

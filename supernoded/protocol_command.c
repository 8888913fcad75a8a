/* Commands other peers send us (a client's DISCONNECT; a supernode's
 * SETUP_EXIT, PROBE_PATH or DISCONNECT) with the journal that makes them
 * idempotent, and responses to the commands we sent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "command.h"
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"
#include "store.h"

void cmd_reply(struct sn_peer *p, const uint8_t id[MSG_ID_LEN], int ok, const char *error,
               const uint8_t *result, size_t len)
{
	ControlMessage m;
	Supermesh__CommandResponse r;
	struct supernoded *sn = p->sn;
	struct cmd_outcome o;

	supermesh__control_message__init(&m);
	supermesh__command_response__init(&r);

	if (sn->store) {
		memset(&o, 0, sizeof(o));
		o.ok = ok;
		snprintf(o.error, sizeof(o.error), "%s", error ? error : "");
		if (len <= sizeof(o.result)) {
			if (len)
				memcpy(o.result, result, len);
			o.result_len = len;
		}
		if (cmd_journal_store(&sn->store->st, id, &o) < 0)
			log_warnx("event=journal_failed peer_id=%s", p->hex);
	}
	r.command_id.data = (uint8_t *)(uintptr_t)id;
	r.command_id.len = MSG_ID_LEN;
	r.ok = ok;
	r.error = (char *)(uintptr_t)(error ? error : "");
	r.result.data = (uint8_t *)(uintptr_t)result;
	r.result.len = len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	peer_send(p, &m);
}

int cmd_on_response(struct sn_peer *p, const ControlMessage *m)
{
	if (m->command_response->command_id.len != MSG_ID_LEN)
		return -EPROTO;
	/* Late or unknown ids are normal after a timeout: ignore them. */
	cmd_sender_response(p->sn->cmds, m->command_response);
	return 0;
}

/* A duplicate of an applied command gets the stored answer again. */
static int replay_journal(struct sn_peer *p, const uint8_t id[MSG_ID_LEN])
{
	ControlMessage m;
	Supermesh__CommandResponse r;
	struct cmd_outcome o;

	supermesh__control_message__init(&m);
	supermesh__command_response__init(&r);

	if (!p->sn->store || cmd_journal_find(&p->sn->store->st, id, &o) != 1)
		return 0;
	r.command_id.data = (uint8_t *)(uintptr_t)id;
	r.command_id.len = MSG_ID_LEN;
	r.ok = o.ok;
	r.error = o.error;
	r.result.data = o.result;
	r.result.len = o.result_len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	peer_send(p, &m);
	return 1;
}

static void on_disconnect(struct sn_peer *p, const Supermesh__Command *c,
                          const Supermesh__Disconnect *d)
{
	struct sn_session *s = session_find(p->sn, d->session_id.data);
	int client = p->role == SUPERMESH__ROLE__ROLE_CLIENT;

	if (!s) {
		/* Already gone: DISCONNECT is idempotent. */
	} else if (client && s->rec.kind != SESS_SERVE &&
	           !memcmp(s->rec.client_id, p->id, ID_PK_LEN)) {
		log_info("event=client_disconnect session_id=%s peer_id=%s", s->hex, p->hex);
		session_teardown(s, "client_disconnect");
	} else if (!client && s->rec.kind == SESS_SERVE &&
	           !memcmp(s->rec.remote_id, p->id, ID_PK_LEN)) {
		session_teardown(s, "origin_disconnect");
	} else if (!client && s->rec.kind == SESS_ORIGIN &&
	           !memcmp(s->rec.remote_id, p->id, ID_PK_LEN) && s->state == SS_ACTIVE) {
		/* The remote supernode lost our exit: rotate. */
		setup_rotate(s, "remote_exit_lost");
	} else {
		cmd_reply(p, c->command_id.data, 0, "not_yours", NULL, 0);
		return;
	}
	cmd_reply(p, c->command_id.data, 1, NULL, NULL, 0);
}

static int handle(struct sn_peer *p, const Supermesh__Command *c)
{
	const ProtobufCBinaryData *pl = &c->payload;
	Supermesh__Disconnect *d;
	Supermesh__SetupExit *se;
	Supermesh__ProbePath *pp;
	int rc;

	switch (c->type) {
	case SUPERMESH__COMMAND_TYPE__DISCONNECT:
		d = supermesh__disconnect__unpack(NULL, pl->len, pl->data);
		if (!d || check_disconnect(d) < 0) {
			supermesh__disconnect__free_unpacked(d, NULL);
			return -EPROTO;
		}
		on_disconnect(p, c, d);
		supermesh__disconnect__free_unpacked(d, NULL);
		return 0;
	case SUPERMESH__COMMAND_TYPE__SETUP_EXIT:
		if (p->role != SUPERMESH__ROLE__ROLE_SUPERNODE)
			break;
		se = supermesh__setup_exit__unpack(NULL, pl->len, pl->data);
		if (!se || check_setup_exit(se) < 0) {
			supermesh__setup_exit__free_unpacked(se, NULL);
			return -EPROTO;
		}
		remote_serve_setup(p, c, se);
		supermesh__setup_exit__free_unpacked(se, NULL);
		return 0;
	case SUPERMESH__COMMAND_TYPE__PROBE_PATH:
		/* The origin's test of a session we serve (probe_remote.c). */
		if (p->role != SUPERMESH__ROLE__ROLE_SUPERNODE)
			break;
		pp = supermesh__probe_path__unpack(NULL, pl->len, pl->data);
		rc = pp ? probe_serve(p, c, pp) : -EPROTO;
		supermesh__probe_path__free_unpacked(pp, NULL);
		return rc;
	default:
		break;
	}
	cmd_reply(p, c->command_id.data, 0, "unsupported", NULL, 0);
	return 0;
}

int cmd_on_command(struct sn_peer *p, const ControlMessage *m)
{
	const Supermesh__Command *c = m->command;
	char hex[2 * MSG_ID_LEN + 1];

	if (c->command_id.len != MSG_ID_LEN)
		return -EPROTO;
	if (replay_journal(p, c->command_id.data))
		return 0;
	bytes_to_hex(c->command_id.data, MSG_ID_LEN, hex);
	log_debug("event=command peer_id=%s command_id=%s type=%d", p->hex, hex, (int)c->type);
	return handle(p, c);
}

/* The cross-region half of punching (architecture.md "Path choice"): on
 * the origin A, B's answer to a punching setup, the path changes sent to B
 * as SETUP_EXIT { repoint } and B's PathUpdate when the exit moves; on the
 * serving B, re-pointing its exit at the client's public endpoint or at its
 * own relay, which stays either way, and telling A when the exit moves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "dispatch.h"
#include "natclass.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"

struct sn_peer *punch_remote_side(struct sn_session *s, Supermesh__SetupExit *se, int to_relay,
                                  char *ep, size_t ep_size, char *cep, size_t cep_size)
{
	struct sn_peer *b = peer_find(s->sn, s->rec.remote_id);

	if (s->rec.kind != SESS_ORIGIN || !b || !s->relay_ep[0])
		return NULL;
	/* B knows its relay's exit-facing port, we do not: "" means there. */
	snprintf(ep, ep_size, "%s", to_relay ? "" : s->client_pub);
	snprintf(cep, cep_size, "%s", to_relay ? s->relay_ep : s->exit_pub);
	se->client_endpoint = ep;
	se->exit_id.data = s->rec.exit_id;
	se->exit_id.len = ID_PK_LEN;
	se->relay = 1;
	se->repoint = 1;
	se->relay_to = "";
	return b;
}

int punch_remote_result(struct sn_session *s, uint32_t path, const char *relay_ep)
{
	/* B relays only (it did not take the client's endpoint): no punch. */
	if (path != SUPERMESH__PATH_KIND__PATH_DIRECT || !relay_ep[0]) {
		log_info("event=punch_declined session_id=%s path=%u", s->hex, path);
		s->punch = 0;
		return -EPROTO;
	}
	snprintf(s->relay_ep, sizeof(s->relay_ep), "%s", relay_ep);
	s->rec.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
	snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", s->exit_pub);
	return 0;
}

static void on_repointed(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;

	s->moving = 0;
	if (s->state != SS_ACTIVE || s->sn->stopping) {
		session_release(s);
		return;
	}
	if (status < 0 || !resp->ok) {
		log_warnx("event=repoint_failed session_id=%s status=%d", s->hex, status);
		remote_serve_answer(s, 0, "exit_refused");
		session_release(s);
		return;
	}
	s->rec.path = s->client_pub[0] ? SUPERMESH__PATH_KIND__PATH_DIRECT :
	                                 SUPERMESH__PATH_KIND__PATH_RELAY;
	session_save(s);
	remote_serve_answer(s, 1, NULL);
	session_release(s);
}

static const char *repoint_refusal(struct sn_session *s, const Supermesh__SetupExit *se,
                                   struct sn_peer *exit)
{
	if (s->state != SS_ACTIVE || !s->rec.relay)
		return "not_active";
	if (memcmp(se->exit_id.data, s->rec.exit_id, ID_PK_LEN) != 0)
		return "other_exit";
	if (!exit || !peer_is_up(exit))
		return "exit_unavailable";
	if (s->moving)
		return "busy";
	return NULL;
}

void punch_serve_repoint(struct sn_session *s, struct sn_peer *origin,
                         const Supermesh__Command *cmd, const Supermesh__SetupExit *se)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *exit = peer_find(sn, s->rec.exit_id);
	Supermesh__SetupExit out;
	const char *why = repoint_refusal(s, se, exit);
	char ep[SN_HOST_MAX + 8];

	if (why) {
		cmd_reply(origin, cmd->command_id.data, 0, why, NULL, 0);
		return;
	}
	supermesh__setup_exit__init(&out);
	/* Numeric (check_setup_exit); "" is our relay's exit-facing port. */
	snprintf(s->client_pub, sizeof(s->client_pub), "%s", se->client_endpoint);
	if (se->client_endpoint[0])
		snprintf(ep, sizeof(ep), "%s", se->client_endpoint);
	else
		snprintf(ep, sizeof(ep), "%s:%u", sn->set.relay_host, s->rec.exit_port);
	out.client_wg_pubkey.data = s->rec.client_wg;
	out.client_wg_pubkey.len = 32;
	out.session_id.data = s->rec.id;
	out.session_id.len = MSG_ID_LEN;
	out.client_endpoint = ep;
	out.keepalive_s = sn_keepalive_s(sn);
	memcpy(s->origin_cmd, cmd->command_id.data, MSG_ID_LEN);
	log_info("event=serve_repoint session_id=%s peer_id=%s exit_endpoint=%s", s->hex,
	         origin->hex, ep);
	session_hold(s);
	s->moving = 1;
	if (sn_command_send(sn, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, &out.base, exit, on_repointed,
	                    s) < 0) {
		s->moving = 0;
		remote_serve_answer(s, 0, "send_failed");
		session_release(s);
	}
}

/* B: our reflectors see the exit of a session A punches at a new endpoint
 * or class. A owns the path choice and knows the exit only from the
 * candidate it was offered, so tell it (PathUpdate). */
void punch_remote_exit_moved(struct sn_session *s, const struct sn_peer *exit)
{
	struct sn_peer *a = peer_find(s->sn, s->rec.remote_id);
	Supermesh__ControlMessage m;
	Supermesh__PathUpdate pu;
	char ep[NATCLASS_EP_MAX];

	if (!a || !peer_is_up(a))
		return;
	snprintf(ep, sizeof(ep), "%s", exit->seen[0]);
	supermesh__control_message__init(&m);
	supermesh__path_update__init(&pu);
	pu.session_id.data = s->rec.id;
	pu.session_id.len = MSG_ID_LEN;
	pu.exit_endpoint = ep;
	pu.nat_class = (uint32_t)exit->nat;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PATH_UPDATE;
	m.path_update = &pu;
	log_info("event=path_update_sent session_id=%s peer_id=%s endpoint=%s nat=%s", s->hex,
	         a->hex, ep, natclass_name(exit->nat));
	if (peer_send(a, &m) < 0)
		log_warnx("event=path_update_lost session_id=%s peer_id=%s", s->hex, a->hex);
}

/* A's checks on B's PathUpdate: the session must be one we punch through
 * this very B; anything else is ignored (B may be stale, never trusted for
 * another supernode's sessions). */
static struct sn_session *update_target(struct sn_peer *b, const Supermesh__PathUpdate *u)
{
	struct sn_session *s;

	if (u->session_id.len != MSG_ID_LEN || !(s = session_find(b->sn, u->session_id.data)))
		return NULL;
	if (s->rec.kind != SESS_ORIGIN || !s->punch || s->state != SS_ACTIVE ||
	    memcmp(s->rec.remote_id, b->id, ID_PK_LEN) != 0)
		return NULL;
	return s;
}

int punch_on_path_update(struct sn_peer *b, const Supermesh__ControlMessage *m)
{
	const Supermesh__PathUpdate *u = m->path_update;
	struct sn_peer *client;
	struct sn_session *s;
	enum ps_action a;
	int punchable;

	if (!u->exit_endpoint || u->nat_class > NAT_EDM ||
	    natclass_endpoint_split(u->exit_endpoint, NULL, 0, NULL) < 0) {
		log_warnx("event=bad_path_update peer_id=%s", b->hex);
		return -EPROTO;
	}
	if (!(s = update_target(b, u))) {
		log_debug("event=path_update_ignored peer_id=%s", b->hex);
		return 0;
	}
	if (!strcmp(s->exit_pub, u->exit_endpoint) && u->nat_class != NAT_EDM)
		return 0;
	snprintf(s->exit_pub, sizeof(s->exit_pub), "%s", u->exit_endpoint);
	client = peer_find(s->sn, s->rec.client_id);
	punchable = natclass_punchable((enum nat_class)u->nat_class) && client &&
	            natclass_punchable(client->nat);
	log_info("event=path_addr_change session_id=%s peer_id=%s endpoint=%s nat=%s", s->hex,
	         b->hex, s->exit_pub, natclass_name((enum nat_class)u->nat_class));
	a = pathsel_addr_change(&s->ps, uv_now(s->sn->loop), punchable);
	if (!s->moving)
		punch_act(s, a);
	return 0;
}

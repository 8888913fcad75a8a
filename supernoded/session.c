/* The session list: lifetime and holds, persistence, teardown, and what
 * happens to sessions when their peers come, go or resync. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "peer_index.h"
#include "session.h"

void session_list_init(struct supernoded *sn)
{
	sn->sessions = NULL;
	peer_index_init_len(&sn->session_ix, offsetof(struct sn_session, rec.id), MSG_ID_LEN);
}

struct sn_session *session_new(struct supernoded *sn, const uint8_t id[MSG_ID_LEN], int kind)
{
	struct sn_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->sn = sn;
	memcpy(s->rec.id, id, MSG_ID_LEN);
	/* Ids are unique among listed sessions (callers check; a clash or
	 * ENOMEM here is refused like any allocation failure). */
	if (peer_index_add(&sn->session_ix, s) < 0) {
		free(s);
		return NULL;
	}
	s->rec.kind = kind;
	bytes_to_hex(id, MSG_ID_LEN, s->hex);
	s->state = SS_LOOKUP;
	s->ops = 1; /* the list's hold */
	s->next = sn->sessions;
	if (sn->sessions)
		sn->sessions->prev = s;
	sn->sessions = s;
	return s;
}

struct sn_session *session_find(struct supernoded *sn, const uint8_t id[MSG_ID_LEN])
{
	return peer_index_find(&sn->session_ix, id);
}

static void unlink_session(struct sn_session *s)
{
	struct supernoded *sn = s->sn;

	peer_index_del(&sn->session_ix, s->rec.id);
	if (s->prev)
		s->prev->next = s->next;
	else
		sn->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

struct sn_session *session_find_lookup(struct supernoded *sn, const uint8_t id[MSG_ID_LEN])
{
	struct sn_session *s;

	for (s = sn->sessions; s; s = s->next)
		if (s->state == SS_LOOKUP && memcmp(s->lookup_id, id, MSG_ID_LEN) == 0)
			return s;
	return NULL;
}

void session_hold(struct sn_session *s)
{
	s->ops++;
}

void session_release(struct sn_session *s)
{
	if (--s->ops == 0)
		free(s);
}

void session_save(struct sn_session *s)
{
	if (s->sn->store && store_session_put(s->sn->store, &s->rec) < 0)
		log_warnx("event=store_failed session_id=%s", s->hex);
}

/*
 * LOCAL and ORIGIN sessions count against their client's limit while they
 * are listed. The count sits on the client's peer, which they keep alive
 * (session_refs_peer), so an ExitRequest needs no walk over every session.
 */
void session_set_client(struct sn_session *s, struct sn_peer *client)
{
	memcpy(s->rec.client_id, client->id, ID_PK_LEN);
	if (s->rec.kind != SESS_SERVE && s->state != SS_ENDED && !s->counted) {
		client->nsessions++;
		s->counted = 1;
	}
}

static void uncount_client(struct sn_session *s)
{
	struct sn_peer *p;

	if (!s->counted)
		return;
	s->counted = 0;
	if ((p = peer_find(s->sn, s->rec.client_id)) && p->nsessions)
		p->nsessions--;
}

void session_end(struct sn_session *s, const char *reason)
{
	struct supernoded *sn = s->sn;

	if (s->state == SS_ENDED)
		return;
	s->state = SS_ENDED;
	if (sn->store && store_session_end(sn->store, s->rec.id) < 0)
		log_warnx("event=store_failed session_id=%s", s->hex);
	uncount_client(s);
	unlink_session(s);
	log_info("event=session_ended session_id=%s reason=%s", s->hex, reason);
	session_release(s);
}

static void on_bg_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	if (status < 0 || !resp->ok)
		log_debug("event=disconnect_unacked status=%d", status);
}

int sn_command_send(struct supernoded *sn, Supermesh__CommandType type,
                    const ProtobufCMessage *payload, struct sn_peer *to, cmd_done_fn done,
                    void *arg)
{
	uint8_t buf[4096];
	size_t len;
	int rc, wrapped;

	if (sn->stopping || !sn->cmds || !to)
		return -ESHUTDOWN;
	len = protobuf_c_message_get_packed_size(payload);
	if (len > sizeof(buf))
		return -EMSGSIZE;
	protobuf_c_message_pack(payload, buf);
	/* Counted and timed only with a registry: unit tests see the bare call. */
	wrapped = sn->metrics && done && sn_observe_wrap(sn, &done, &arg) == 0;
	rc = cmd_send(sn->cmds, type, buf, len, peer_transmit, to, done, arg, NULL);
	if (rc < 0 && wrapped)
		sn_observe_unwrap(arg);
	return rc;
}

void session_send_disconnect(struct supernoded *sn, struct sn_peer *to,
                             const uint8_t id[MSG_ID_LEN], const char *reason)
{
	Supermesh__Disconnect d;

	supermesh__disconnect__init(&d);

	if (!to)
		return;
	d.session_id.data = (uint8_t *)(uintptr_t)id;
	d.session_id.len = MSG_ID_LEN;
	d.reason = (char *)(uintptr_t)reason;
	sn_command_send(sn, SUPERMESH__COMMAND_TYPE__DISCONNECT, &d.base, to, on_bg_done, NULL);
}

/* The exit a session is using, or the one it is being set up on. */
static const uint8_t *session_exit(const struct sn_session *s)
{
	if (s->state == SS_SETUP && s->tried > 0)
		return s->cands[s->tried - 1].exit_id;
	return s->rec.exit_id;
}

void session_teardown(struct sn_session *s, const char *reason)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *p;

	if (s->rec.kind == SESS_ORIGIN)
		p = peer_find(sn, s->rec.remote_id);
	else
		p = peer_find(sn, session_exit(s));
	if (p && s->state != SS_LOOKUP)
		session_send_disconnect(sn, p, s->rec.id, reason);
	if (s->rec.relay) {
		relay_del(sn, s->hex);
		s->rec.relay = 0;
	}
	session_end(s, reason);
}

int session_refs_peer(struct supernoded *sn, const uint8_t id[ID_PK_LEN])
{
	const struct sn_session *s;

	for (s = sn->sessions; s; s = s->next) {
		if (!memcmp(s->rec.client_id, id, ID_PK_LEN) ||
		    !memcmp(s->rec.exit_id, id, ID_PK_LEN) ||
		    !memcmp(s->rec.remote_id, id, ID_PK_LEN) ||
		    !memcmp(session_exit(s), id, ID_PK_LEN))
			return 1;
	}
	return 0;
}

size_t session_count(struct supernoded *sn, int active_only)
{
	const struct sn_session *s;
	size_t n = 0;

	for (s = sn->sessions; s; s = s->next)
		n += !active_only || s->state == SS_ACTIVE;
	return n;
}

size_t session_count_client(struct supernoded *sn, const uint8_t id[ID_PK_LEN])
{
	const struct sn_peer *p = peer_find(sn, id);

	return p ? p->nsessions : 0;
}

static struct sn_peer *note_peer(struct supernoded *sn, const uint8_t id[ID_PK_LEN],
                                 uint32_t role)
{
	static const uint8_t zero[ID_PK_LEN];
	struct sn_peer *p;

	if (memcmp(id, zero, ID_PK_LEN) == 0 || !(p = peer_get(sn, id)))
		return NULL;
	if (!p->role)
		peer_set_role(p, role);
	return p;
}

static int load_one(void *arg, const struct sess_rec *r)
{
	struct supernoded *sn = arg;
	struct sn_session *s = session_new(sn, r->id, r->kind);
	struct sn_peer *client;

	if (!s)
		return -ENOMEM;
	s->rec = *r;
	s->state = SS_ACTIVE;
	/* wgrelay outlives us: the relay is still there. */
	if (r->relay)
		sn->relays_active++;
	/* Peers start absent; the sweep acts if they do not come back. */
	if ((client = note_peer(sn, r->client_id, SUPERMESH__ROLE__ROLE_CLIENT)))
		session_set_client(s, client);
	note_peer(sn, r->exit_id, SUPERMESH__ROLE__ROLE_EXIT);
	note_peer(sn, r->remote_id, SUPERMESH__ROLE__ROLE_SUPERNODE);
	/* Our client's exit is remote: reopen the pooled stream to it. */
	if (r->kind == SESS_ORIGIN && r->remote_addr[0])
		remote_pool_get(sn, r->remote_id, r->remote_addr);
	log_info("event=session_loaded session_id=%s kind=%d", s->hex, r->kind);
	return 0;
}

int session_load_all(struct supernoded *sn)
{
	return sn->store ? store_sessions_load(sn->store, load_one, sn) : 0;
}

void session_free_all(struct supernoded *sn)
{
	struct sn_session *s;

	/* Not ended: they stay active in the store for the next start. */
	while ((s = sn->sessions)) {
		unlink_session(s);
		uncount_client(s);
		s->state = SS_ENDED;
		session_release(s);
	}
	peer_index_release(&sn->session_ix);
}

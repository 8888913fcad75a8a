/* Applying SETUP_EXIT and DISCONNECT: a short chain of helper requests per
 * command, and for a failed setup the rollback of exactly what was done. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "helper.h"
#include "log.h"

enum op_step {
	ST_PEER_ADD,     /* wgrelay peer add */
	ST_NAT_ADD,      /* natctl add */
	ST_RB_NAT_DEL,   /* rollback: natctl del */
	ST_RB_PEER_DEL,  /* rollback: wgrelay peer del */
	ST_DC_PEER_DEL,  /* disconnect: wgrelay peer del */
	ST_DC_NAT_DEL,   /* disconnect: natctl del */
	ST_MOVE_PEER_DEL, /* path change: wgrelay peer del (a fresh peer handshakes at once) */
	ST_MOVE_PEER,    /* path change: wgrelay peer add with the new endpoint */
};

static void step_done(struct ep_op *op, int ok, const char *code, const char *error);

static void on_helper(void *arg, const struct helper_reply *r)
{
	struct ep_op *op = arg;
	char error[300];

	helper_reply_error(r, error, sizeof(error));
	step_done(op, r->ok, r->code, error);
}

void ep_words_set(struct ep_words *w, ...)
{
	const char *word;
	va_list ap;
	size_t n = 0;

	va_start(ap, w);
	while ((word = va_arg(ap, const char *)) && n + 1 < sizeof(w->w) / sizeof(w->w[0]))
		w->w[n++] = word;
	va_end(ap);
	w->w[n] = NULL;
}

void ep_words_peer_add(const struct exitpeer *ep, const struct exit_session *s,
                       struct ep_words *w)
{
	key_to_base64(s->client_key, w->key);
	ep_session_cidr(s, w->cidr, sizeof(w->cidr));
	snprintf(w->ka, sizeof(w->ka), "%u", s->keepalive_s);
	if (s->endpoint[0])
		ep_words_set(w, "peer", "add", ep->conf.wg_iface, w->key, "allowed-ips", w->cidr,
		             "endpoint", s->endpoint, "keepalive", w->ka, NULL);
	else
		ep_words_set(w, "peer", "add", ep->conf.wg_iface, w->key, "allowed-ips", w->cidr,
		             NULL);
}

void ep_words_peer_del(const struct exitpeer *ep, const struct exit_session *s,
                       struct ep_words *w)
{
	key_to_base64(s->client_key, w->key);
	ep_words_set(w, "peer", "del", ep->conf.wg_iface, w->key, NULL);
}

void ep_words_nat(const struct exit_session *s, const char *verb, struct ep_words *w)
{
	exit_pool_addr_str(s->addr, w->addr);
	ep_words_set(w, verb, w->addr, NULL);
}

/* Sends the request for op->step; a request that cannot even be sent is
 * handled like an err reply. */
static void advance(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;
	const char *path = ep->conf.wgrelay_socket;
	struct ep_words w;
	int rc;

	if (op->step == ST_PEER_ADD || op->step == ST_MOVE_PEER) {
		ep_words_peer_add(ep, &op->s, &w);
	} else if (op->step == ST_RB_PEER_DEL || op->step == ST_DC_PEER_DEL ||
	           op->step == ST_MOVE_PEER_DEL) {
		ep_words_peer_del(ep, &op->s, &w);
	} else {
		path = ep->conf.natctl_socket;
		ep_words_nat(&op->s, op->step == ST_NAT_ADD ? "add" : "del", &w);
	}
	rc = helper_request(ep->loop, path, exitpeer_helper_timeout(ep), w.w, on_helper, op);
	if (rc < 0) {
		char error[128];

		snprintf(error, sizeof(error), "io: %s", strerror(-rc));
		step_done(op, 0, "io", error);
	}
}

/* Undoes the last thing done, one step at a time, then answers. */
static void rollback(struct ep_op *op)
{
	if (op->did & EP_DID_NAT) {
		op->step = ST_RB_NAT_DEL;
		advance(op);
	} else if (op->did & EP_DID_PEER) {
		op->step = ST_RB_PEER_DEL;
		advance(op);
	} else {
		if (op->did & EP_DID_ADDR)
			exit_pool_free(&op->ep->pool, op->s.addr);
		op->did = 0;
		ep_op_finish(op);
	}
}

static void setup_fail(struct ep_op *op, const char *who, const char *error)
{
	op->out.ok = 0;
	snprintf(op->out.error, sizeof(op->out.error), "%s: %s", who, error);
	rollback(op);
}

/* Both helpers agreed: persist, then answer with the address. */
static void setup_commit(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;

	if (exit_store_session_put(&ep->st, &op->s) < 0) {
		setup_fail(op, "state", "cannot store session");
		return;
	}
	if (ep_session_add(ep, &op->s) < 0) {
		exit_store_session_del(&ep->st, op->s.id);
		setup_fail(op, "state", "out of memory");
		return;
	}
	if (ep_setup_result(ep, &op->s, &op->out) < 0) {
		/* Cannot happen with bounded fields; still never half-done. */
		ep_session_remove(ep, op->s.id);
		exit_store_session_del(&ep->st, op->s.id);
		setup_fail(op, "state", "result too large");
		return;
	}
	ep_op_finish(op);
}

static void disconnect_commit(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;

	if (exit_store_session_del(&ep->st, op->s.id) < 0) {
		ep_op_fail(op, "state: cannot delete session");
		return;
	}
	exit_pool_free(&ep->pool, op->s.addr);
	ep_session_remove(ep, op->s.id);
	op->out.ok = 1;
	ep_op_finish(op);
}

/* The peer points at its new endpoint: the session keeps address and NAT. */
static void move_commit(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;
	struct exit_session *cur = ep_session_find(ep, op->s.id);

	if (!cur) {
		ep_op_fail(op, "session_gone");
		return;
	}
	snprintf(cur->endpoint, sizeof(cur->endpoint), "%s", op->s.endpoint);
	cur->keepalive_s = op->s.keepalive_s;
	if (exit_store_session_put(&ep->st, cur) < 0 ||
	    ep_setup_result(ep, cur, &op->out) < 0) {
		ep_op_fail(op, "state: cannot store session");
		return;
	}
	ep_op_finish(op);
}

static void rollback_step(struct ep_op *op, int ok, const char *error)
{
	char sid[2 * SESSION_ID_LEN + 1];

	if (!ok) {
		/* Logged and passed over: the answer must still come. */
		bytes_to_hex(op->s.id, SESSION_ID_LEN, sid);
		log_warnx("event=rollback_failed session_id=%s error=\"%s\"", sid, error);
	}
	op->did &= op->step == ST_RB_NAT_DEL ? ~EP_DID_NAT : ~EP_DID_PEER;
	rollback(op);
}

static void step_done(struct ep_op *op, int ok, const char *code, const char *error)
{
	/* Deleting what is already gone is what we wanted. */
	int gone = ok || !strcmp(code, LINE_ENOENT);

	switch (op->step) {
	case ST_PEER_ADD:
		if (!ok) {
			setup_fail(op, "wgrelay", error);
			break;
		}
		op->did |= EP_DID_PEER;
		op->step = ST_NAT_ADD;
		advance(op);
		break;
	case ST_NAT_ADD:
		if (!ok) {
			setup_fail(op, "natctl", error);
			break;
		}
		op->did |= EP_DID_NAT;
		setup_commit(op);
		break;
	case ST_RB_NAT_DEL:
	case ST_RB_PEER_DEL:
		rollback_step(op, gone, error);
		break;
	case ST_MOVE_PEER_DEL:
		op->step = ST_MOVE_PEER; /* the add that follows puts it back either way */
		advance(op);
		break;
	case ST_MOVE_PEER:
		if (!ok)
			ep_op_fail(op, error);
		else
			move_commit(op);
		break;
	case ST_DC_PEER_DEL:
		if (!gone) {
			ep_op_fail(op, error);
			break;
		}
		op->step = ST_DC_NAT_DEL;
		advance(op);
		break;
	case ST_DC_NAT_DEL:
		if (!gone)
			ep_op_fail(op, error);
		else
			disconnect_commit(op);
		break;
	}
}

void ep_op_setup_start(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;
	struct exit_session *cur = ep_session_find(ep, op->s.id);

	if (cur) {
		/* A new command for a session we already serve: same answer. */
		if (memcmp(cur->client_key, op->s.client_key, WG_KEY_LEN)) {
			ep_op_fail(op, "session_exists");
		} else if (op->s.endpoint[0] && strcmp(cur->endpoint, op->s.endpoint)) {
			/* The supernode moves the path (relay <-> direct): only
			 * the endpoint changes, so the client's connections live on. */
			op->s.addr = cur->addr;
			op->step = ST_MOVE_PEER_DEL;
			advance(op);
		} else if (ep_setup_result(ep, cur, &op->out) < 0)
			ep_op_fail(op, "result too large");
		else
			ep_op_finish(op);
		return;
	}
	/* WireGuard has one peer per key: a second session would steal the
	 * first one's allowed-ips. */
	if (ep_session_find_key(ep, op->s.client_key)) {
		ep_op_fail(op, "key_in_use");
		return;
	}
	if (exit_pool_alloc(&ep->pool, &op->s.addr) < 0) {
		ep_op_fail(op, "pool_full");
		return;
	}
	op->did = EP_DID_ADDR;
	op->step = ST_PEER_ADD;
	advance(op);
}

void ep_op_disconnect_start(struct ep_op *op)
{
	struct exit_session *cur = ep_session_find(op->ep, op->s.id);

	if (!cur) {
		op->out.ok = 1; /* already gone: DISCONNECT is idempotent */
		ep_op_finish(op);
		return;
	}
	op->s = *cur;
	op->step = ST_DC_PEER_DEL;
	advance(op);
}

int ep_setup_result(struct exitpeer *ep, const struct exit_session *s, struct cmd_outcome *out)
{
	Supermesh__SetupExitResult r;
	char cidr[POOL_ADDR_LEN + 3], endpoint[ENDPOINT_MAX + 64];
	size_t n;

	supermesh__setup_exit_result__init(&r);
	ep_session_cidr(s, cidr, sizeof(cidr));
	snprintf(endpoint, sizeof(endpoint), "%s", ep->conf.public_endpoint);
	r.client_address = cidr;
	r.exit_pubkey.data = ep->wg_pubkey;
	r.exit_pubkey.len = WG_KEY_LEN;
	r.exit_endpoint = endpoint;
	n = supermesh__setup_exit_result__get_packed_size(&r);
	if (n > sizeof(out->result))
		return -EMSGSIZE;
	memset(out, 0, sizeof(*out));
	out->result_len = supermesh__setup_exit_result__pack(&r, out->result);
	out->ok = 1;
	return 0;
}

/* Receiving commands: field checks on every payload, the journal lookup,
 * dispatch by type from a table, and the one CommandResponse each gets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "daemon.h"
#include "log.h"
#include "peerlink.h"

#define TEXT_MAX 64       /* allowed_ips entries, relay_to */
#define REASON_MAX 128
#define ALLOWED_IPS_MAX 16

struct cmd_type {
	Supermesh__CommandType type;
	const char *name;
	int (*validate)(struct exitpeer *ep, const ProtobufCBinaryData *payload,
	                struct ep_op *op, char *why, size_t why_size);
	void (*start)(struct ep_op *op);
};

static int printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int why_set(char *why, size_t size, const char *text)
{
	snprintf(why, size, "%s", text);
	return -EINVAL;
}

static int check_setup(struct exitpeer *ep, const Supermesh__SetupExit *se, struct ep_op *op,
                       char *why, size_t size)
{
	struct sockaddr_storage ss;
	size_t i;

	if (se->client_wg_pubkey.len != WG_KEY_LEN)
		return why_set(why, size, "bad client_wg_pubkey");
	if (se->session_id.len != SESSION_ID_LEN)
		return why_set(why, size, "bad session_id");
	if (se->n_allowed_ips > ALLOWED_IPS_MAX)
		return why_set(why, size, "too many allowed_ips");
	for (i = 0; i < se->n_allowed_ips; i++)
		if (!printable(se->allowed_ips[i], TEXT_MAX))
			return why_set(why, size, "bad allowed_ips");
	if (se->client_endpoint[0] && (strlen(se->client_endpoint) >= ENDPOINT_MAX ||
	                               daemon_parse_sockaddr(se->client_endpoint, &ss) < 0))
		return why_set(why, size, "bad client_endpoint");
	if (se->keepalive_s > 65535)
		return why_set(why, size, "bad keepalive_s");
	if ((se->exit_id.len && se->exit_id.len != ID_PK_LEN) || !printable(se->relay_to, TEXT_MAX))
		return why_set(why, size, "bad exit_id or relay_to");
	memcpy(op->s.id, se->session_id.data, SESSION_ID_LEN);
	memcpy(op->s.client_key, se->client_wg_pubkey.data, WG_KEY_LEN);
	snprintf(op->s.endpoint, sizeof(op->s.endpoint), "%s", se->client_endpoint);
	/* Keepalive only matters with an endpoint: it is what opens the
	 * exit's NAT towards a relay (DESIGN section 6). */
	if (se->client_endpoint[0])
		op->s.keepalive_s = se->keepalive_s ? se->keepalive_s : ep->conf.keepalive_s;
	return 0;
}

static int validate_setup(struct exitpeer *ep, const ProtobufCBinaryData *payload,
                          struct ep_op *op, char *why, size_t size)
{
	Supermesh__SetupExit *se;
	int rc;

	se = supermesh__setup_exit__unpack(NULL, payload->len, payload->data);
	if (!se)
		return why_set(why, size, "bad payload");
	rc = check_setup(ep, se, op, why, size);
	supermesh__setup_exit__free_unpacked(se, NULL);
	return rc;
}

static int validate_disconnect(struct exitpeer *ep, const ProtobufCBinaryData *payload,
                               struct ep_op *op, char *why, size_t size)
{
	Supermesh__Disconnect *d;
	int rc = 0;

	d = supermesh__disconnect__unpack(NULL, payload->len, payload->data);
	if (!d)
		return why_set(why, size, "bad payload");
	if (d->session_id.len != SESSION_ID_LEN)
		rc = why_set(why, size, "bad session_id");
	else if (!printable(d->reason, REASON_MAX))
		rc = why_set(why, size, "bad reason");
	else
		memcpy(op->s.id, d->session_id.data, SESSION_ID_LEN);
	supermesh__disconnect__free_unpacked(d, NULL);
	return rc;
}

static const struct cmd_type cmd_types[] = {
	{ SUPERMESH__COMMAND_TYPE__SETUP_EXIT, "setup_exit", validate_setup, ep_op_setup_start },
	{ SUPERMESH__COMMAND_TYPE__DISCONNECT, "disconnect", validate_disconnect,
	  ep_op_disconnect_start },
	{ SUPERMESH__COMMAND_TYPE__PROBE_PATH, "probe_path", ep_validate_probe,
	  ep_op_probe_start },
	{ 0, NULL, NULL, NULL },
};

static const struct cmd_type *type_find(Supermesh__CommandType type)
{
	const struct cmd_type *t;

	for (t = cmd_types; t->name; t++)
		if (t->type == type)
			return t;
	return NULL;
}

static const char *type_name(Supermesh__CommandType type)
{
	const struct cmd_type *t = type_find(type);

	return t ? t->name : "other";
}

static void respond(struct exitpeer *ep, const uint8_t *id, size_t id_len,
                    const struct cmd_outcome *o)
{
	Supermesh__ControlMessage m;
	Supermesh__CommandResponse r;
	char error[sizeof(o->error)];
	int rc;

	supermesh__control_message__init(&m);
	supermesh__command_response__init(&r);
	snprintf(error, sizeof(error), "%s", o->error);
	r.command_id.data = (uint8_t *)(uintptr_t)id;
	r.command_id.len = id_len;
	r.ok = o->ok != 0;
	r.error = error;
	r.result.data = (uint8_t *)(uintptr_t)o->result;
	r.result.len = o->result_len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	/* Down: the journal has the answer for the supernode's resend. */
	rc = ep->pl ? peerlink_send(ep->pl, &m) : -ENOTCONN;
	if (rc < 0)
		log_debug("event=response_not_sent err=\"%s\"", strerror(-rc));
}

static void hex_id(const uint8_t *id, size_t len, char *out)
{
	if (len > MSG_ID_LEN)
		len = MSG_ID_LEN;
	bytes_to_hex(id, len, out);
}

/* A command refused before it was applied: answered, never journaled. */
static void reject(struct exitpeer *ep, const Supermesh__Command *c, const char *why)
{
	struct cmd_outcome o;
	char hex[2 * MSG_ID_LEN + 1];

	memset(&o, 0, sizeof(o));
	snprintf(o.error, sizeof(o.error), "%s", why);
	hex_id(c->command_id.data, c->command_id.len, hex);
	log_warnx("event=command_rejected command_id=%s type=%s region=%s reason=\"%s\"", hex,
	          type_name(c->type), ep->conf.region, why);
	ep->rejected++;
	ep_observe_command(ep, 0, 0);
	/* An id of the wrong size cannot match anything at the sender, but
	 * echoing what came (bounded) still says what was refused. */
	respond(ep, c->command_id.data, c->command_id.len > MSG_ID_LEN ? 0 : c->command_id.len,
	        &o);
}

static struct ep_op *op_find(struct exitpeer *ep, const uint8_t *id, const uint8_t *sid)
{
	struct ep_op *op;

	for (op = ep->ops; op; op = op->next)
		if ((id && !memcmp(op->cmd_id, id, MSG_ID_LEN)) ||
		    (sid && !memcmp(op->s.id, sid, SESSION_ID_LEN)))
			return op;
	return NULL;
}

/* 1 if answered from the journal (or refused), 0 to apply. */
static int answer_known(struct exitpeer *ep, const Supermesh__Command *c, struct ep_op *op)
{
	struct cmd_outcome o;
	char hex[2 * MSG_ID_LEN + 1];
	int rc;

	rc = cmd_journal_find(&ep->st, op->cmd_id, &o);
	if (rc < 0) {
		/* Without the journal a resend could be applied twice. */
		reject(ep, c, "state_error");
		return 1;
	}
	if (rc == 1) {
		hex_id(op->cmd_id, MSG_ID_LEN, hex);
		log_info("event=command_duplicate command_id=%s type=%s ok=%d", hex,
		         type_name(c->type), o.ok);
		ep->duplicates++;
		respond(ep, op->cmd_id, MSG_ID_LEN, &o);
		return 1;
	}
	if (op_find(ep, NULL, op->s.id)) {
		reject(ep, c, "busy");
		return 1;
	}
	return 0;
}

void ep_command_handle(struct exitpeer *ep, const Supermesh__Command *c)
{
	const struct cmd_type *t;
	struct ep_op *op;
	char why[128];

	if (c->command_id.len != MSG_ID_LEN) {
		reject(ep, c, "bad command_id");
		return;
	}
	/* A resend of a command still being applied: its answer is coming. */
	if (op_find(ep, c->command_id.data, NULL)) {
		ep->duplicates++;
		return;
	}
	if (!(t = type_find(c->type))) {
		reject(ep, c, "unsupported");
		return;
	}
	if (!(op = calloc(1, sizeof(*op)))) {
		reject(ep, c, "out_of_memory");
		return;
	}
	op->ep = ep;
	op->type = c->type;
	memcpy(op->cmd_id, c->command_id.data, MSG_ID_LEN);
	if (t->validate(ep, &c->payload, op, why, sizeof(why)) < 0) {
		reject(ep, c, why);
		free(op);
		return;
	}
	if (answer_known(ep, c, op)) {
		free(op);
		return;
	}
	op->next = ep->ops;
	ep->ops = op;
	op->started_ns = uv_hrtime();
	t->start(op);
}

static void op_unlink(struct ep_op *op)
{
	struct ep_op **pp;

	for (pp = &op->ep->ops; *pp; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			return;
		}
	}
}

void ep_op_finish(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;
	char hex[2 * MSG_ID_LEN + 1], sid[2 * SESSION_ID_LEN + 1];

	if (cmd_journal_store(&ep->st, op->cmd_id, &op->out) < 0)
		log_warnx("event=journal_failed err=\"%s\"", sqlite3_errmsg(ep->st.db));
	hex_id(op->cmd_id, MSG_ID_LEN, hex);
	bytes_to_hex(op->s.id, SESSION_ID_LEN, sid);
	if (op->out.ok)
		log_info("event=command_applied command_id=%s type=%s session_id=%s region=%s",
		         hex, type_name(op->type), sid, ep->conf.region);
	else
		log_warnx("event=command_failed command_id=%s type=%s session_id=%s region=%s "
		          "error=\"%s\"", hex, type_name(op->type), sid, ep->conf.region,
		          op->out.error);
	ep->applied++;
	ep_observe_command(ep, op->out.ok, op->started_ns);
	respond(ep, op->cmd_id, MSG_ID_LEN, &op->out);
	op_unlink(op);
	free(op);
}

void ep_op_fail(struct ep_op *op, const char *error)
{
	op->out.ok = 0;
	op->out.result_len = 0;
	snprintf(op->out.error, sizeof(op->out.error), "%s", error);
	ep_op_finish(op);
}

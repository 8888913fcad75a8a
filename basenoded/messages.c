/* Handlers for the ControlMessages a supernode sends basenoded, looked up
 * from a table by oneof case: Ping, RegisterSupernode, LoadReport,
 * ExitRegionRequest, Error. Anything else closes the stream. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "msg.h"
#include "msg_parse.h"
#include "stream.h"

#define ANSWER_MAX 32      /* supernodes in one ExitRegionResponse */

typedef Supermesh__ControlMessage ControlMessage;

static void on_ping(struct sn_stream *s, const ControlMessage *in)
{
	ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Pong pong = SUPERMESH__PONG__INIT;

	pong.timestamp_ms = in->ping->timestamp_ms;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PONG;
	m.pong = &pong;
	msg_send(s->c.ch, &m);
}

static void on_register(struct sn_stream *s, const ControlMessage *in)
{
	struct dir_info info;
	const char *why;

	if (msg_register_info(in->register_supernode, s->auth_region, &info, &why) < 0) {
		sn_stream_close(s, -EPROTO, why);
		return;
	}
	if (directory_register(&sn_bn(s)->dir, s->id, s, &info) < 0) {
		sn_stream_close(s, -EPROTO, "not_attached");
		return;
	}
	s->state = SN_REGISTERED;
	log_info("event=supernode_registered peer_id=%s region=%s public_address=%s "
	         "relay_host=%s capacity=%u", s->c.id_hex, info.region, info.public_address,
	         info.relay_host[0] ? info.relay_host : "-", info.capacity);
}

static void on_load_report(struct sn_stream *s, const ControlMessage *in)
{
	struct dir_load load;
	struct dir_entry *e;

	msg_load(in->load_report, &load);
	if (directory_report(&sn_bn(s)->dir, s->id, s, &load) < 0) {
		sn_stream_close(s, -EPROTO, "not_registered");
		return;
	}
	e = directory_find(&sn_bn(s)->dir, s->id);
	log_debug("event=load_report peer_id=%s streams=%u cpu_pct=%u load_pct=%u",
	          s->c.id_hex, load.streams, load.cpu_pct, e ? e->load_pct : 0);
}

/* Fills the response's entries from the directory, at most max. */
static size_t answer_fill(struct sn_stream *s, const char *region,
                          Supermesh__SupernodeEntry *ent, Supermesh__SupernodeEntry **ptr,
                          size_t max)
{
	struct dir_entry *found[ANSWER_MAX];
	size_t i, n;

	n = directory_region(&sn_bn(s)->dir, region, found, max);
	for (i = 0; i < n; i++) {
		supermesh__supernode_entry__init(&ent[i]);
		ent[i].supernode_id.data = found[i]->id;
		ent[i].supernode_id.len = ID_PK_LEN;
		ent[i].region = found[i]->info.region;
		ent[i].public_address = found[i]->info.public_address;
		ent[i].relay_host = found[i]->info.relay_host;
		ent[i].capacity = found[i]->info.capacity;
		ent[i].load_pct = found[i]->load_pct;
		ptr[i] = &ent[i];
	}
	return n;
}

static void on_exit_region(struct sn_stream *s, const ControlMessage *in)
{
	const Supermesh__ExitRegionRequest *r = in->exit_region_request;
	ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitRegionResponse resp = SUPERMESH__EXIT_REGION_RESPONSE__INIT;
	Supermesh__SupernodeEntry ent[ANSWER_MAX], *ptr[ANSWER_MAX];

	if (msg_exit_region_check(r) < 0) {
		sn_stream_close(s, -EPROTO, "bad_exit_region_request");
		return;
	}
	resp.request_id = r->request_id;
	resp.supernodes = ptr;
	resp.n_supernodes = answer_fill(s, r->region, ent, ptr, ANSWER_MAX);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_RESPONSE;
	m.exit_region_response = &resp;
	/* Long addresses could overflow one frame: drop the most loaded. */
	while (resp.n_supernodes > 0 &&
	       supermesh__control_message__get_packed_size(&m) > MSG_MAX)
		resp.n_supernodes--;
	log_debug("event=exit_region_answered peer_id=%s region=%s count=%zu", s->c.id_hex,
	          r->region[0] ? r->region : "*", resp.n_supernodes);
	msg_send(s->c.ch, &m);
}

static void on_error(struct sn_stream *s, const ControlMessage *in)
{
	char msg[128];

	msg_text_clean(msg, sizeof(msg), in->error->message);
	log_warnx("event=peer_error peer_id=%s code=%u message=%s", s->c.id_hex,
	          in->error->code, msg);
}

struct msg_handler {
	void (*fn)(struct sn_stream *s, const ControlMessage *m);
	enum sn_state min_state; /* earliest state the message may arrive in */
};

static const struct msg_handler handlers[] = {
	[SUPERMESH__CONTROL_MESSAGE__BODY_PING] = { on_ping, SN_OPEN },
	[SUPERMESH__CONTROL_MESSAGE__BODY_REGISTER_SUPERNODE] = { on_register, SN_OPEN },
	[SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT] = { on_load_report, SN_REGISTERED },
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_REQUEST] = { on_exit_region,
	                                                          SN_REGISTERED },
	[SUPERMESH__CONTROL_MESSAGE__BODY_ERROR] = { on_error, SN_OPEN },
};

void sn_stream_message(struct sn_stream *s, const uint8_t *data, size_t len)
{
	ControlMessage *m;
	const struct msg_handler *h = NULL;
	char reason[48];

	m = msg_decode(data, len);
	if (!m) {
		sn_stream_close(s, -EPROTO, "bad_message");
		return;
	}
	if ((size_t)m->body_case < sizeof(handlers) / sizeof(handlers[0]))
		h = &handlers[m->body_case];
	if (!h || !h->fn) {
		snprintf(reason, sizeof(reason), "unexpected_message_%d", (int)m->body_case);
		sn_stream_close(s, -EPROTO, reason);
	} else if (s->state < h->min_state) {
		sn_stream_close(s, -EPROTO, "not_registered");
	} else {
		h->fn(s, m);
	}
	supermesh__control_message__free_unpacked(m, NULL);
}

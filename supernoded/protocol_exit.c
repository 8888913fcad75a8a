/* Exit requests: a client's ExitRequest, and between supernodes the
 * ExitPeerRequest (answered with our exits) and its response. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"

static void refuse(struct sn_peer *p, const ProtobufCBinaryData *req_id, const char *why)
{
	ControlMessage m;
	Supermesh__ExitResponse r;

	supermesh__control_message__init(&m);
	supermesh__exit_response__init(&r);

	r.request_id = *req_id;
	r.ok = 0;
	r.error = (char *)(uintptr_t)why;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE;
	m.exit_response = &r;
	peer_send(p, &m);
}

int exit_on_request(struct sn_peer *p, const ControlMessage *m)
{
	const Supermesh__ExitRequest *r = m->exit_request;
	struct supernoded *sn = p->sn;
	struct sn_session *s;
	uint8_t id[MSG_ID_LEN];
	int local;

	if (r->request_id.len == 0 || r->request_id.len > SESS_REQ_ID_MAX ||
	    !check_region(r->region, 1))
		return -EPROTO;
	if (!p->has_wg) {
		refuse(p, &r->request_id, "no_wg_pubkey");
		return 0;
	}
	/* Each request costs a setup on an exit: a client may not pile them up. */
	if (session_count_client(sn, p->id) >= SESS_PER_CLIENT_MAX) {
		refuse(p, &r->request_id, "too_many_sessions");
		return 0;
	}
	local = !r->region[0] || !strcmp(r->region, sn->set.region);
	msg_new_id(id);
	if (!(s = session_new(sn, id, local ? SESS_LOCAL : SESS_ORIGIN))) {
		refuse(p, &r->request_id, "out_of_memory");
		return 0;
	}
	memcpy(s->request_id, r->request_id.data, r->request_id.len);
	s->request_id_len = r->request_id.len;
	session_set_client(s, p);
	memcpy(s->rec.client_wg, p->wg_pubkey, 32);
	snprintf(s->region, sizeof(s->region), "%s", local ? sn->set.region : r->region);
	s->want.min_bw = r->min_bw;
	s->want.max_latency_ms = r->max_latency_ms;
	s->want.force_relay = sn->set.force_relay;
	log_info("event=exit_request peer_id=%s session_id=%s region=%s", p->hex, s->hex,
	         s->region);
	if (!local) {
		remote_start_lookup(s);
		return 0;
	}
	s->ncands = setup_local_cands(sn, s->cands, SESS_MAX_CANDS, NULL);
	s->ncands = rank_sort(s->cands, s->ncands, &s->want);
	setup_try_next(s);
	return 0;
}

int exit_on_peer_request(struct sn_peer *p, const ControlMessage *m)
{
	const Supermesh__ExitPeerRequest *r = m->exit_peer_request;
	ControlMessage out;
	Supermesh__ExitPeerResponse resp;
	Supermesh__ExitCandidate ent[SESS_MAX_CANDS], *ptr[SESS_MAX_CANDS];
	struct rank_cand c[SESS_MAX_CANDS];
	struct rank_want want = { r->min_bw, r->max_latency_ms, p->sn->set.force_relay };
	size_t i, n;

	supermesh__control_message__init(&out);
	supermesh__exit_peer_response__init(&resp);

	if (r->request_id.len == 0 || r->request_id.len > SESS_REQ_ID_MAX ||
	    !check_region(r->region, 1))
		return -EPROTO;
	n = setup_local_cands(p->sn, c, SESS_MAX_CANDS, NULL);
	n = rank_sort(c, n, &want);
	for (i = 0; i < n; i++) {
		supermesh__exit_candidate__init(&ent[i]);
		ent[i].exit_id.data = c[i].exit_id;
		ent[i].exit_id.len = ID_PK_LEN;
		ent[i].wg_pubkey.data = c[i].wg_pubkey;
		ent[i].wg_pubkey.len = 32;
		ent[i].endpoint = c[i].endpoint;
		ent[i].behind_nat = c[i].behind_nat;
		ent[i].load_pct = c[i].load_pct;
		ent[i].bandwidth_bps = c[i].bandwidth_bps;
		/* What our reflectors saw: the origin may punch to it. */
		ent[i].observed_endpoint = c[i].observed;
		ent[i].nat_class = (uint32_t)c[i].nat_class;
		ptr[i] = &ent[i];
	}
	resp.request_id = r->request_id;
	resp.candidates = ptr;
	resp.n_candidates = n;
	out.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_RESPONSE;
	out.exit_peer_response = &resp;
	log_info("event=exit_peer_request peer_id=%s candidates=%zu", p->hex, n);
	peer_send(p, &out);
	return 0;
}

int exit_on_peer_response(struct sn_peer *p, const ControlMessage *m)
{
	const Supermesh__ExitPeerResponse *r = m->exit_peer_response;
	struct sn_session *s;
	size_t i;

	if (r->request_id.len != MSG_ID_LEN ||
	    !(s = session_find_lookup(p->sn, r->request_id.data)) ||
	    memcmp(s->rec.remote_id, p->id, ID_PK_LEN) != 0)
		return 0; /* late, or not ours */
	s->ncands = 0;
	for (i = 0; i < r->n_candidates && s->ncands < SESS_MAX_CANDS; i++)
		if (check_candidate(r->candidates[i], &s->cands[s->ncands]) == 0)
			s->ncands++;
	s->ncands = rank_sort(s->cands, s->ncands, &s->want);
	s->tried = 0;
	log_info("event=exit_candidates session_id=%s peer_id=%s count=%zu", s->hex, p->hex,
	         s->ncands);
	setup_try_next(s);
	return 0;
}

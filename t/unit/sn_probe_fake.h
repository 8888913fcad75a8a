/* Fake clients and exits answering PROBE_PATH (after sn_fake.h): what each
 * was asked, and how it answers. Static functions, included by the
 * supernoded probe tests (local and cross-region). */
#ifndef T_SN_PROBE_FAKE_H
#define T_SN_PROBE_FAKE_H

enum probe_answer {
	ANS_UNSEEN,  /* the test ran; the other side's probes never came */
	ANS_SEEN,    /* they came */
	ANS_PERM,    /* wgrelay lacks CAP_NET_RAW */
	ANS_OLD,     /* a daemon from before PROBE_PATH */
	ANS_SILENT,  /* no answer at all */
};

struct probe_seen {
	enum probe_answer ans;
	int n;                  /* distinct commands (a resend counts once) */
	uint8_t cmd[MSG_ID_LEN];
	uint8_t token[16];
	char peer[64];
	uint32_t ms;
};

/* Records c's ProbePath in ps and answers as ps->ans says; from is the
 * source reported when seen. */
static void probe_fake_answer(struct fake *f, const Supermesh__Command *c, struct probe_seen *ps,
                              const char *from)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__CommandResponse r = SUPERMESH__COMMAND_RESPONSE__INIT;
	Supermesh__ProbePathResult pr = SUPERMESH__PROBE_PATH_RESULT__INIT;
	Supermesh__ProbePath *p = supermesh__probe_path__unpack(NULL, c->payload.len,
	                                                        c->payload.data);
	uint8_t buf[128];

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->token.len, 16);
	if (memcmp(ps->cmd, c->command_id.data, MSG_ID_LEN)) {
		ps->n++;
		memcpy(ps->cmd, c->command_id.data, MSG_ID_LEN);
	}
	memcpy(ps->token, p->token.data, 16);
	snprintf(ps->peer, sizeof(ps->peer), "%s", p->peer_endpoint);
	ps->ms = p->duration_ms;
	supermesh__probe_path__free_unpacked(p, NULL);
	if (ps->ans == ANS_SILENT)
		return;
	r.command_id = c->command_id;
	r.ok = ps->ans == ANS_UNSEEN || ps->ans == ANS_SEEN;
	r.error = ps->ans == ANS_PERM ? "perm: probes need CAP_NET_RAW" :
	          ps->ans == ANS_OLD  ? "unsupported" : "";
	pr.seen = ps->ans == ANS_SEEN;
	pr.from = (char *)(pr.seen ? from : "");
	if (r.ok) {
		r.result.data = buf;
		r.result.len = supermesh__probe_path_result__pack(&pr, buf);
	}
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	peerlink_send(f->pl, &m);
}

#endif

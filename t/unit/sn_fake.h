/* Shared by supernoded's loopback tests: a fake wgrelay line server, fake
 * exits and clients on lib/peerlink, and loop helpers. Static functions:
 * include once per test program. */
#ifndef SN_FAKE_H
#define SN_FAKE_H

#define WAIT_MS 5000
#define MAX_REC 16

struct fake {
	struct identity id;
	uint8_t wg[32];
	uint32_t role;
	struct peerlink *pl;
	/* exit behaviour */
	const char *endpoint;
	int behind_nat, load, silent;
	/* client: the session it holds, sent in InfoResponse */
	uint8_t session[MSG_ID_LEN];
	int has_session;
	/* what it saw */
	int up, downs, stop_on_down;
	char down_reason[96];
	int setups, disconnects, rotates, responses, refusals, cmd_oks;
	char refusal[64];
	uint8_t setup_cmd_id[MSG_ID_LEN];
	int setup_same_id;
	char setup_client_ep[128];
	Supermesh__ExitResponse *resp;
	Supermesh__RotatePeer *rotate;
	int reflector_infos;           /* ReflectorInfo messages received */
	uint64_t handshake_ms;         /* client: last_handshake_ms in InfoResponse */
	uint64_t rx_bytes, tx_bytes;   /* client: its WireGuard counters */
	int live;                      /* answers InfoRequest as a live tunnel (rx grows) */
	int info_requests;
	/* answers PROBE_PATH when set (else: ok, nothing seen) */
	void (*on_probe)(struct fake *f, const Supermesh__Command *c);
};

/* A fake wgrelay: records every relay verb, answers fixed ports. */
struct fake_wgr {
	struct line_server *srv;
	char path[128];
	char log[MAX_REC][128];
	int n;
	const char *client_port, *exit_port;
};

static uv_loop_t loop;

/* ---- fake wgrelay ---- */

static void fake_relay_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct fake_wgr *w = ctx;

	if (w->n < MAX_REC)
		snprintf(w->log[w->n++], sizeof(w->log[0]), "add %s%s%s", argv[0],
		         argc == 3 ? " to " : "", argc == 3 ? argv[2] : "");
	line_reply_kv(r, "id", argv[0]);
	line_reply_kv(r, "client_port", w->client_port);
	line_reply_kv(r, "exit_port", w->exit_port);
}

static void fake_relay_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct fake_wgr *w = ctx;

	if (w->n < MAX_REC)
		snprintf(w->log[w->n++], sizeof(w->log[0]), "del %s", argv[0]);
}

static const struct verb fake_relay_verbs[] = {
	{ "relay add", 1, 5, fake_relay_add, "ID [to HOST:PORT]" },
	{ "relay del", 1, 1, fake_relay_del, "ID" },
	{ NULL, 0, 0, NULL, NULL },
};

static int relay_seen(const struct fake_wgr *w, const char *prefix)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (!strncmp(w->log[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

static void fake_wgr_start(struct fake_wgr *w, const char *dir, const char *name,
                           const char *cport, const char *eport)
{
	struct line_server_opts lo = { 0 };

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s/%s", dir, name);
	w->client_port = cport;
	w->exit_port = eport;
	lo.path = w->path;
	lo.allow_uid = getuid();
	lo.allow_gid = (gid_t)-1;
	ck_assert_int_eq(line_server_new(&loop, &lo, fake_relay_verbs, w, &w->srv), 0);
}

/* ---- loop helpers ---- */

static void on_tick(uv_timer_t *t)
{
}

typedef int (*pred_fn)(void);

static int run_until(pred_fn pred)
{
	uv_timer_t tick;
	uint64_t end;

	uv_update_time(&loop);
	end = uv_now(&loop) + WAIT_MS;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (!pred() && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return pred();
}

/* Runs the loop for ms, for "nothing else happens" checks. */
static void run_for(uint64_t ms)
{
	uv_timer_t tick;
	uint64_t end;

	uv_update_time(&loop);
	end = uv_now(&loop) + ms;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- fake peers ---- */

static void send_info(struct fake *f)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__InfoResponse i = SUPERMESH__INFO_RESPONSE__INIT;
	Supermesh__SessionInfo si = SUPERMESH__SESSION_INFO__INIT, *sp = &si;

	if (f->has_session) {
		si.session_id.data = f->session;
		si.session_id.len = MSG_ID_LEN;
		si.last_handshake_ms = f->handshake_ms;
		si.rx_bytes = f->rx_bytes;
		si.tx_bytes = f->tx_bytes;
		i.sessions = &sp;
		i.n_sessions = 1;
	}
	i.public_endpoint = (char *)(f->endpoint ? f->endpoint : "");
	i.behind_nat = f->behind_nat;
	i.load_pct = (uint32_t)f->load;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m.info_response = &i;
	ck_assert_int_eq(peerlink_send(f->pl, &m), 0);
}

static void respond(struct fake *f, const Supermesh__Command *c, const uint8_t *res, size_t len)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__CommandResponse r = SUPERMESH__COMMAND_RESPONSE__INIT;

	r.command_id = c->command_id;
	r.ok = 1;
	r.result.data = (uint8_t *)res;
	r.result.len = len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	peerlink_send(f->pl, &m);
}

static void exit_setup(struct fake *f, const Supermesh__Command *c)
{
	Supermesh__SetupExit *se = supermesh__setup_exit__unpack(NULL, c->payload.len,
	                                                         c->payload.data);
	Supermesh__SetupExitResult r = SUPERMESH__SETUP_EXIT_RESULT__INIT;
	uint8_t buf[256];

	ck_assert_ptr_nonnull(se);
	if (f->setups == 0)
		memcpy(f->setup_cmd_id, c->command_id.data, MSG_ID_LEN);
	else if (!memcmp(f->setup_cmd_id, c->command_id.data, MSG_ID_LEN))
		f->setup_same_id++;
	f->setups++;
	snprintf(f->setup_client_ep, sizeof(f->setup_client_ep), "%s", se->client_endpoint);
	if (!f->silent && se->session_id.len == MSG_ID_LEN) {
		memcpy(f->session, se->session_id.data, MSG_ID_LEN);
		f->has_session = 1;
	}
	supermesh__setup_exit__free_unpacked(se, NULL);
	if (f->silent)
		return;
	r.client_address = "10.200.0.5/32";
	r.exit_pubkey.data = f->wg;
	r.exit_pubkey.len = 32;
	respond(f, c, buf, supermesh__setup_exit_result__pack(&r, buf));
}

static void on_command(struct fake *f, const Supermesh__Command *c)
{
	if (c->type == SUPERMESH__COMMAND_TYPE__PROBE_PATH && f->on_probe) {
		f->on_probe(f, c);
		return;
	}
	if (c->type == SUPERMESH__COMMAND_TYPE__SETUP_EXIT) {
		exit_setup(f, c);
		return;
	}
	if (c->type == SUPERMESH__COMMAND_TYPE__DISCONNECT)
		f->disconnects++;
	if (c->type == SUPERMESH__COMMAND_TYPE__ROTATE_PEER) {
		f->rotates++;
		supermesh__rotate_peer__free_unpacked(f->rotate, NULL);
		f->rotate = supermesh__rotate_peer__unpack(NULL, c->payload.len, c->payload.data);
	}
	respond(f, c, NULL, 0);
}

static void fake_up(struct peerlink *pl)
{
	struct fake *f = peerlink_data(pl);

	f->up++;
	send_info(f);
}

static void fake_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	struct fake *f = peerlink_data(pl);

	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND) {
		on_command(f, m->command);
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_REFLECTOR_INFO) {
		f->reflector_infos++;
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST) {
		f->info_requests++;
		if (f->live) {
			f->rx_bytes += 32; /* the other side's keepalive came in */
			send_info(f);
		}
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE) {
		f->cmd_oks += m->command_response->ok;
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE) {
		uint8_t buf[4096];
		size_t n = supermesh__exit_response__pack(m->exit_response, buf);

		f->responses++;
		supermesh__exit_response__free_unpacked(f->resp, NULL);
		f->resp = supermesh__exit_response__unpack(NULL, n, buf);
		if (!f->resp->ok) {
			f->refusals++;
			snprintf(f->refusal, sizeof(f->refusal), "%s", f->resp->error);
		}
		if (f->resp->ok) {
			memcpy(f->session, f->resp->session_id.data, MSG_ID_LEN);
			f->has_session = 1;
		}
	}
}

static void fake_down(struct peerlink *pl, int status, const char *reason)
{
	struct fake *f = peerlink_data(pl);

	f->downs++;
	snprintf(f->down_reason, sizeof(f->down_reason), "%s", reason ? reason : "");
	/* A replaced client must not come back and replace its successor. */
	if (f->stop_on_down) {
		peerlink_free(pl);
		f->pl = NULL;
	}
}

static const struct peerlink_cbs fake_cbs = { fake_up, fake_message, fake_down };

static void fake_start_at(struct fake *f, uint32_t role, struct supernoded *sn,
                          const uint8_t *sn_pk)
{
	struct sockaddr_storage ss;
	struct peerlink_opts o = { 0 };

	f->role = role;
	if (!f->id.pk[0] && !f->id.pk[1])
		ck_assert_int_eq(identity_generate(&f->id), 0);
	if (!f->wg[0])
		randombytes_buf(f->wg, sizeof(f->wg));
	ck_assert_int_eq(sn_listen_addr(sn, &ss), 0);
	o.id = &f->id;
	o.pinned_server_id = sn_pk;
	o.role = role;
	o.region = "r1";
	o.wg_pubkey = f->wg;
	o.addr = (struct sockaddr *)&ss;
	o.ping_ms = 200;
	o.backoff_base_ms = 50;
	o.backoff_cap_ms = 200;
	ck_assert_int_eq(peerlink_new(&loop, &o, &fake_cbs, f, &f->pl), 0);
}

static void fake_stop(struct fake *f)
{
	if (f->pl)
		peerlink_free(f->pl);
	f->pl = NULL;
}

static void fake_release(struct fake *f)
{
	fake_stop(f);
	supermesh__exit_response__free_unpacked(f->resp, NULL);
	supermesh__rotate_peer__free_unpacked(f->rotate, NULL);
	f->resp = NULL;
	f->rotate = NULL;
	identity_release(&f->id);
}

static void request_exit(struct fake *f, const char *region)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitRequest r = SUPERMESH__EXIT_REQUEST__INIT;
	uint8_t id[MSG_ID_LEN];

	msg_new_id(id);
	r.request_id.data = id;
	r.request_id.len = MSG_ID_LEN;
	r.region = (char *)region;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST;
	m.exit_request = &r;
	ck_assert_int_eq(peerlink_send(f->pl, &m), 0);
}

/* The client ends its session with a DISCONNECT command (id given). */
static void client_disconnect_id(struct fake *f, const uint8_t id[MSG_ID_LEN])
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Command c = SUPERMESH__COMMAND__INIT;
	Supermesh__Disconnect d = SUPERMESH__DISCONNECT__INIT;
	uint8_t buf[128];

	d.session_id.data = f->session;
	d.session_id.len = MSG_ID_LEN;
	d.reason = "user";
	c.command_id.data = (uint8_t *)id;
	c.command_id.len = MSG_ID_LEN;
	c.type = SUPERMESH__COMMAND_TYPE__DISCONNECT;
	c.payload.data = buf;
	c.payload.len = supermesh__disconnect__pack(&d, buf);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND;
	m.command = &c;
	ck_assert_int_eq(peerlink_send(f->pl, &m), 0);
}

static void client_disconnect(struct fake *f)
{
	uint8_t id[MSG_ID_LEN];

	msg_new_id(id);
	client_disconnect_id(f, id);
}

#endif

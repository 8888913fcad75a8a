/* streamload's ExitRequest phase: one fake exit (role EXIT, a public
 * endpoint, answers SETUP_EXIT and DISCONNECT at once) and clients each
 * keeping one request in flight. Times, per request: ExitRequest sent ->
 * SETUP_EXIT at the exit (leg 1) -> ExitResponse at the client (leg 2);
 * then the client's DISCONNECT round trip, which frees the session. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "handshake.pb-c.h"
#include "msg.h"
#include "streamload.h"

#define X_MAX_CLIENTS 64
#define X_DEADLINE_MS 60000
#define X_EXIT_SETTLE_MS 300   /* the exit's InfoResponse is in before any request */
#define X_ENDPOINT "127.0.0.1:51820"

struct xclient {
	uint8_t wg[32];
	uint64_t t0, t1, td;
	int busy;                      /* 1: ExitRequest, 2: DISCONNECT in flight */
};

static struct {
	struct sl_stats st;
	struct sl_conf cf;
	struct sl_conn conns[1 + X_MAX_CLIENTS];
	struct xclient cl[X_MAX_CLIENTS];
	uint8_t exit_wg[32];
	int nconns;
	uv_loop_t *loop;
	uint64_t start_ms, ready_ms;   /* ready_ms 0: exit not up yet */
	unsigned sent, ok, failed, setups;
	char first_error[64];
	uint32_t tot[SL_SAMPLES], leg1[SL_SAMPLES], leg2[SL_SAMPLES], disc[SL_SAMPLES];
	size_t nsamples, ndisc;
} x;
static const int not_recording;

static void send_info(struct sl_conn *c)
{
	Supermesh__ControlMessage m;
	supermesh__control_message__init(&m);
	Supermesh__InfoResponse info;
	supermesh__info_response__init(&info);

	info.public_endpoint = (char *)(uintptr_t)X_ENDPOINT;
	info.load_pct = 1;
	info.bandwidth_bps = 1000000000;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m.info_response = &info;
	sl_conn_send(c, &m);
}

static void on_up(struct sl_conn *c)
{
	if (c != &x.conns[0])
		return;
	send_info(c);
	x.ready_ms = uv_now(x.loop) + X_EXIT_SETTLE_MS;
}

static void send_request(struct sl_conn *c)
{
	Supermesh__ControlMessage m;
	supermesh__control_message__init(&m);
	Supermesh__ExitRequest r;
	supermesh__exit_request__init(&r);
	struct xclient *cl = c->data;
	uint8_t id[MSG_ID_LEN];

	msg_new_id(id);
	r.request_id.data = id;
	r.request_id.len = sizeof(id);
	r.region = (char *)(uintptr_t)"";
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST;
	m.exit_request = &r;
	cl->t0 = sl_now_us();
	cl->t1 = 0;
	if (sl_conn_send(c, &m) == 0) {
		cl->busy = 1;
		x.sent++;
	}
}

/* Ends the session the client was just given (a client may hold only a few),
 * so every ExitRequest is a whole setup and teardown. */
static int send_disconnect(struct sl_conn *c, const ProtobufCBinaryData *session_id)
{
	Supermesh__ControlMessage m;
	supermesh__control_message__init(&m);
	Supermesh__Command cmd;
	supermesh__command__init(&cmd);
	Supermesh__Disconnect d;
	supermesh__disconnect__init(&d);
	uint8_t id[MSG_ID_LEN], buf[128];

	if (session_id->len != MSG_ID_LEN)
		return -1;
	d.session_id = *session_id;
	d.reason = (char *)(uintptr_t)"bench";
	msg_new_id(id);
	cmd.command_id.data = id;
	cmd.command_id.len = sizeof(id);
	cmd.type = SUPERMESH__COMMAND_TYPE__DISCONNECT;
	cmd.payload.data = buf;
	cmd.payload.len = supermesh__disconnect__pack(&d, buf);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND;
	m.command = &cmd;
	((struct xclient *)c->data)->td = sl_now_us();
	return sl_conn_send(c, &m);
}

static void answer(struct sl_conn *c, const Supermesh__Command *cmd, const uint8_t *res,
                   size_t res_len)
{
	Supermesh__ControlMessage m;
	supermesh__control_message__init(&m);
	Supermesh__CommandResponse r;
	supermesh__command_response__init(&r);

	r.command_id = cmd->command_id;
	r.ok = 1;
	r.result.data = (uint8_t *)(uintptr_t)res;
	r.result.len = res_len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	sl_conn_send(c, &m);
}

/* The exit: note when SETUP_EXIT reached it, answer with an address. */
static void exit_command(struct sl_conn *c, const Supermesh__Command *cmd)
{
	Supermesh__SetupExitResult res;
	supermesh__setup_exit_result__init(&res);
	Supermesh__SetupExit *se;
	char addr[32];
	uint8_t buf[256];
	int i;

	if (cmd->type != SUPERMESH__COMMAND_TYPE__SETUP_EXIT) {
		answer(c, cmd, NULL, 0);
		return;
	}
	if (!(se = supermesh__setup_exit__unpack(NULL, cmd->payload.len, cmd->payload.data)))
		return;
	for (i = 0; i < x.nconns - 1; i++)
		if (se->client_wg_pubkey.len == 32 && x.cl[i].busy && !x.cl[i].t1 &&
		    !memcmp(x.cl[i].wg, se->client_wg_pubkey.data, 32))
			x.cl[i].t1 = sl_now_us();
	supermesh__setup_exit__free_unpacked(se, NULL);
	x.setups++;
	snprintf(addr, sizeof(addr), "10.200.%u.%u/32", (x.setups >> 8) & 0xff, x.setups & 0xff);
	res.client_address = addr;
	res.exit_pubkey.data = x.exit_wg;
	res.exit_pubkey.len = 32;
	res.exit_endpoint = (char *)(uintptr_t)X_ENDPOINT;
	res.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
	answer(c, cmd, buf, supermesh__setup_exit_result__pack(&res, buf));
}

static void client_response(struct sl_conn *c, const Supermesh__ExitResponse *r)
{
	struct xclient *cl = c->data;
	uint64_t now = sl_now_us();

	if (cl->busy != 1)
		return;
	cl->busy = 0;
	if (!r->ok) {
		x.failed++;
		if (!x.first_error[0])
			snprintf(x.first_error, sizeof(x.first_error), "%s", r->error);
	} else {
		x.ok++;
		if (x.nsamples < SL_SAMPLES && cl->t1) {
			x.tot[x.nsamples] = (uint32_t)(now - cl->t0);
			x.leg1[x.nsamples] = (uint32_t)(cl->t1 - cl->t0);
			x.leg2[x.nsamples++] = (uint32_t)(now - cl->t1);
		}
		if (send_disconnect(c, &r->session_id) == 0) {
			cl->busy = 2;
			return;
		}
	}
	if (x.sent < opt.xreqs)
		send_request(c);
}

/* The client's DISCONNECT was answered: next request. */
static void client_disconnected(struct sl_conn *c)
{
	struct xclient *cl = c->data;

	if (cl->busy != 2)
		return;
	cl->busy = 0;
	if (x.ndisc < SL_SAMPLES)
		x.disc[x.ndisc++] = (uint32_t)(sl_now_us() - cl->td);
	if (x.sent < opt.xreqs)
		send_request(c);
}

static void on_message(struct sl_conn *c, const Supermesh__ControlMessage *m)
{
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND && c == &x.conns[0])
		exit_command(c, m->command);
	else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND)
		answer(c, m->command, NULL, 0); /* a client: DISCONNECT, ROTATE_PEER */
	else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE)
		client_response(c, m->exit_response);
	else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE)
		client_disconnected(c);
}

int sl_exit_start(uv_loop_t *loop)
{
	struct identity id;
	int i;

	x.loop = loop;
	x.cf = opt.cf;
	x.cf.st = &x.st;
	x.cf.recording = &not_recording;
	x.cf.on_up = on_up;
	x.cf.on_message = on_message;
	x.nconns = 1 + (int)(opt.xclients < X_MAX_CLIENTS ? opt.xclients : X_MAX_CLIENTS);
	x.start_ms = uv_now(loop);
	for (i = 0; i < x.nconns; i++) {
		struct sl_conn *c = &x.conns[i];

		c->cf = &x.cf;
		c->index = opt.n + (uint32_t)i;
		c->role = i ? SUPERMESH__ROLE__ROLE_CLIENT : SUPERMESH__ROLE__ROLE_EXIT;
		c->data = i ? &x.cl[i - 1] : NULL;
		sl_identity(&x.cf, c->index, &id, i ? x.cl[i - 1].wg : x.exit_wg);
		identity_release(&id);
		if (sl_conn_start(loop, c) < 0 && i == 0)
			return -1;
	}
	return 0;
}

void sl_exit_tick(uint64_t now_ms)
{
	int i;

	for (i = 0; i < x.nconns; i++)
		sl_conn_tick(&x.conns[i], now_ms);
	if (!x.ready_ms || now_ms < x.ready_ms)
		return;
	for (i = 1; i < x.nconns; i++)
		if (x.conns[i].state == SL_UP && !x.cl[i - 1].busy && x.sent < opt.xreqs)
			send_request(&x.conns[i]);
}

int sl_exit_done(uint64_t now_ms)
{
	int i, busy = 0;

	for (i = 1; i < x.nconns; i++)
		busy |= x.cl[i - 1].busy;
	return (x.ok + x.failed >= opt.xreqs && !busy) || now_ms - x.start_ms > X_DEADLINE_MS ||
	       x.conns[0].state == SL_CLOSED;
}

void sl_exit_report(void)
{
	printf("exit requests=%u ok=%u failed=%u clients=%d setups=%u streams_failed=%llu",
	       opt.xreqs, x.ok, x.failed, x.nconns - 1, x.setups,
	       (unsigned long long)x.st.failed);
	if (x.first_error[0])
		printf(" first_error=%s", x.first_error);
	sl_print_pcts("exit_rtt", x.tot, x.nsamples);
	sl_print_pcts("to_setup_exit", x.leg1, x.nsamples);
	sl_print_pcts("setup_exit_to_resp", x.leg2, x.nsamples);
	sl_print_pcts("disconnect_rtt", x.disc, x.ndisc);
	printf("\n");
	fflush(stdout);
}

void sl_exit_stop(void)
{
	int i;

	for (i = 0; i < x.nconns; i++)
		sl_conn_close(&x.conns[i]);
}

/* clientd's core: making and freeing it, the wgrelay interface at start, the
 * stream to the supernode and the dispatch of what arrives on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "command.h"
#include "daemon.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "netaddr.h"
#include "peerlink.h"
#include "probe_run.h"
#include "reflector.h"
#include "store.h"
#include "tunnel.h"
#include "clientd.h"

#define DEF_HELPER_MS 5000
#define DEF_EXIT_MS 30000
#define DEF_RETRY_BASE_MS 1000
#define DEF_RETRY_CAP_MS 30000
#define JOURNAL_KEEP_S (24 * 3600) /* applied command ids, as DESIGN 4 asks */

static void start_iface(struct clientd *cd);

int clientd_event(struct clientd *cd, enum cs_event ev)
{
	enum cs_state from = cd->s.state;
	int rc = session_apply(&cd->s, ev);

	if (rc < 0)
		log_debug("event=state_refused state=%s on=%s", session_state_name(from),
		          session_event_name(ev));
	else if (from != cd->s.state)
		log_info("event=state from=%s to=%s on=%s region=%s", session_state_name(from),
		         session_state_name(cd->s.state), session_event_name(ev), cd->s.region);
	return rc;
}

void clientd_save(struct clientd *cd)
{
	if (store_save(&cd->st, &cd->s, &cd->installed) < 0)
		log_warnx("event=state_save_failed err=\"%s\"", sqlite3_errmsg(cd->st.db));
}

int clientd_send(struct clientd *cd, const Supermesh__ControlMessage *m)
{
	return cd->link ? peerlink_send(cd->link, m) : -ENOTCONN;
}

static void on_plan_done(void *arg, int status, const char *msg)
{
	struct clientd *cd = arg;
	void (*done)(struct clientd *, int, const char *) = cd->plan_done;

	cd->run = NULL;
	cd->plan_done = NULL;
	if (status == 0)
		cd->plans_ok++;
	else
		cd->plans_failed++;
	done(cd, status, msg);
	if (!cd->run && !cd->closing)
		exit_after_plan(cd);
}

int clientd_run_plan(struct clientd *cd, struct plan *p,
                     void (*done)(struct clientd *cd, int status, const char *msg))
{
	if (cd->run || cd->closing) {
		free(p);
		return -EBUSY;
	}
	cd->plan_done = done;
	return tunnel_run_start(cd->loop, cd->o.wgrelay_socket, cd->o.helper_timeout_ms, p,
	                        on_plan_done, cd, &cd->run);
}

/* InfoResponse: the current session, so a supernode (restarted or not)
 * keeps it instead of expiring it. */
void clientd_send_info(struct clientd *cd)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__InfoResponse info;
	Supermesh__SessionInfo si, *sip = &si;
	ProtobufCBinaryData peer = { 32, cd->installed.peer };
	char local[NETADDR_TEXT_MAX] = "";
	int rc;

	supermesh__info_response__init(&info);
	supermesh__session_info__init(&si);
	if (cd->s.has_id) {
		si.session_id.len = MSG_ID_LEN;
		si.session_id.data = cd->s.id;
		if (cd->s.has_exit) {
			si.peer_wg_pubkey.len = 32;
			si.peer_wg_pubkey.data = cd->s.exit_key;
		}
		si.address = cd->s.address;
		si.path = (Supermesh__PathKind)cd->s.path;
		/* The supernode's path choice watches handshakes (direct or not). */
		if (cd->stats.valid && cd->s.has_exit && !memcmp(cd->stats.key, cd->s.exit_key, 32)) {
			si.last_handshake_ms = (uint64_t)cd->stats.last_handshake_s * 1000;
			si.rx_bytes = cd->stats.rx_bytes;
			si.tx_bytes = cd->stats.tx_bytes;
		}
		info.n_sessions = 1;
		info.sessions = &sip;
	}
	if (cd->installed.has_peer) {
		info.n_wg_peers = 1;
		info.wg_peers = &peer;
	}
	/* The supernode's reflectors seeing exactly this: no NAT on the way. */
	if (cd->wg_listen_port && cd->link &&
	    peerlink_local_endpoint(cd->link, cd->wg_listen_port, local, sizeof(local)) == 0)
		info.wg_local_endpoint = local;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m.info_response = &info;
	if ((rc = clientd_send(cd, &m)) < 0)
		log_warnx("event=info_send_failed err=\"%s\"", strerror(-rc));
}

static void on_up(struct peerlink *pl)
{
	struct clientd *cd = peerlink_data(pl);

	log_info("event=stream_up supernode=%s region=%s", cd->o.supernode, cd->o.region);
	clientd_send_info(cd);
	if (!cd->auto_connect_done && cd->o.connect_region && cd->o.connect_region[0] &&
	    cd->s.state == CS_DISCONNECTED && !cd->s.has_id) {
		cd->auto_connect_done = 1;
		if (clientd_connect(cd, cd->o.connect_region) == 0)
			return; /* the request went out */
	}
	exit_on_link_up(cd);
}

static void on_down(struct peerlink *pl, int status, const char *reason)
{
	struct clientd *cd = peerlink_data(pl);

	log_warnx("event=stream_down supernode=%s status=%d reason=\"%s\"", cd->o.supernode,
	          status, reason ? reason : "");
	observe_stream_down(cd, status);
	exit_on_link_down(cd);
}

static void on_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	struct clientd *cd = peerlink_data(pl);
	char text[128];

	switch (m->body_case) {
	case SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE:
		exit_on_response(cd, m->exit_response);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND:
		commands_on_command(cd, m->command);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE:
		cmd_sender_response(cd->cmds, m->command_response);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST:
		clientd_send_info(cd);
		/* Fresh counters too: the supernode asks while it probes a path. */
		observe_poll_now(cd);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_REFLECTOR_INFO:
		/* Endpoint discovery: keepalive-only peers, nothing routed to them. */
		log_info("event=reflector_info iface=%s sent=%d", cd->o.wg_iface,
		         reflector_apply(cd->loop, cd->o.wgrelay_socket, cd->o.helper_timeout_ms,
		                         cd->o.wg_iface, m->reflector_info));
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_ERROR:
		wgc_clean_text(text, sizeof(text), m->error->message,
		               m->error->message ? strlen(m->error->message) : 0);
		log_warnx("event=supernode_error code=%u message=\"%s\"", m->error->code, text);
		break;
	default:
		log_debug("event=message_ignored type=%s", msg_name(m));
		break;
	}
}

static const struct peerlink_cbs link_cbs = {
	.on_up = on_up,
	.on_down = on_down,
	.on_message = on_message,
};

static int start_link(struct clientd *cd)
{
	struct peerlink_opts po = {
		.id = cd->o.id, .pinned_server_id = cd->o.supernode_key,
		.role = SUPERMESH__ROLE__ROLE_CLIENT, .region = cd->o.region, .wg_pubkey = cd->wg_pub,
		.addr = (const struct sockaddr *)&cd->sn_addr, .ping_ms = cd->o.heartbeat_ms,
		.dead_ms = cd->o.dead_ms, .backoff_base_ms = cd->o.backoff_base_ms,
	};

	return peerlink_new(cd->loop, &po, &link_cbs, cd, &cd->link);
}

/* Re-applies what the stored state says is configured. No undo: a full
 * tunnel that was failing closed must stay closed even if wgrelay errs. */
static void restore_done(struct clientd *cd, int status, const char *msg)
{
	if (status < 0) {
		session_set_error(&cd->s, "restore: %s", msg);
		log_warnx("event=restore_failed err=\"%s\"", msg);
		clientd_event(cd, CE_TUNNEL_FAIL);
		return;
	}
	if (cd->s.has_id)
		clientd_event(cd, CE_RESTORED);
	log_info("event=restored state=%s", session_state_name(cd->s.state));
}

static void restore(struct clientd *cd)
{
	struct tunnel_conf empty;
	struct plan *p = calloc(1, sizeof(*p));

	memset(&empty, 0, sizeof(empty));
	if (!p || plan_up(&cd->po, &empty, &cd->installed, p) < 0) {
		free(p);
		return;
	}
	plan_no_undo(p);
	if (clientd_run_plan(cd, p, restore_done) < 0)
		log_warnx("event=restore_failed err=\"busy\"");
}

/* The public key and listen port (0 if absent or bad: only a NAT hint)
 * from "ok name=... pubkey=B64 port=P ...". */
static int reply_pubkey(const char *reply, uint8_t key[32], unsigned *port)
{
	char b64[KEY_B64_LEN + 8], num[16], *end;
	long v;

	*port = 0;
	if (line_reply_value(reply, "port", num, sizeof(num)) == 0) {
		errno = 0;
		v = strtol(num, &end, 10);
		if (!errno && end != num && !*end && v > 0 && v <= 65535)
			*port = (unsigned)v;
	}
	if (line_reply_value(reply, "pubkey", b64, sizeof(b64)) < 0)
		return -EINVAL;
	return key_from_base64(b64, key);
}

static void on_start_timer(uv_timer_t *t)
{
	start_iface(t->data);
}

static void iface_done(struct clientd *cd, int status, const char *msg)
{
	char b64[KEY_B64_LEN];
	int rc;

	if (status == 0 && reply_pubkey(msg, cd->wg_pub, &cd->wg_listen_port) < 0)
		status = -EPROTO;
	if (status < 0) {
		uint64_t ms = backoff_next(&cd->start_retry);

		session_set_error(&cd->s, "wgrelay: %s", msg[0] ? msg : strerror(-status));
		log_warnx("event=iface_failed iface=%s err=\"%s\" retry_ms=%llu", cd->o.wg_iface,
		          cd->s.last_error, (unsigned long long)ms);
		uv_timer_start(&cd->start_timer, on_start_timer, ms, 0);
		return;
	}
	cd->have_wg = 1;
	if (!strncmp(cd->s.last_error, "wgrelay: ", 9))
		session_set_error(&cd->s, "%s", "");
	key_to_base64(cd->wg_pub, b64);
	log_info("event=iface_ready iface=%s wg_pubkey=%s", cd->o.wg_iface, b64);
	if ((rc = start_link(cd)) < 0) {
		log_errorx("event=link_failed supernode=%s err=\"%s\"", cd->o.supernode,
		           strerror(-rc));
		session_set_error(&cd->s, "stream: %s", strerror(-rc));
		return;
	}
	if (cd->installed.has_peer || cd->installed.rules || cd->installed.address[0])
		restore(cd);
}

static void start_iface(struct clientd *cd)
{
	struct plan *p = calloc(1, sizeof(*p));
	int rc;

	if (!p || plan_iface(&cd->po, cd->o.wg_port, p) < 0) {
		free(p);
		return;
	}
	if ((rc = clientd_run_plan(cd, p, iface_done)) < 0)
		log_warnx("event=iface_failed err=\"%s\"", strerror(-rc));
}

static void opts_defaults(struct clientd *cd, const struct clientd_opts *o)
{
	cd->o = *o;
	if (!cd->o.helper_timeout_ms)
		cd->o.helper_timeout_ms = DEF_HELPER_MS;
	if (!cd->o.exit_timeout_ms)
		cd->o.exit_timeout_ms = DEF_EXIT_MS;
	if (!cd->o.retry_base_ms)
		cd->o.retry_base_ms = DEF_RETRY_BASE_MS;
	if (!cd->o.retry_cap_ms)
		cd->o.retry_cap_ms = DEF_RETRY_CAP_MS;
	if (!cd->o.wg_iface)
		cd->o.wg_iface = "smc0";
	if (!cd->o.region)
		cd->o.region = "";
	cd->po.iface = cd->o.wg_iface;
	cd->po.table = cd->o.table;
	cd->po.fwmark = cd->o.fwmark;
	cd->po.priority = cd->o.rule_priority;
	cd->wo.full_tunnel = cd->o.full_tunnel;
	cd->wo.allowed = cd->o.allowed_ips;
	cd->wo.bypass_sn = cd->bypass_sn;
	backoff_init(&cd->retry, cd->o.retry_base_ms, cd->o.retry_cap_ms, BACKOFF_RESET_MS);
	backoff_init(&cd->start_retry, cd->o.retry_base_ms, cd->o.retry_cap_ms,
	             BACKOFF_RESET_MS);
}

/* The config's own checks: what main -n reports and tests rely on. */
static int opts_check(struct clientd *cd, char *err, size_t err_size)
{
	const char *sn = cd->o.supernode ? cd->o.supernode : "";
	int fam = 0;

	if (daemon_parse_sockaddr(sn, &cd->sn_addr) < 0 ||
	    wgc_endpoint_check(sn, cd->bypass_sn, sizeof(cd->bypass_sn)) < 0) {
		snprintf(err, err_size, "supernode must be a numeric IP:port");
		return -EINVAL;
	}
	if (cd->o.allowed_ips && cd->o.allowed_ips[0] &&
	    wgc_list_check(cd->o.allowed_ips, &fam) < 0) {
		snprintf(err, err_size, "allowed_ips must be CIDR[,CIDR...] without host bits");
		return -EINVAL;
	}
	if (cd->o.full_tunnel && (cd->o.rule_priority < 2 || cd->o.rule_priority == UINT32_MAX ||
	                          !cd->o.table || !cd->o.fwmark)) {
		snprintf(err, err_size, "full tunnel needs table, fwmark and 2 <= rule_priority");
		return -EINVAL;
	}
	if (!cd->o.wgrelay_socket || !cd->o.wg_iface[0]) {
		snprintf(err, err_size, "no wgrelay_socket or wg_iface");
		return -EINVAL;
	}
	return 0;
}

int clientd_check_opts(const struct clientd_opts *o, char *err, size_t err_size)
{
	struct clientd *cd = calloc(1, sizeof(*cd));
	int rc;

	if (!cd)
		return -ENOMEM;
	opts_defaults(cd, o);
	rc = opts_check(cd, err, err_size);
	free(cd);
	return rc;
}

static int open_state(struct clientd *cd, char *err, size_t err_size)
{
	int rc;

	if (!cd->o.state_path)
		return 0;
	if ((rc = store_open(&cd->st, cd->o.state_path, err, err_size)) < 0)
		return rc;
	rc = store_load(&cd->st, &cd->s, &cd->installed);
	if (rc < 0) {
		snprintf(err, err_size, "%s: cannot read the saved session", cd->o.state_path);
		return rc;
	}
	cd->s.state = CS_DISCONNECTED;
	cmd_journal_expire(&cd->st, JOURNAL_KEEP_S);
	if (rc == 1 && cd->s.has_id)
		log_info("event=session_loaded region=%s address=%s", cd->s.region, cd->s.address);
	return 0;
}

static int start_admin(struct clientd *cd, char *err, size_t err_size)
{
	struct line_server_opts lo = {
		.path = cd->o.admin_socket, .mode = cd->o.admin_mode ? cd->o.admin_mode : 0660,
		.allow_uid = getuid(), .allow_gid = (gid_t)-1,
	};
	int rc;

	if (!cd->o.admin_socket)
		return 0;
	rc = line_server_new(cd->loop, &lo, clientd_admin_verbs, cd, &cd->admin);
	if (rc < 0)
		snprintf(err, err_size, "%s: %s", cd->o.admin_socket, strerror(-rc));
	return rc;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct clientd *cd = h->data;

	if (--cd->timers_open == 0) {
		observe_release(cd);
		free(cd);
	}
}

int clientd_new(uv_loop_t *loop, const struct clientd_opts *o, struct clientd **out,
                char *err, size_t err_size)
{
	struct cmd_sender_opts so = { .timeout_ms = o->cmd_timeout_ms, .retries = 3 };
	struct clientd *cd = calloc(1, sizeof(*cd));
	int rc;

	if (!cd)
		return -ENOMEM;
	cd->loop = loop;
	session_init(&cd->s);
	opts_defaults(cd, o);
	if (!o->id) {
		free(cd);
		return -EINVAL;
	}
	if ((rc = opts_check(cd, err, err_size)) < 0 || (rc = open_state(cd, err, err_size)) < 0) {
		state_close(&cd->st);
		free(cd);
		return rc;
	}
	uv_timer_init(loop, &cd->exit_timer);
	uv_timer_init(loop, &cd->start_timer);
	uv_timer_init(loop, &cd->observe_timer);
	cd->exit_timer.data = cd->start_timer.data = cd->observe_timer.data = cd;
	cd->timers_open = 3;
	if ((rc = cmd_sender_new(loop, &so, &cd->cmds)) < 0)
		snprintf(err, err_size, "command sender: %s", strerror(-rc));
	else if ((rc = observe_start(cd, err, err_size)) == 0 &&
	         (rc = start_admin(cd, err, err_size)) == 0)
		rc = api_start(cd, err, err_size);
	if (rc < 0) {
		clientd_free(cd);
		return rc;
	}
	*out = cd;
	start_iface(cd);
	return 0;
}

void clientd_free(struct clientd *cd)
{
	if (!cd || cd->closing)
		return;
	cd->closing = 1;
	tunnel_run_abandon(cd->run);
	cd->run = NULL;
	probe_run_cancel(cd->probe); /* it stops the probe and frees itself */
	cd->probe = NULL;
	if (cd->link)
		peerlink_free(cd->link);
	cd->link = NULL;
	if (cd->cmds)
		cmd_sender_free(cd->cmds);
	cd->cmds = NULL;
	if (cd->admin)
		line_server_free(cd->admin);
	cd->admin = NULL;
	api_stop(cd);
	observe_stop(cd);
	state_close(&cd->st);
	uv_close((uv_handle_t *)&cd->exit_timer, on_timer_closed);
	uv_close((uv_handle_t *)&cd->start_timer, on_timer_closed);
	uv_close((uv_handle_t *)&cd->observe_timer, on_timer_closed);
}

/* exitpeerd's core: state and pool at creation, then the startup chain
 * (interface, address, forwarding, re-applied sessions) through the helpers,
 * then the stream to the supernode with its InfoResponse load reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "admin.h"
#include "commands.h"
#include "handshake.pb-c.h"
#include "helper.h"
#include "line_server.h"
#include "log.h"
#include "netaddr.h"
#include "peerlink.h"
#include "reflector.h"

#define JOURNAL_KEEP_S (24 * 3600)

enum start_step { S_IFACE, S_ADDR, S_FORWARD, S_REAPPLY_PEER, S_REAPPLY_NAT };

static void start_next(struct exitpeer *ep);

int exitpeer_helper_timeout(const struct exitpeer *ep)
{
	return ep->conf.helper_timeout_ms ? (int)ep->conf.helper_timeout_ms
	                                  : EP_HELPER_TIMEOUT_MS;
}

/* ---- the stream ---- */

static void on_heartbeat(uv_timer_t *t)
{
	ep_observe_rtt(t->data);
	exitpeer_send_info(t->data);
}

static void pl_up(struct peerlink *pl)
{
	struct exitpeer *ep = peerlink_data(pl);
	uint64_t ms = (uint64_t)ep->conf.heartbeat_s * 1000;
	char hex[2 * ID_PK_LEN + 1] = "-";

	if (ep->conf.supernode_key)
		bytes_to_hex(ep->supernode_key, ID_PK_LEN, hex);
	log_info("event=stream_up peer_id=%s supernode=%s region=%s sessions=%zu", hex,
	         ep->conf.supernode_text, ep->conf.region, ep->nsessions);
	cmd_journal_expire(&ep->st, JOURNAL_KEEP_S);
	/* First the resync (DESIGN section 3), then the same every heartbeat
	 * as the load report. */
	exitpeer_send_info(ep);
	uv_timer_start(&ep->heartbeat, on_heartbeat, ms, ms);
}

static void pl_down(struct peerlink *pl, int status, const char *reason)
{
	struct exitpeer *ep = peerlink_data(pl);

	uv_timer_stop(&ep->heartbeat);
	log_warnx("event=stream_down supernode=%s region=%s status=%d reason=%s",
	          ep->conf.supernode_text, ep->conf.region, status, reason ? reason : "-");
	ep_observe_down(ep, status);
}

static void pl_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	struct exitpeer *ep = peerlink_data(pl);

	switch (m->body_case) {
	case SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND:
		ep_command_handle(ep, m->command);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST:
		exitpeer_send_info(ep);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_REFLECTOR_INFO:
		/* Endpoint discovery: keepalive-only peers, nothing routed to them. */
		log_info("event=reflector_info iface=%s sent=%d", ep->conf.wg_iface,
		         reflector_apply(ep->loop, ep->conf.wgrelay_socket,
		                         exitpeer_helper_timeout(ep), ep->conf.wg_iface,
		                         m->reflector_info));
		break;
	default:
		log_debug("event=message_ignored type=%s", msg_name(m));
	}
}

static const struct peerlink_cbs pl_cbs = {
	.on_up = pl_up,
	.on_message = pl_message,
	.on_down = pl_down,
};

static int link_start(struct exitpeer *ep)
{
	struct peerlink_opts o = {
		.id = ep->conf.id,
		.pinned_server_id = ep->conf.supernode_key ? ep->supernode_key : NULL,
		.role = SUPERMESH__ROLE__ROLE_EXIT,
		.region = ep->conf.region,
		.wg_pubkey = ep->wg_pubkey,
		.addr = (const struct sockaddr *)&ep->conf.supernode,
		.ping_ms = ep->conf.heartbeat_s * 1000,
		.dead_ms = ep->conf.dead_after_s * 1000,
	};

	return peerlink_new(ep->loop, &o, &pl_cbs, ep, &ep->pl);
}

/* ---- startup chain ---- */

static void on_retry(uv_timer_t *t)
{
	struct exitpeer *ep = t->data;

	ep->start_step = S_IFACE;
	ep->start_idx = 0;
	start_next(ep);
}

static void start_failed(struct exitpeer *ep, const char *what, const char *error)
{
	uint64_t delay = backoff_next(&ep->bo);

	log_warnx("event=start_failed step=%s error=\"%s\" retry_ms=%llu", what, error,
	          (unsigned long long)delay);
	uv_timer_start(&ep->retry, on_retry, delay, 0);
}

static void linked(struct exitpeer *ep)
{
	int rc = link_start(ep);
	char b64[KEY_B64_LEN];

	if (rc < 0) {
		start_failed(ep, "peerlink", strerror(-rc));
		return;
	}
	ep->phase = EP_LINKED;
	key_to_base64(ep->wg_pubkey, b64);
	log_info("event=started wg_pubkey=%s iface=%s sessions=%zu supernode=%s region=%s", b64,
	         ep->conf.wg_iface, ep->nsessions, ep->conf.supernode_text, ep->conf.region);
}

static void on_start_reply(void *arg, const struct helper_reply *r)
{
	static const char *const names[] = { "iface", "addr", "forward", "peer", "nat" };
	struct exitpeer *ep = arg;
	char error[300], pk[KEY_B64_LEN + 8];
	int ok = r->ok;

	if (ep->phase == EP_STOPPING)
		return;
	helper_reply_error(r, error, sizeof(error));
	if (ok && ep->start_step == S_IFACE &&
	    (helper_reply_value(r, "pubkey", pk, sizeof(pk)) < 0 ||
	     key_from_base64(pk, ep->wg_pubkey) < 0)) {
		ok = 0;
		snprintf(error, sizeof(error), "no pubkey in reply");
	}
	if (!ok && ep->start_step < S_REAPPLY_PEER) {
		start_failed(ep, names[ep->start_step], error);
		return;
	}
	/* One stale session must not keep the exit from serving the rest. */
	if (!ok)
		log_warnx("event=reapply_failed step=%s error=\"%s\"", names[ep->start_step],
		          error);
	if (ep->start_step == S_REAPPLY_NAT) {
		ep->start_idx++;
		ep->start_step = S_REAPPLY_PEER;
	} else {
		ep->start_step++;
	}
	start_next(ep);
}

/* Sends the request of the current startup step, or links when done. */
static void start_next(struct exitpeer *ep)
{
	struct helper_reply fail;
	struct ep_words w;
	char port[8], cidr[POOL_ADDR_LEN + 4], addr[POOL_ADDR_LEN];
	const char *path = ep->conf.wgrelay_socket;
	int rc;

	memset(&w, 0, sizeof(w));
	if (ep->start_step == S_REAPPLY_PEER && ep->start_idx == 0)
		log_info("event=reapplying sessions=%zu", ep->nsessions);
	if (ep->start_step >= S_REAPPLY_PEER && ep->start_idx >= ep->nsessions) {
		linked(ep);
		return;
	}
	snprintf(port, sizeof(port), "%u", ep->conf.wg_port);
	exit_pool_addr_str(exit_pool_exit_addr(&ep->pool), addr);
	snprintf(cidr, sizeof(cidr), "%s/%u", addr, ep->pool.prefix);
	switch (ep->start_step) {
	case S_IFACE:
		ep_words_set(&w, "iface", "ensure", ep->conf.wg_iface, "port", port, NULL);
		break;
	case S_ADDR:
		ep_words_set(&w, "addr", "add", ep->conf.wg_iface, cidr, NULL);
		break;
	case S_FORWARD:
		path = ep->conf.natctl_socket;
		ep_words_set(&w, "forward", "on", NULL);
		break;
	case S_REAPPLY_PEER:
		ep_words_peer_add(ep, &ep->sessions[ep->start_idx], &w);
		break;
	default:
		path = ep->conf.natctl_socket;
		ep_words_nat(&ep->sessions[ep->start_idx], "add", &w);
	}
	rc = helper_request(ep->loop, path, exitpeer_helper_timeout(ep), w.w, on_start_reply, ep);
	if (rc < 0) {
		memset(&fail, 0, sizeof(fail));
		fail.status = rc;
		snprintf(fail.code, sizeof(fail.code), "io");
		snprintf(fail.msg, sizeof(fail.msg), "%s", strerror(-rc));
		on_start_reply(ep, &fail);
	}
}

/* ---- life cycle ---- */

static int reload_one(void *arg, const struct exit_session *s)
{
	struct exitpeer *ep = arg;
	int rc = exit_pool_mark(&ep->pool, s->addr);

	if (rc < 0)
		return rc == -EEXIST ? -EEXIST : -ERANGE;
	return ep_session_add(ep, s);
}

static int open_state(struct exitpeer *ep, char *err, size_t err_size)
{
	int rc;

	if (exit_pool_init(&ep->pool, ep->conf.pool) < 0) {
		snprintf(err, err_size, "pool: '%s' is not an IPv4 CIDR /%d../%d", ep->conf.pool,
		         POOL_MIN_PREFIX, POOL_MAX_PREFIX);
		return -EINVAL;
	}
	if ((rc = exit_store_open(&ep->st, ep->conf.state_path, err, err_size)) < 0)
		return rc;
	rc = exit_store_session_load(&ep->st, reload_one, ep);
	if (rc == -ERANGE || rc == -EEXIST) {
		snprintf(err, err_size, "%s: a stored session's address is %s pool %s",
		         ep->conf.state_path, rc == -EEXIST ? "twice in" : "outside",
		         ep->conf.pool);
	} else if (rc < 0) {
		snprintf(err, err_size, "%s: cannot read sessions: %s", ep->conf.state_path,
		         strerror(-rc));
	}
	return rc;
}

static int admin_open(struct exitpeer *ep, char *err, size_t err_size)
{
	struct line_server_opts lo = {
		.path = ep->conf.admin_socket, .mode = ep->conf.admin_mode,
		.allow_uid = getuid(), .allow_gid = (gid_t)-1,
	};
	int rc;

	if (!ep->conf.admin_socket)
		return 0;
	rc = line_server_new(ep->loop, &lo, exitpeer_admin_verbs, ep, &ep->admin);
	if (rc < 0)
		snprintf(err, err_size, "admin socket %s: %s", ep->conf.admin_socket,
		         strerror(-rc));
	return rc;
}

static void release(struct exitpeer *ep)
{
	ep_observe_release(ep);
	state_close(&ep->st);
	exit_pool_release(&ep->pool);
	free(ep->sessions);
	free(ep);
}

int exitpeer_new(uv_loop_t *loop, const struct exitpeer_conf *conf, struct exitpeer **out,
                 char *err, size_t err_size)
{
	struct exitpeer *ep;
	int rc;

	if (!(ep = calloc(1, sizeof(*ep))))
		return -ENOMEM;
	ep->loop = loop;
	ep->conf = *conf;
	if (conf->supernode_key)
		memcpy(ep->supernode_key, conf->supernode_key, ID_PK_LEN);
	if ((rc = ep_observe_new(ep, err, err_size)) < 0 ||
	    (rc = open_state(ep, err, err_size)) < 0 || (rc = admin_open(ep, err, err_size)) < 0) {
		release(ep);
		return rc;
	}
	backoff_init(&ep->bo, conf->retry_base_ms ? conf->retry_base_ms : BACKOFF_BASE_MS,
	             BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	uv_timer_init(loop, &ep->retry);
	uv_timer_init(loop, &ep->heartbeat);
	ep->retry.data = ep->heartbeat.data = ep;
	ep->phase = EP_STARTING;
	ep->start_step = S_IFACE;
	start_next(ep);
	*out = ep;
	return 0;
}

void exitpeer_stop(struct exitpeer *ep)
{
	if (!ep || ep->phase == EP_STOPPING)
		return;
	ep->phase = EP_STOPPING;
	peerlink_free(ep->pl);
	ep->pl = NULL;
	line_server_free(ep->admin);
	ep->admin = NULL;
	ep_observe_stop(ep);
	uv_close((uv_handle_t *)&ep->retry, NULL);
	uv_close((uv_handle_t *)&ep->heartbeat, NULL);
}

void exitpeer_free(struct exitpeer *ep)
{
	if (ep)
		release(ep);
}

int exitpeer_is_up(const struct exitpeer *ep)
{
	return ep->pl && peerlink_is_up(ep->pl);
}

unsigned exitpeer_load_pct(const struct exitpeer *ep)
{
	return ep->pool.size ? (unsigned)(ep->nsessions * 100 / ep->pool.size) : 100;
}

int exitpeer_send_info(struct exitpeer *ep)
{
	Supermesh__ControlMessage m;
	Supermesh__InfoResponse ir;
	Supermesh__SessionInfo *infos = NULL, **ptrs = NULL;
	ProtobufCBinaryData *peers = NULL;
	char (*cidrs)[POOL_ADDR_LEN + 4] = NULL;
	char local[NETADDR_TEXT_MAX];
	size_t i, n = ep->nsessions ? ep->nsessions : 1;
	int rc = -ENOMEM;

	if (!exitpeer_is_up(ep))
		return -ENOTCONN;
	supermesh__control_message__init(&m);
	supermesh__info_response__init(&ir);
	infos = calloc(n, sizeof(*infos));
	ptrs = calloc(n, sizeof(*ptrs));
	peers = calloc(n, sizeof(*peers));
	cidrs = calloc(n, sizeof(*cidrs));
	if (!infos || !ptrs || !peers || !cidrs)
		goto out;
	for (i = 0; i < ep->nsessions; i++) {
		struct exit_session *s = &ep->sessions[i];

		supermesh__session_info__init(&infos[i]);
		infos[i].session_id.data = s->id;
		infos[i].session_id.len = SESSION_ID_LEN;
		infos[i].peer_wg_pubkey.data = s->client_key;
		infos[i].peer_wg_pubkey.len = WG_KEY_LEN;
		ep_session_cidr(s, cidrs[i], sizeof(cidrs[i]));
		infos[i].address = cidrs[i];
		ptrs[i] = &infos[i];
		peers[i] = infos[i].peer_wg_pubkey;
	}
	ir.n_sessions = ir.n_wg_peers = ep->nsessions;
	ir.sessions = ptrs;
	ir.wg_peers = peers;
	ir.load_pct = exitpeer_load_pct(ep);
	ir.public_endpoint = (char *)(uintptr_t)ep->conf.public_endpoint;
	ir.behind_nat = !ep->conf.public_endpoint[0];
	/* iface ensure set wg_port: where WireGuard listens on the address the
	 * supernode is reached from; its reflectors seeing exactly this: no NAT. */
	if (peerlink_local_endpoint(ep->pl, ep->conf.wg_port, local, sizeof(local)) == 0)
		ir.wg_local_endpoint = local;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m.info_response = &ir;
	rc = peerlink_send(ep->pl, &m);
out:
	free(infos);
	free(ptrs);
	free(peers);
	free(cidrs);
	return rc;
}

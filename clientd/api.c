/* The HTTP/JSON API on api_socket (and api_listen): connect, disconnect,
 * status, health, exits. The same core calls as the admin verbs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "keys.h"
#include "log.h"
#include "peerlink.h"
#include "api.h"
#include "clientd.h"

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static const char *stream_state(const struct clientd *cd)
{
	return cd->link && peerlink_is_up(cd->link) ? "up" : "down";
}

/* rx, tx and handshake age, when wgrelay's last report is about our peer. */
static void add_stats(json_t *j, const struct clientd *cd)
{
	int64_t age = observe_handshake_age(cd);
	int ok = cd->stats.valid && cd->installed.has_peer &&
	         !memcmp(cd->stats.key, cd->installed.peer, 32);

	json_object_set_new(j, "rx_bytes", ok ? json_integer((json_int_t)cd->stats.rx_bytes) :
	                    json_null());
	json_object_set_new(j, "tx_bytes", ok ? json_integer((json_int_t)cd->stats.tx_bytes) :
	                    json_null());
	json_object_set_new(j, "handshake_age_s", ok && age >= 0 ? json_integer(age) :
	                    json_null());
}

json_t *api_status_json(const struct clientd *cd)
{
	char hex[2 * MSG_ID_LEN + 1] = "", b64[KEY_B64_LEN] = "";
	json_t *j;

	if (cd->s.has_id)
		bytes_to_hex(cd->s.id, MSG_ID_LEN, hex);
	if (cd->s.has_exit)
		key_to_base64(cd->s.exit_key, b64);
	j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b}",
	              "state", session_state_name(cd->s.state),
	              "region", str_or_null(cd->s.region),
	              "session", str_or_null(hex),
	              "exit", str_or_null(b64),
	              "path", cd->s.has_id ? json_string(session_path_name(cd->s.path)) :
	                      json_null(),
	              "address", str_or_null(cd->s.address),
	              "endpoint", str_or_null(cd->s.endpoint),
	              "stream", stream_state(cd),
	              "fail_closed", cd->installed.rules && !cd->installed.has_peer);
	if (!j)
		return NULL;
	add_stats(j, cd);
	json_object_set_new(j, "last_error", str_or_null(cd->s.last_error));
	return j;
}

/* Healthy: the interface exists (wgrelay answered) and the stream is up. */
json_t *api_health_json(const struct clientd *cd, int *healthy)
{
	int up = cd->link && peerlink_is_up(cd->link);

	*healthy = cd->have_wg && up && cd->s.state != CS_ERROR;
	return json_pack("{s:b, s:s, s:s, s:s, s:o}", "ok", *healthy,
	                 "state", session_state_name(cd->s.state),
	                 "stream", up ? "up" : "down",
	                 "interface", cd->have_wg ? "ready" : "waiting",
	                 "last_error", str_or_null(cd->s.last_error));
}

static json_t *cand_json(const struct clientd *cd, const struct cd_cand *c)
{
	char id[KEY_B64_LEN], wg[KEY_B64_LEN];
	int in_use = cd->s.has_exit && !memcmp(c->wg_pubkey, cd->s.exit_key, 32);

	key_to_base64(c->id, id);
	key_to_base64(c->wg_pubkey, wg);
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:b}", "id", id,
	                 "wg_pubkey", wg, "endpoint", c->endpoint,
	                 "behind_nat", c->behind_nat, "load_pct", (json_int_t)c->load_pct,
	                 "rtt_ms", (json_int_t)c->rtt_ms,
	                 "bandwidth_bps", (json_int_t)c->bandwidth_bps, "in_use", in_use);
}

/* The candidates the supernode last offered, ranked; without them (an old
 * supernode, or a malformed list) only the exit in use is known. */
json_t *api_exits_json(const struct clientd *cd)
{
	char b64[KEY_B64_LEN];
	json_t *list = json_array(), *e;
	size_t i;

	if (list && cd->have_cands) {
		for (i = 0; i < cd->ncands; i++)
			json_array_append_new(list, cand_json(cd, &cd->cands[i]));
		return json_pack("{s:o, s:b}", "exits", list, "complete", 1);
	}
	if (list && cd->s.has_exit) {
		key_to_base64(cd->s.exit_key, b64);
		e = json_pack("{s:s, s:o, s:s, s:o, s:b}", "key", b64,
		              "endpoint", str_or_null(cd->s.endpoint),
		              "path", session_path_name(cd->s.path),
		              "region", str_or_null(cd->s.region), "current", 1);
		json_array_append_new(list, e);
	}
	return json_pack("{s:o, s:b, s:s}", "exits", list, "complete", 0,
	                 "note", "the supernode offered no candidate list; only the "
	                 "exit in use is known here");
}

/* j (taken) as the body with status. */
static int reply(struct httpd_resp *rs, int status, json_t *j)
{
	if (!j)
		return -ENOMEM;
	rs->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!rs->body)
		return -ENOMEM;
	rs->status = status;
	rs->body_len = strlen(rs->body);
	return 0;
}

static int post_connect(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	struct clientd *cd = ctx;
	struct api_connect c;
	char err[160];
	int rc;

	if (api_parse_connect(rq->body, rq->body_len, &c, err, sizeof(err)) < 0)
		return httpd_error(rs, 400, err);
	rc = clientd_connect_opts(cd, c.region, c.min_bw, c.max_latency_ms);
	if (rc == -EINVAL)
		return httpd_error(rs, 400, "bad region");
	if (rc < 0) {
		snprintf(err, sizeof(err), "%s to %s; disconnect first",
		         session_state_name(cd->s.state), cd->s.region);
		return httpd_error(rs, 409, err);
	}
	log_info("event=api_connect region=%s min_bw=%llu max_latency_ms=%u", c.region,
	         (unsigned long long)c.min_bw, c.max_latency_ms);
	return reply(rs, cd->s.state == CS_CONNECTED ? 200 : 202,
	             json_pack("{s:s, s:s}", "state", session_state_name(cd->s.state),
	                       "region", cd->s.region));
}

static int post_disconnect(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	struct clientd *cd = ctx;
	char err[160];

	if (api_parse_empty(rq->body, rq->body_len, err, sizeof(err)) < 0)
		return httpd_error(rs, 400, err);
	clientd_disconnect(cd);
	log_info("event=api_disconnect");
	return reply(rs, 200, json_pack("{s:s}", "state", cd->disconnect_pending ?
	                                "disconnecting" : session_state_name(cd->s.state)));
}

static int get_status(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	return reply(rs, 200, api_status_json(ctx));
}

static int get_health(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	int healthy;
	json_t *j = api_health_json(ctx, &healthy);

	return reply(rs, healthy ? 200 : 503, j);
}

static int get_exits(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	return reply(rs, 200, api_exits_json(ctx));
}

static const struct httpd_route api_routes[] = {
	{ "POST", "/connect", post_connect },
	{ "POST", "/disconnect", post_disconnect },
	{ "GET", "/status", get_status },
	{ "GET", "/health", get_health },
	{ "GET", "/exits", get_exits },
	{ NULL, NULL, NULL },
};

int api_start(struct clientd *cd, char *err, size_t err_size)
{
	struct httpd_opts uo = {
		.unix_path = cd->o.api_socket, .unix_mode = cd->o.api_mode ? cd->o.api_mode : 0660,
		.max_body = API_MAX_BODY,
	};
	struct httpd_opts to = { .listen = cd->o.api_listen, .max_body = API_MAX_BODY };
	int rc;

	if (cd->o.api_socket && cd->o.api_socket[0] &&
	    (rc = httpd_new(cd->loop, &uo, api_routes, cd, &cd->api_unix)) < 0) {
		snprintf(err, err_size, "api_socket %s: %s", cd->o.api_socket, strerror(-rc));
		return rc;
	}
	if (cd->o.api_listen && cd->o.api_listen[0] &&
	    (rc = httpd_new(cd->loop, &to, api_routes, cd, &cd->api_tcp)) < 0) {
		snprintf(err, err_size, "api_listen %s: %s", cd->o.api_listen, strerror(-rc));
		return rc;
	}
	return 0;
}

void api_stop(struct clientd *cd)
{
	httpd_free(cd->api_unix);
	httpd_free(cd->api_tcp);
	cd->api_unix = cd->api_tcp = NULL;
}

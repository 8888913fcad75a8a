/* The handshake steps of the channel state table (DESIGN section 2): hellos,
 * AuthRequest and AuthResponse, for the client and the server side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <uv.h>
#include "channel_int.h"
#include "clock.h"
#include "handshake.pb-c.h"

int channel_hs_client_hello(struct channel *ch, const uint8_t *p, size_t len)
{
	uint8_t out[HS_BUF];
	int n, rc;

	uv_tcp_nodelay(&ch->tcp, 1);
	if ((n = hs_client_hello(ch->hs, out, sizeof(out))) < 0)
		return n;
	if ((rc = channel_write(ch, out, (size_t)n, 0)) < 0)
		return rc;
	return channel_read_start(ch);
}

int channel_hs_client_finish(struct channel *ch, const uint8_t *p, size_t len)
{
	uint8_t out[HS_BUF];
	int n, rc;

	rc = hs_client_finish(ch->hs, ch->has_pinned ? ch->pinned : NULL, p, len);
	if (rc < 0)
		return rc;
	memcpy(ch->server_id, ch->hs->server_id, ID_PK_LEN);
	channel_keys(ch);
	n = hs_auth_request(ch->hs, ch->id, ch->role, ch->region, clock_wall_ms(),
	                    ch->has_wg_pubkey ? ch->wg_pubkey : NULL, out, sizeof(out));
	channel_hs_done(ch);
	if (n < 0)
		return n;
	ch->state = CH_CLIENT_AUTH;
	return channel_write(ch, out, (size_t)n, 1);
}

int channel_hs_client_auth(struct channel *ch, const uint8_t *p, size_t len)
{
	Supermesh__AuthResponse *r;
	const uint8_t *plain;
	int n, rc = -EPROTO;

	if ((n = channel_unseal(ch, p, len, &plain)) < 0)
		return n;
	if (!(r = supermesh__auth_response__unpack(NULL, (size_t)n, plain)))
		return -EPROTO;
	if (!r->ok) {
		channel_close(ch, -EACCES, r->reason);
		rc = 0;
		goto out;
	}
	if (r->session_id.len != CHANNEL_SESSION_ID_LEN)
		goto out;
	memcpy(ch->session_id, r->session_id.data, CHANNEL_SESSION_ID_LEN);
	ch->heartbeat_s = r->heartbeat_s;
	rc = 0;
out:
	supermesh__auth_response__free_unpacked(r, NULL);
	if (rc == 0 && ch->state == CH_CLIENT_AUTH)
		rc = channel_opened(ch);
	return rc;
}

/* ---- server steps ---- */

int channel_hs_server_hello(struct channel *ch, const uint8_t *p, size_t len)
{
	uint8_t out[HS_BUF];
	int n;

	if ((n = hs_server_reply(ch->hs, ch->id, p, len, out, sizeof(out))) < 0)
		return n;
	memcpy(ch->server_id, ch->id->pk, ID_PK_LEN);
	channel_keys(ch);
	ch->state = CH_SERVER_AUTH;
	return channel_write(ch, out, (size_t)n, 0);
}

static int server_send_response(struct channel *ch, int ok, const char *reason,
                                uint32_t heartbeat_s)
{
	Supermesh__AuthResponse r;
	char text[sizeof(((struct channel_verdict *)0)->reason)];
	uint8_t out[256];
	size_t n;

	supermesh__auth_response__init(&r); /* the INIT macro casts away const */
	snprintf(text, sizeof(text), "%s", reason); /* protobuf-c wants char * */
	r.ok = ok;
	r.reason = text;
	if (ok) {
		randombytes_buf(ch->session_id, sizeof(ch->session_id));
		r.session_id.data = ch->session_id;
		r.session_id.len = sizeof(ch->session_id);
		r.heartbeat_s = heartbeat_s;
	}
	if ((n = supermesh__auth_response__get_packed_size(&r)) > sizeof(out))
		return -EMSGSIZE;
	supermesh__auth_response__pack(&r, out);
	return channel_write(ch, out, n, 1);
}

static int server_refuse(struct channel *ch, int status, const char *reason)
{
	int rc;

	if ((rc = server_send_response(ch, 0, reason, 0)) < 0)
		return rc;
	return channel_close_after_write(ch, status, reason);
}

int channel_hs_server_auth(struct channel *ch, const uint8_t *p, size_t len)
{
	struct channel_verdict v = { .accept = 1, .heartbeat_s = DEFAULT_HEARTBEAT_S };
	const uint8_t *plain;
	int n, rc;

	if ((n = channel_unseal(ch, p, len, &plain)) < 0)
		return n;
	rc = hs_auth_verify(ch->hs, plain, (size_t)n, clock_wall_ms(), &ch->peer);
	channel_hs_done(ch);
	if (rc < 0)
		return server_refuse(ch, rc, rc == -ETIME ? "clock_skew" : "bad_auth");
	ch->has_peer = 1;
	if (ch->cbs.on_auth) {
		ch->cbs.on_auth(ch, &ch->peer, &v);
		if (ch->state == CH_CLOSING)
			return 0; /* on_auth closed it */
		v.reason[sizeof(v.reason) - 1] = '\0';
	}
	if (!v.accept)
		return server_refuse(ch, -EACCES, v.reason[0] ? v.reason : "refused");
	ch->heartbeat_s = v.heartbeat_s;
	if ((rc = server_send_response(ch, 1, "", v.heartbeat_s)) < 0)
		return rc;
	return channel_opened(ch);
}

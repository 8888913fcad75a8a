/* Checks on what peers send, before anything is kept or acted on. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "check.h"
#include "keys.h"
#include "msg.h"
#include "natclass.h"

#define INFO_SESSIONS_MAX 4096

int check_region(const char *r, int may_be_empty)
{
	size_t i, len = strlen(r);

	if (len >= 64 || (len == 0 && !may_be_empty))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)r[i]) && !strchr("._-", r[i]))
			return 0;
	return 1;
}

int check_text(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i + 1 >= max || s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

void check_text_shown(char *out, size_t size, const char *in)
{
	size_t i;

	snprintf(out, size, "%s", in);
	for (i = 0; out[i]; i++)
		if (out[i] <= ' ' || out[i] > '~' || out[i] == '"')
			out[i] = '_';
}

int check_hostport(const char *s)
{
	char host[CHECK_TEXT_MAX];
	uint16_t port;

	return check_text(s, CHECK_TEXT_MAX) && s[0] &&
	       config_parse_addr(s, host, sizeof(host), &port) == 0 && port != 0;
}

int setup_result_parse(const ProtobufCBinaryData *b, struct setup_result *out)
{
	Supermesh__SetupExitResult *r;
	int ret = -EPROTO;

	if (!(r = supermesh__setup_exit_result__unpack(NULL, b->len, b->data)))
		return -EPROTO;
	if (!r->client_address[0] || !check_text(r->client_address, sizeof(out->client_address)) ||
	    (r->exit_pubkey.len != 0 && r->exit_pubkey.len != 32) ||
	    (r->exit_endpoint[0] && !check_hostport(r->exit_endpoint)) ||
	    r->path > SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN)
		goto out;
	memset(out, 0, sizeof(*out));
	snprintf(out->client_address, sizeof(out->client_address), "%s", r->client_address);
	out->has_pubkey = r->exit_pubkey.len == 32;
	if (out->has_pubkey)
		memcpy(out->exit_pubkey, r->exit_pubkey.data, 32);
	snprintf(out->exit_endpoint, sizeof(out->exit_endpoint), "%s", r->exit_endpoint);
	out->path = (uint32_t)r->path;
	ret = 0;
out:
	supermesh__setup_exit_result__free_unpacked(r, NULL);
	return ret;
}

int check_setup_exit(const Supermesh__SetupExit *se)
{
	size_t i;

	if (se->session_id.len != MSG_ID_LEN || se->client_wg_pubkey.len != 32 ||
	    se->exit_id.len != ID_PK_LEN || se->n_allowed_ips > CHECK_LIST_MAX ||
	    !check_text(se->client_endpoint, CHECK_TEXT_MAX) ||
	    (se->client_endpoint[0] &&
	     natclass_endpoint_split(se->client_endpoint, NULL, 0, NULL) < 0) ||
	    (se->relay_to[0] && !check_hostport(se->relay_to)) || se->keepalive_s > 3600)
		return -EPROTO;
	for (i = 0; i < se->n_allowed_ips; i++)
		if (!check_text(se->allowed_ips[i], 64))
			return -EPROTO;
	return 0;
}

int check_disconnect(const Supermesh__Disconnect *d)
{
	return d->session_id.len == MSG_ID_LEN && strlen(d->reason) < CHECK_TEXT_MAX ? 0 : -EPROTO;
}

int check_info(const Supermesh__InfoResponse *i)
{
	if (i->n_sessions > INFO_SESSIONS_MAX || i->load_pct > 100 ||
	    (i->public_endpoint[0] && !check_hostport(i->public_endpoint)))
		return -EPROTO;
	return 0;
}

int check_candidate(const Supermesh__ExitCandidate *c, struct rank_cand *out)
{
	if (c->exit_id.len != ID_PK_LEN || c->wg_pubkey.len != 32 ||
	    (c->endpoint[0] && !check_hostport(c->endpoint)) || c->load_pct > 100)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	memcpy(out->exit_id, c->exit_id.data, ID_PK_LEN);
	memcpy(out->wg_pubkey, c->wg_pubkey.data, 32);
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", c->endpoint);
	out->behind_nat = c->behind_nat;
	out->live = 1;
	out->load_pct = c->load_pct;
	out->rtt_ms = c->rtt_ms ? c->rtt_ms : RANK_RTT_UNKNOWN;
	out->bandwidth_bps = c->bandwidth_bps;
	/* Only a hint for punching: a bad one is dropped, the exit kept. */
	if (c->nat_class <= NAT_EDM && c->observed_endpoint[0] &&
	    check_text(c->observed_endpoint, NATCLASS_EP_MAX) &&
	    natclass_endpoint_split(c->observed_endpoint, NULL, 0, NULL) == 0) {
		snprintf(out->observed, sizeof(out->observed), "%s", c->observed_endpoint);
		out->nat_class = (int)c->nat_class;
	}
	return 0;
}

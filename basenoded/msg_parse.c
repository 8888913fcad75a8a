/* Checks on what supernodes send: decode, RegisterSupernode fields,
 * ExitRegionRequest limits, text made safe for logs. Pure: no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "msg_parse.h"

Supermesh__ControlMessage *msg_decode(const uint8_t *data, size_t len)
{
	/* Frames are at most FRAME_MAX bytes, so protobuf-c's allocations are
	 * bounded by the frame we already hold. */
	return supermesh__control_message__unpack(NULL, len, data);
}

int msg_region_valid(const char *r, int may_be_empty)
{
	size_t i, len = strlen(r);

	if (len >= DIR_REGION_MAX || (len == 0 && !may_be_empty))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)r[i]) && !strchr("._-", r[i]))
			return 0;
	return 1;
}

/* A host name or IP literal (v6 too, bracketed or not), possibly empty. */
static int host_valid(const char *h)
{
	size_t i, len = strlen(h);

	if (len >= DIR_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-_:[]", h[i]))
			return 0;
	return 1;
}

int msg_register_info(const Supermesh__RegisterSupernode *r, const char *auth_region,
                      struct dir_info *info, const char **why)
{
	char host[DIR_HOST_MAX];
	uint16_t port;

	*why = "bad_register";
	if (!msg_region_valid(r->region, 0) || !host_valid(r->relay_host) ||
	    strlen(r->public_address) >= DIR_HOST_MAX ||
	    config_parse_addr(r->public_address, host, sizeof(host), &port) < 0)
		return -EPROTO;
	/* The region it signed at auth must be the one it serves. */
	if (auth_region[0] && strcmp(auth_region, r->region) != 0) {
		*why = "region_mismatch";
		return -EPROTO;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->region, sizeof(info->region), "%s", r->region);
	snprintf(info->public_address, sizeof(info->public_address), "%s", r->public_address);
	snprintf(info->relay_host, sizeof(info->relay_host), "%s", r->relay_host);
	info->capacity = r->capacity;
	*why = "";
	return 0;
}

int msg_exit_region_check(const Supermesh__ExitRegionRequest *r)
{
	if (r->request_id.len > MSG_REQUEST_ID_MAX || !msg_region_valid(r->region, 1))
		return -EPROTO;
	return 0;
}

void msg_load(const Supermesh__LoadReport *r, struct dir_load *out)
{
	out->streams = r->streams;
	out->exits = r->exits;
	out->cpu_pct = r->cpu_pct;
	out->relay_sessions = r->relay_sessions;
	out->net_tx_bps = r->net_tx_bps;
	out->net_rx_bps = r->net_rx_bps;
}

void msg_text_clean(char *out, size_t size, const char *in)
{
	size_t i;

	if (size == 0)
		return;
	for (i = 0; i + 1 < size && in[i]; i++)
		out[i] = isalnum((unsigned char)in[i]) || strchr("._:-", in[i]) ? in[i] : '_';
	out[i] = '\0';
}

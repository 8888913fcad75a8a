/* Fuzzes the handshake parsers. The first byte picks the target: the server
 * reading a ClientHello, the client reading a ServerHello (after a valid
 * ClientHello), the server verifying an AuthRequest, or a valid AuthRequest
 * built from fuzzed fields and verified back. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "handshake.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct identity server, client;
static struct hs_state server_st; /* after a valid exchange; read only */
static int ready;

static void setup(void)
{
	struct hs_state c;
	uint8_t ch[128], sh[256];
	int n, m;

	if (keys_init() < 0 || identity_generate(&server) < 0 ||
	    identity_generate(&client) < 0)
		abort();
	n = hs_client_hello(&c, ch, sizeof(ch));
	if (n < 0)
		abort();
	m = hs_server_reply(&server_st, &server, ch, (size_t)n, sh, sizeof(sh));
	if (m < 0 || hs_client_finish(&c, server.pk, sh, (size_t)m) != 0)
		abort();
	hs_release(&c);
	ready = 1;
}

static void server_reply(const uint8_t *data, size_t size)
{
	struct hs_state s;
	uint8_t out[256];

	hs_server_reply(&s, &server, data, size, out, sizeof(out));
	hs_release(&s);
}

static void client_finish(const uint8_t *data, size_t size)
{
	struct hs_state c;
	uint8_t ch[128];

	if (hs_client_hello(&c, ch, sizeof(ch)) < 0)
		abort();
	/* A forged ServerHello cannot carry a valid signature over a fresh H. */
	if (hs_client_finish(&c, NULL, data, size) == 0)
		abort();
	hs_release(&c);
}

static void auth_verify(const uint8_t *data, size_t size)
{
	struct hs_auth a;

	hs_auth_verify(&server_st, data, size, 1790000000000ULL, &a);
}

/* role (1 byte), timestamp skew (2 bytes), then the region. */
static void auth_round_trip(const uint8_t *data, size_t size)
{
	struct hs_auth a;
	uint8_t req[512];
	char region[80];
	uint64_t now = 1790000000000ULL, ts;
	size_t rlen;
	int n, r;

	if (size < 3)
		return;
	ts = now - 65536 * 2 + (uint64_t)(data[1] << 8 | data[2]) * 4;
	rlen = size - 3 < sizeof(region) - 1 ? size - 3 : sizeof(region) - 1;
	memcpy(region, data + 3, rlen);
	region[rlen] = '\0';
	n = hs_auth_request(&server_st, &client, data[0], region, ts, NULL, req, sizeof(req));
	if (n < 0)
		return;
	r = hs_auth_verify(&server_st, req, (size_t)n, now, &a);
	if (r != 0 && r != -ETIME)
		abort();
	if (r == 0 && (a.role != data[0] || strcmp(a.region, region) != 0 || a.timestamp_ms != ts))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		server_reply(data + 1, size - 1);
		break;
	case 1:
		client_finish(data + 1, size - 1);
		break;
	case 2:
		auth_verify(data + 1, size - 1);
		break;
	default:
		auth_round_trip(data + 1, size - 1);
		break;
	}
	return 0;
}

/* Fuzzes natctl's request path: any bytes as one request line through the
 * verb table, against a fake kernel that aborts on a value natctl should
 * have refused; every reply must be exactly one ok/err line.
 * Build: clang -fsanitize=fuzzer,address -D_GNU_SOURCE -Ilib
 *        t/fuzz/fuzz_natctl_verbs.c natctl/verbs.c lib/line.c lib/verb.c lib/log.c
 *        lib/clock.c */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../natctl/verbs.h"

static int fake_masq(const char *uplink, uint32_t addr_be, int add)
{
	uint32_t h = ntohl(addr_be);

	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 29) == 7 || (add && !uplink))
		abort();
	return 0;
}

static int fake_block(const char *uplink, uint16_t port, int add)
{
	if (port == 0)
		abort();
	return 0;
}

static int fake_flush(void)
{
	return 0;
}

static int fake_list(struct nat_listing *out)
{
	out->nmasq = 1;
	out->masq[0] = htonl(0x0ac80005);
	out->nblock = 1;
	out->block[0] = 5201;
	return 0;
}

static const struct nat_backend fake = { fake_masq, fake_block, fake_flush, fake_list };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* /dev/null takes forward's write; list then reports a sysctl error. */
	struct natctl ctx = { size % 2 ? "eth0" : NULL, "/dev/null", &fake, 0 };
	struct line_reply reply;
	const char *text;
	char *line;

	if (size > 2 * LINE_MAX_LEN)
		return 0;
	if (!(line = malloc(size + 1)))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	verb_dispatch_line(natctl_verbs, &ctx, line, size, &reply);
	text = line_reply_finish(&reply);
	if (strncmp(text, "ok", 2) && strncmp(text, "err ", 4))
		abort();
	if (strchr(text, '\n') != text + strlen(text) - 1)
		abort();
	free(line);
	return 0;
}

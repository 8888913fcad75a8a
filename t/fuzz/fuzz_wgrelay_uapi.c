/* Fuzzes wgrelay's parsers of untrusted text: a wireguard-go "get=1" reply
 * (parsed, then written back as a "set=1" request) and every word parser.
 * Build: make fuzz (links wgrelay's modules). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../wgrelay/parse.h"
#include "../../wgrelay/wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void words(const char *s)
{
	struct cidr c, *list = NULL;
	union wg_endpoint e;
	uint64_t v;
	uint32_t m;
	size_t n;
	char buf[CIDR_STRLEN];

	parse_ifname(s);
	parse_ulong(s, UINT64_MAX, &v);
	parse_mark(s, &m);
	parse_table(s, &m);
	parse_endpoint(s, &e);
	if (parse_cidr(s, CIDR_BARE, &c) == 0) {
		cidr_format(&c, buf, sizeof(buf));
		if (c.len > (c.family == AF_INET ? 32 : 128))
			abort();
	}
	if (parse_cidr_list(s, CIDR_HOST_BITS | CIDR_BARE, &list, &n) == 0 && n == 0)
		abort();
	free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = NULL;
	char *text = malloc(size + 1), *set;
	size_t len;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (wg_uapi_parse_get(text, size, &dev) == 0) {
		if (wg_uapi_format_set(dev, &set, &len) == 0)
			free(set);
		wg_device_free(dev);
	}
	wg_uapi_parse_errno(text, size);
	if (size < 256)
		words(text);
	free(text);
	return 0;
}

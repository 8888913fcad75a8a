/* Fuzzes wgrelay's parsers of hostile words (interface names, numbers,
 * marks, tables, CIDRs and lists of them, endpoints). The verbs themselves
 * reach netlink, so they are fuzzed through these, never against the host:
 * every verb validates its words with them before any change. What a parser
 * accepts must format and parse back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../wgrelay/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted CIDR prints as text the parser takes back unchanged. */
static void check_cidr_roundtrip(const struct cidr *c, int flags)
{
	char text[CIDR_STRLEN];
	struct cidr again;

	cidr_format(c, text, sizeof(text));
	if (parse_cidr(text, flags | CIDR_HOST_BITS, &again) != 0 ||
	    again.family != c->family || again.len != c->len ||
	    memcmp(&again.addr, &c->addr, c->family == AF_INET ? 4 : 16))
		abort();
}

static void fuzz_word(const char *s, int flags)
{
	struct cidr c, *list = NULL;
	union wg_endpoint ep;
	uint64_t u;
	uint32_t v;
	size_t n, i;

	parse_ifname(s);
	if (parse_ulong(s, UINT32_MAX, &u) == 0 && u > UINT32_MAX)
		abort();
	parse_mark(s, &v);
	parse_table(s, &v);
	parse_endpoint(s, &ep);
	memset(&c, 0, sizeof(c));
	if (parse_cidr(s, flags, &c) == 0)
		check_cidr_roundtrip(&c, flags);
	if (parse_cidr_list(s, flags, &list, &n) == 0) {
		if (n == 0)
			abort();
		for (i = 0; i < n; i++)
			check_cidr_roundtrip(&list[i], flags);
		free(list);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0 || size > 4096)
		return 0;
	if (!(s = malloc(size)))
		return 0;
	/* The first byte picks the CIDR flags; the rest is one NUL-ended word. */
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	fuzz_word(s, data[0] & (CIDR_HOST_BITS | CIDR_BARE));
	free(s);
	return 0;
}

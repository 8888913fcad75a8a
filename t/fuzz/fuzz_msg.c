/* Fuzzes msg_unpack on arbitrary frames; what it accepts must have a name,
 * pack again, and survive a second round trip unchanged. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out1[MSG_MAX], out2[MSG_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Supermesh__ControlMessage *m, *m2;
	const char *name;
	int n1, n2;

	if (!(m = msg_unpack(data, size)))
		return 0;
	name = msg_name(m);
	if (!name || strcmp(name, "none") == 0)
		abort(); /* accepted without a known body */
	n1 = msg_pack(m, out1, sizeof(out1));
	msg_free(m);
	if (n1 == -EMSGSIZE)
		return 0; /* e.g. short varints re-encoded at full width */
	if (n1 <= 0 || !(m2 = msg_unpack(out1, (size_t)n1)))
		abort();
	n2 = msg_pack(m2, out2, sizeof(out2));
	if (n2 != n1 || memcmp(out1, out2, (size_t)n1) != 0 ||
	    strcmp(msg_name(m2), name) != 0)
		abort();
	msg_free(m2);
	return 0;
}

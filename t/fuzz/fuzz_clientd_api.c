/* clientd's API bodies: POST /connect and /disconnect parsed from any bytes
 * must give 0 with a sane result or -EINVAL with a message, never a crash. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "../../clientd/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_connect c;
	char err[160];
	int rc;

	rc = api_parse_connect((const char *)data, size, &c, err, sizeof(err));
	if (rc == 0 && (!c.region[0] || strlen(c.region) >= sizeof(c.region)))
		__builtin_trap();
	if (rc != 0 && (rc != -EINVAL || !err[0]))
		__builtin_trap();
	rc = api_parse_empty((const char *)data, size, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		__builtin_trap();
	return 0;
}

/* Fuzzes the PROBE_PATH checks both daemons run on a command's payload
 * (bytes from the network) and the parser of wgrelay's probe status line:
 * what probe_path_check accepts must hold its promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "probe_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Supermesh__ProbePath *p;
	char line[4097], from[64];
	int done, seen;

	if ((p = supermesh__probe_path__unpack(NULL, size, data))) {
		if (!probe_path_check(p) &&
		    (p->token.len != PROBE_TOKEN_LEN || p->session_id.len != 16 ||
		     p->duration_ms < PROBE_MIN_MS || p->duration_ms > PROBE_MAX_MS ||
		     strlen(p->peer_endpoint) >= 64))
			abort();
		supermesh__probe_path__free_unpacked(p, NULL);
	}
	if (size < sizeof(line)) {
		memcpy(line, data, size);
		line[size] = '\0';
		if (probe_status_parse(line, &done, &seen, from, sizeof(from)) == 0 &&
		    ((done != 0 && done != 1) || (seen != 0 && seen != 1) ||
		     strlen(from) >= sizeof(from)))
			abort();
	}
	return 0;
}

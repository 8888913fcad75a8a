/* supernoded's checks on peer input: SetupExitResult, SetupExit,
 * InfoResponse and ExitCandidate decoded from arbitrary bytes, then checked. */
#include <stddef.h>
#include <stdint.h>
#include "../../supernoded/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCBinaryData b = { size, (uint8_t *)(uintptr_t)data };
	struct setup_result res;
	struct rank_cand cand;
	Supermesh__SetupExit *se;
	Supermesh__InfoResponse *info;
	Supermesh__ExitCandidate *c;

	setup_result_parse(&b, &res);
	if ((se = supermesh__setup_exit__unpack(NULL, size, data))) {
		check_setup_exit(se);
		supermesh__setup_exit__free_unpacked(se, NULL);
	}
	if ((info = supermesh__info_response__unpack(NULL, size, data))) {
		check_info(info);
		supermesh__info_response__free_unpacked(info, NULL);
	}
	if ((c = supermesh__exit_candidate__unpack(NULL, size, data))) {
		check_candidate(c, &cand);
		supermesh__exit_candidate__free_unpacked(c, NULL);
	}
	return 0;
}

/* Fuzzes what a supernode can send basenoded: one frame decoded as a
 * ControlMessage, then the checks its handler would run on it. */
#include <stdint.h>
#include <stdlib.h>
#include "../../basenoded/msg_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Supermesh__ControlMessage *m = msg_decode(data, size);
	struct dir_info info;
	struct dir_load load;
	const char *why;
	char text[128];

	if (!m)
		return 0;
	switch (m->body_case) {
	case SUPERMESH__CONTROL_MESSAGE__BODY_REGISTER_SUPERNODE:
		msg_register_info(m->register_supernode, "", &info, &why);
		msg_register_info(m->register_supernode, "eu", &info, &why);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT:
		msg_load(m->load_report, &load);
		info.capacity = 7;
		dir_load_pct(&info, &load);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_REQUEST:
		msg_exit_region_check(m->exit_region_request);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_ERROR:
		msg_text_clean(text, sizeof(text), m->error->message);
		break;
	default:
		break;
	}
	supermesh__control_message__free_unpacked(m, NULL);
	return 0;
}

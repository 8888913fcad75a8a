/* Fuzzes basenoded's allow-list parser (policy_parse_allow) and the key
 * text parser behind it and behind the blacklist admin verbs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../basenoded/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct directory dir;
	static struct auth_policy pol;
	char err[128], *text;
	uint8_t id[ID_PK_LEN];

	policy_init(&pol, &dir, 0, 1);
	policy_parse_allow(&pol, (const char *)data, size, err, sizeof(err));
	policy_release(&pol);
	text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
		id_parse(text, id);
		free(text);
	}
	return 0;
}

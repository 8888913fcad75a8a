/* Fuzzes the config parser: arbitrary bytes as a file, then as an -o
 * override, against a table with one key of every type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct config_key keys[] = {
	{ "name", CFG_STR, "n", 0, 0, "" },
	{ "port", CFG_INT, "7000", 1, 65535, "" },
	{ "any", CFG_INT, NULL, 0, 0, "" },
	{ "flag", CFG_BOOL, "no", 0, 0, "" },
	{ "listen", CFG_ADDR, "[::1]:1", 0, 0, "" },
	{ "dir", CFG_PATH, NULL, 0, 0, "" },
	{ 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[256], *kv;
	FILE *null;

	if (config_init(&c, keys) < 0)
		return 0;
	config_parse_buf(&c, (const char *)data, size, "fuzz", err, sizeof(err));
	kv = malloc(size + 1);
	if (kv) {
		memcpy(kv, data, size);
		kv[size] = '\0';
		config_set_override(&c, kv, err, sizeof(err));
		free(kv);
	}
	(void)config_get_int(&c, "port");
	(void)config_get_bool(&c, "flag");
	null = fopen("/dev/null", "w");
	if (null) {
		config_dump(&c, null);
		fclose(null);
	}
	config_release(&c);
	return 0;
}

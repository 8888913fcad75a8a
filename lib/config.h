/* Config files: "key = value" lines, '#' comments, plus "-o key=value"
 * overrides with the same keys. Keys come from a table of the program's; an
 * unknown key is an error naming the file and line. Pure parser. */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_ADDR /* host:port */, CFG_PATH };

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;   /* default value as text; NULL: unset */
	long min, max;     /* CFG_INT range; 0, 0: any long */
	const char *help;  /* one line, for -h and the man page */
};

#define CONFIG_MAX_KEYS 64
#define CONFIG_VALUE_MAX 512

struct config {
	const struct config_key *keys; /* table ending with {NULL} */
	size_t nkeys;
	char *values[CONFIG_MAX_KEYS]; /* current text value, NULL: unset */
	char origin[CONFIG_MAX_KEYS][80]; /* "default", "file:line" or "-o" */
};

/* Sets every key to its default. Returns 0 or -E2BIG (table too large). */
int config_init(struct config *c, const struct config_key *keys);
void config_release(struct config *c);

/*
 * Parses a whole file's text. Each error is "<file>:<line>: <what>" in err.
 * Values are checked against their type. Later lines override earlier ones.
 * Returns 0 or -EINVAL. On error nothing is changed.
 */
int config_parse_buf(struct config *c, const char *buf, size_t len, const char *file,
                     char *err, size_t err_size);
/* Reads and parses a file; -errno if it cannot be read. */
int config_load_file(struct config *c, const char *path, char *err, size_t err_size);
/* One "-o key=value" override. */
int config_set_override(struct config *c, const char *kv, char *err, size_t err_size);

const char *config_get(const struct config *c, const char *key); /* NULL if unset */
long config_get_int(const struct config *c, const char *key);    /* 0 if unset */
int config_get_bool(const struct config *c, const char *key);    /* 0 if unset */

/* Writes every key as "key = value  # origin" for -n -v. */
void config_dump(const struct config *c, FILE *f);

/* Splits "host:port" or "[v6]:port" into host and port; -EINVAL if bad. */
int config_parse_addr(const char *text, char *host, size_t host_size, uint16_t *port);

#endif

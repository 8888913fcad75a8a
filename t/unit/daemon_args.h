/* Shared by lib/daemon.c's tests: argv from a word list, the parsed flags
 * and error text, a small config key table. Static: include once per test
 * program. */
#ifndef DAEMON_ARGS_H
#define DAEMON_ARGS_H

#include <check.h>
#include "daemon.h"

#define DEF_CONF "/nonexistent/supermesh/test.conf"

static struct daemon_flags f;
static char err[256];

/* A NULL-terminated list of words as argv (argv[0] is "prog"). */
static char **argv_of(char **words, int *argc)
{
	static char *argv[DAEMON_MAX_OVERRIDES * 2 + 16] = { (char *)"prog" };

	for (*argc = 1; *words; words++)
		argv[(*argc)++] = *words;
	argv[*argc] = NULL;
	err[0] = '\0';
	return argv;
}

static const struct config_key keys[] = {
	{ "name", CFG_STR, "node", 0, 0, "name" },
	{ "port", CFG_INT, "7000", 1, 65535, "port" },
	{ "admin_socket", CFG_PATH, "/nonexistent/supermesh/admin.sock", 0, 0, "admin" },
	{ "key_file", CFG_PATH, "/nonexistent/supermesh/id.key", 0, 0, "key" },
	{ NULL, 0, NULL, 0, 0, NULL },
};

#endif

/* `clientd ctl`: the user's CLI over the API's UNIX socket. */
#ifndef CD_CTL_H
#define CD_CTL_H

#include <stdio.h>
#include <jansson.h>

#define CTL_TIMEOUT_MS 5000

struct ctl_answer {
	int status;       /* HTTP status */
	char *raw;        /* the whole answer, malloc'd */
	const char *body; /* into raw */
	json_t *json;     /* body parsed, NULL if it is not JSON */
};

/* One request to the API socket at path; body may be NULL. 0 and a (release
 * it), or a negative errno: -ENOENT/-ECONNREFUSED nobody listening,
 * -ETIMEDOUT, -EMSGSIZE answer over 64 KiB, -EPROTO not HTTP. */
int ctl_http(const char *path, const char *method, const char *url, const char *body,
             int timeout_ms, struct ctl_answer *a);
void ctl_answer_release(struct ctl_answer *a);

/* Runs `ctl VERB ...` (argv[0] is the verb). Returns the exit status: 0 ok,
 * 1 error answer (or unhealthy), 100 usage, 111 clientd not running. */
int ctl_main(const char *socket_path, int argc, char **argv, FILE *out, FILE *err);

#endif

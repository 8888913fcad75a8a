/* Requests to the privileged helpers (wgrelay, natctl) over their UNIX
 * sockets: words escaped into one line, the one reply line parsed. */
#ifndef EP_HELPER_H
#define EP_HELPER_H

#include <stddef.h>
#include <uv.h>
#include "line.h"

struct helper_reply {
	int status;                 /* 0: a reply line came; else negative errno */
	int ok;                     /* 1 "ok ...", 0 "err ..." or no reply */
	char code[32];              /* err code, or "io" when no reply came */
	char msg[256];
	char line[LINE_MAX_LEN + 1];
};

typedef void (*helper_cb)(void *arg, const struct helper_reply *r);

/* Joins words (NULL-terminated) into buf, each escaped. 0 or -EMSGSIZE. */
int helper_build_line(const char *const *words, char *buf, size_t size);

/* Sends the request; cb runs exactly once on the loop. Returns 0, or a
 * negative errno without calling cb. */
int helper_request(uv_loop_t *loop, const char *path, int timeout_ms,
                   const char *const *words, helper_cb cb, void *arg);

/* The value of key=... in an ok reply, unescaped. 0, or -ENOENT. */
int helper_reply_value(const struct helper_reply *r, const char *key, char *out,
                       size_t size);

/* "code: message" for logs and CommandResponse.error. */
void helper_reply_error(const struct helper_reply *r, char *out, size_t size);

#endif

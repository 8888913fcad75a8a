/* Client side of the helpers' line protocol on a UNIX socket: one request, one
 * reply. A blocking call for CLIs and tests, a libuv one for daemons. */
#ifndef SM_LINE_CLIENT_H
#define SM_LINE_CLIENT_H

#include <stddef.h>
#include <uv.h>
#include "line.h"

/* Sends `request` (no newline needed) to the socket at `path` and waits up to
 * timeout_ms for one reply line, copied without its newline into reply.
 * Returns 0 when a reply line arrived (ok or err: use line_reply_parse), or a
 * negative errno: -ETIMEDOUT, -ECONNREFUSED, -ENOENT, -EMSGSIZE, -EPROTO. */
int line_request(const char *path, const char *request, char *reply,
                 size_t reply_size, int timeout_ms);

/* Asynchronous form. cb runs exactly once on the loop, with status 0 and the
 * reply line, or a negative errno and reply NULL. Returns 0, or a negative
 * errno without ever calling cb. */
typedef void (*line_request_cb)(void *arg, int status, const char *reply);
int line_request_async(uv_loop_t *loop, const char *path, const char *request,
                       int timeout_ms, line_request_cb cb, void *arg);

#endif

/* Asynchronous helper requests: one line out, one line back, parsed once
 * here so callers only see ok/err and key=value lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helper.h"
#include "line_client.h"

struct helper_req {
	helper_cb cb;
	void *arg;
};

int helper_build_line(const char *const *words, char *buf, size_t size)
{
	size_t len;
	int i;

	if (size == 0)
		return -EMSGSIZE;
	buf[0] = '\0';
	for (i = 0; words[i]; i++) {
		len = strlen(buf);
		/* The separating space must not be escaped, so add it by hand. */
		if (i > 0) {
			if (len + 2 > size)
				return -EMSGSIZE;
			buf[len++] = ' ';
			buf[len] = '\0';
		}
		if (line_escape(buf, size, words[i]) < 0)
			return -EMSGSIZE;
	}
	return 0;
}

static void on_reply(void *arg, int status, const char *line)
{
	struct helper_req *req = arg;
	struct helper_reply r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.status = status;
	if (status < 0 || !line) {
		snprintf(r.code, sizeof(r.code), "io");
		snprintf(r.msg, sizeof(r.msg), "%s", strerror(status < 0 ? -status : EPROTO));
	} else {
		snprintf(r.line, sizeof(r.line), "%s", line);
		rc = line_reply_parse(line, r.code, sizeof(r.code), r.msg, sizeof(r.msg));
		r.ok = rc == 1;
		if (rc < 0) {
			snprintf(r.code, sizeof(r.code), "io");
			snprintf(r.msg, sizeof(r.msg), "malformed reply");
		}
	}
	req->cb(req->arg, &r);
	free(req);
}

int helper_request(uv_loop_t *loop, const char *path, int timeout_ms,
                   const char *const *words, helper_cb cb, void *arg)
{
	char line[LINE_MAX_LEN];
	struct helper_req *req;
	int rc;

	if ((rc = helper_build_line(words, line, sizeof(line))) < 0)
		return rc;
	if (!(req = malloc(sizeof(*req))))
		return -ENOMEM;
	req->cb = cb;
	req->arg = arg;
	rc = line_request_async(loop, path, line, timeout_ms, on_reply, req);
	if (rc < 0)
		free(req);
	return rc;
}

int helper_reply_value(const struct helper_reply *r, const char *key, char *out,
                       size_t size)
{
	return r->ok ? line_reply_value(r->line, key, out, size) : -ENOENT;
}

void helper_reply_error(const struct helper_reply *r, char *out, size_t size)
{
	snprintf(out, size, "%s: %s", r->code, r->msg);
}

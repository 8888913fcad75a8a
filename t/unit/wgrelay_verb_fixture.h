/* Shared by wgrelay's verb tests over a fake WireGuard backend: the relay
 * state the verbs run on, one request line through wgrelay's verb table,
 * a copy of a fake device as a backend's get returns it, and main. Static
 * inline functions: include once per test program. */
#ifndef WGRELAY_VERB_FIXTURE_H
#define WGRELAY_VERB_FIXTURE_H

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "line.h"
#include "log.h"
#include "verb.h"
#include "../../wgrelay/wg.h"
#include "../../wgrelay/wgrelay.h"
#include "fixture.h"

static struct wgrelay w;
static struct line_reply reply;

/* Runs one request line; returns the reply without its newline. */
static inline const char *run(const char *line)
{
	char buf[LINE_MAX_LEN + 1];
	size_t n = strlen(line);

	ck_assert_uint_lt(n, sizeof(buf));
	memcpy(buf, line, n + 1);
	memset(&reply, 0, sizeof(reply));
	verb_dispatch_line(wgrelay_verbs, &w, buf, n, &reply);
	line_reply_finish(&reply);
	ck_assert_uint_le(reply.len, LINE_MAX_LEN); /* newline included */
	if (reply.len && reply.buf[reply.len - 1] == '\n')
		reply.buf[--reply.len] = '\0';
	return reply.buf;
}

static inline void assert_prefix(const char *got, const char *want)
{
	ck_assert_msg(!strncmp(got, want, strlen(want)), "got '%s', want '%s...'", got, want);
}

/* What a backend's get hands out for src: a copy the caller frees, with
 * its own peer array. */
static inline struct wg_device *fake_dev_copy(const struct wg_device *src)
{
	struct wg_device *d = calloc(1, sizeof(*d));

	ck_assert_ptr_nonnull(d);
	*d = *src;
	d->peers = calloc(src->n_peers + 1, sizeof(struct wg_peer));
	ck_assert_ptr_nonnull(d->peers);
	if (src->n_peers)
		memcpy(d->peers, src->peers, src->n_peers * sizeof(struct wg_peer));
	return d;
}

/* A test program's main after its own preparations: libsodium, quiet
 * logging, then the suite. */
static inline int wgrelay_test_main(Suite *(*suite)(void))
{
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	log_init("wgrelay", LOG_LVL_WARN);
	return run_suite(suite());
}

#endif

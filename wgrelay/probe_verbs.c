/* The probe verbs: `probe start|status|stop`. Every word and the interface
 * are checked before anything is sent, so a bad request starts nothing. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "log.h"
#include "parse.h"
#include "probe.h"
#include "verbs.h"
#include "wgrelay.h"

/* The table, made on first use: probes need the server's loop (-l). */
static struct probe_table *probe_ctx_table(struct wgrelay *w, struct line_reply *r)
{
	if (!w->serving || !w->loop) {
		line_reply_err(r, LINE_EUSAGE, "probe verbs need the server (-l)");
		return NULL;
	}
	if (!w->probes && probe_table_new(w->loop, &probe_raw_io, PROBE_KEEP_MS, &w->probes) < 0) {
		line_reply_err(r, LINE_ESYS, "out of memory");
		return NULL;
	}
	return w->probes;
}

static int check_token(const char *s, uint8_t token[PROBE_TOKEN_LEN], struct line_reply *r)
{
	if (probe_token_parse(s, token) == 0)
		return 0;
	line_reply_err(r, LINE_EINVAL, "bad token (32 hex digits)");
	return -EINVAL;
}

/* NAME TOKEN HOST:PORT [ms M] into its parts; an err reply on bad input. */
static int start_parse(int argc, char **argv, uint8_t *token, union wg_endpoint *dst,
                       uint64_t *ms, struct line_reply *r)
{
	struct verb_opt opts[] = { { "ms", 1, 0, NULL }, { NULL, 0, 0, NULL } };

	if (parse_ifname(argv[0]) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return -EINVAL;
	}
	if (check_token(argv[1], token, r) < 0)
		return -EINVAL;
	if (parse_endpoint(argv[2], dst) < 0) {
		line_reply_err(r, LINE_EINVAL,
		               "bad endpoint (numeric IPv4:PORT or [IPv6]:PORT, port 1..65535)");
		return -EINVAL;
	}
	if (verb_opts_parse(opts, argc - 3, argv + 3, r) < 0)
		return -EINVAL;
	*ms = PROBE_MS_DEFAULT;
	if (opts[0].value && (parse_ulong(opts[0].value, PROBE_MS_MAX, ms) < 0 ||
	                      *ms < PROBE_MS_MIN)) {
		line_reply_err(r, LINE_EINVAL, "bad ms (%d..%d)", PROBE_MS_MIN, PROBE_MS_MAX);
		return -EINVAL;
	}
	return 0;
}

static void start_reply_err(struct line_reply *r, int err, const char *name)
{
	if (err == -EPERM || err == -EACCES)
		line_reply_err(r, LINE_EPERM, "probes need CAP_NET_RAW (raw UDP sockets): %s",
		               strerror(-err));
	else if (err == -EBUSY)
		line_reply_err(r, LINE_EBUSY, "too many probes running (at most %d)",
		               PROBE_RUNNING_MAX);
	else if (err == -EADDRNOTAVAIL)
		line_reply_err(r, LINE_EINVAL, "%s has no listen port", name);
	else if (err == -EEXIST)
		line_reply_err(r, LINE_EINVAL, "token in use by a probe with other arguments");
	else
		verb_reply_errno(r, err, "probe start", name);
}

void verb_probe_start(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	uint8_t token[PROBE_TOKEN_LEN];
	struct probe_table *t;
	struct wg_device *dev = NULL;
	union wg_endpoint dst;
	uint64_t ms;
	int ret;

	if (start_parse(argc, argv, token, &dst, &ms, r) < 0 || !(t = probe_ctx_table(w, r)))
		return;
	ret = w->wg->get(w->wg, argv[0], &dev);
	if (ret == 0 && dev->listen_port == 0)
		ret = -EADDRNOTAVAIL;
	if (ret == 0)
		ret = probe_start(t, token, &dst, dev->listen_port, dev->fwmark, ms);
	if (ret < 0) {
		start_reply_err(r, ret, argv[0]);
		goto out;
	}
	log_debug("event=probe_started name=%s port=%u to=%s ms=%" PRIu64, argv[0],
	          dev->listen_port, argv[2], ms);
	line_reply_ok(r);
out:
	wg_device_free(dev);
}

void verb_probe_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	uint8_t token[PROBE_TOKEN_LEN];
	char ep[INET6_ADDRSTRLEN + 16];
	struct probe_table *t;
	struct probe_info info;

	(void)argc;
	if (check_token(argv[0], token, r) < 0 || !(t = probe_ctx_table(w, r)))
		return;
	if (probe_status(t, token, &info) < 0) {
		line_reply_err(r, LINE_ENOENT, "no probe with this token");
		return;
	}
	line_reply_ok(r);
	line_reply_kv(r, "state", info.running ? "running" : "done");
	line_reply_kvf(r, "seen", "%d", info.seen);
	if (info.seen) {
		wg_endpoint_format(&info.from, ep, sizeof(ep));
		line_reply_kv(r, "from", ep);
	}
	line_reply_kvf(r, "sent", "%" PRIu64, info.sent);
}

void verb_probe_stop(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	uint8_t token[PROBE_TOKEN_LEN];
	struct probe_table *t;

	(void)argc;
	if (check_token(argv[0], token, r) < 0 || !(t = probe_ctx_table(w, r)))
		return;
	probe_stop(t, token);
	line_reply_ok(r);
}

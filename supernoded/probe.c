/* The out-of-band test before a relayed session is moved to a direct path
 * (architecture.md "Path choice"): PROBE_PATH to the client (towards the
 * exit's public endpoint) and to the exit (towards the client's; ORIGIN:
 * through B, probe_remote.c), with one random token; both must have seen
 * the other's probes. Nothing is moved here: a pass hands pathsel's
 * PA_TRY_DIRECT to punch.c. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "peer.h"
#include "probe_run.h"
#include "session.h"

#define TEST_PROBE_MS 3000

enum { SIDE_CLIENT, SIDE_EXIT };

/* One test in flight; holds the session until both sides answered. */
struct probe_test {
	struct sn_session *s;
	uint64_t gen;                   /* s->ps.tests when it began */
	int answers;
	enum ps_test side[2];
	char from[2][64];
};

struct probe_side {
	struct probe_test *t;
	int which;
};

static const char *const result_names[3] = { "ok", "failed", "unsupported" };

int probe_error_unsupported(const char *error)
{
	/* wgrelay without CAP_NET_RAW or without the verbs, or a daemon that
	 * predates PROBE_PATH ("unsupported", "... not supported ..."). */
	return !strncmp(error, "perm", 4) || !strncmp(error, "usage", 5) ||
	       !strncmp(error, "unsupported", 11) || strstr(error, "not supported") != NULL;
}

/* The probe must end well inside the command's timeout, or it is resent. */
uint32_t probe_test_ms(const struct supernoded *sn)
{
	uint32_t t = sn->set.cmd_timeout_ms ? sn->set.cmd_timeout_ms : 5000;

	t = t / 5 * 3;
	if (t > TEST_PROBE_MS)
		t = TEST_PROBE_MS;
	return t < PROBE_MIN_MS ? PROBE_MIN_MS : t;
}

static enum ps_test combine(const struct probe_test *t)
{
	if (t->side[0] == PT_UNSUPPORTED || t->side[1] == PT_UNSUPPORTED)
		return PT_UNSUPPORTED;
	return t->side[0] == PT_OK && t->side[1] == PT_OK ? PT_OK : PT_FAILED;
}

/* Both answered: the result goes to pathsel if the session still waits for it. */
static void conclude(struct probe_test *t)
{
	struct sn_session *s = t->s;
	struct supernoded *sn = s->sn;
	enum ps_test r = combine(t);
	enum ps_action a;

	if (s->state != SS_ACTIVE || sn->stopping || s->ps.state != PS_TESTING ||
	    s->ps.tests != t->gen)
		goto out;
	sn->path_tests[r]++;
	if (r == PT_UNSUPPORTED) /* once: testing is off for the session from now on */
		log_info("event=path_test_unsupported session_id=%s fallback=move_untested",
		         s->hex);
	log_info("event=path_test session_id=%s result=%s client_from=%s exit_from=%s", s->hex,
	         result_names[r], t->from[SIDE_CLIENT][0] ? t->from[SIDE_CLIENT] : "-",
	         t->from[SIDE_EXIT][0] ? t->from[SIDE_EXIT] : "-");
	a = pathsel_test_result(&s->ps, uv_now(sn->loop), r);
	if (!s->moving)
		punch_act(s, a);
out:
	session_release(s);
	free(t);
}

static void side_done(struct probe_test *t, int which, enum ps_test r)
{
	t->side[which] = r;
	if (++t->answers == 2)
		conclude(t);
}

static enum ps_test verdict(int status, const Supermesh__CommandResponse *resp, char *from,
                            size_t size)
{
	Supermesh__ProbePathResult *pr;
	enum ps_test r = PT_FAILED;

	if (status < 0)
		return PT_FAILED;
	if (!resp->ok)
		return probe_error_unsupported(resp->error ? resp->error : "") ? PT_UNSUPPORTED
		                                                                : PT_FAILED;
	if (!(pr = supermesh__probe_path_result__unpack(NULL, resp->result.len,
	                                                resp->result.data)))
		return PT_FAILED;
	if (pr->seen) {
		r = PT_OK;
		/* Only for the log: kept when printable and short. */
		if (strlen(pr->from) < size && strspn(pr->from, "0123456789abcdefABCDEF.:[]") ==
		                                       strlen(pr->from))
			snprintf(from, size, "%s", pr->from);
	}
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	return r;
}

static void on_answer(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct probe_side *ps = arg;
	struct probe_test *t = ps->t;
	int which = ps->which;

	free(ps);
	if (status == 0 && !resp->ok)
		log_info("event=path_test_refused session_id=%s side=%s error=\"%s\"", t->s->hex,
		         which == SIDE_CLIENT ? "client" : "exit", resp->error ? resp->error : "");
	side_done(t, which, verdict(status, resp, t->from[which], sizeof(t->from[which])));
}

static void send_side(struct probe_test *t, int which, const uint8_t token[16])
{
	struct sn_session *s = t->s;
	/* ORIGIN: B, which holds the exit, forwards it (same token). */
	const uint8_t *id = which == SIDE_CLIENT ? s->rec.client_id :
	                    s->rec.kind == SESS_ORIGIN ? s->rec.remote_id : s->rec.exit_id;
	struct sn_peer *to = peer_find(s->sn, id);
	Supermesh__ProbePath pp;
	struct probe_side *ps;

	supermesh__probe_path__init(&pp);
	pp.session_id.data = s->rec.id;
	pp.session_id.len = MSG_ID_LEN;
	pp.peer_endpoint = which == SIDE_CLIENT ? s->exit_pub : s->client_pub;
	pp.token.data = (uint8_t *)(uintptr_t)token;
	pp.token.len = PROBE_TOKEN_LEN;
	pp.duration_ms = probe_test_ms(s->sn);
	if (!to || !peer_is_up(to) || !(ps = malloc(sizeof(*ps)))) {
		side_done(t, which, PT_FAILED);
		return;
	}
	ps->t = t;
	ps->which = which;
	if (sn_command_send(s->sn, SUPERMESH__COMMAND_TYPE__PROBE_PATH, &pp.base, to, on_answer,
	                    ps) < 0) {
		free(ps);
		side_done(t, which, PT_FAILED);
	}
}

void probe_test_start(struct sn_session *s)
{
	uint8_t token[PROBE_TOKEN_LEN];
	struct probe_test *t;

	if (!(t = calloc(1, sizeof(*t)))) {
		s->sn->path_tests[PT_FAILED]++;
		pathsel_test_result(&s->ps, uv_now(s->sn->loop), PT_FAILED);
		return;
	}
	randombytes_buf(token, sizeof(token));
	t->s = s;
	t->gen = s->ps.tests;
	session_hold(s); /* one hold for the test; conclude() drops it */
	log_info("event=path_test_start session_id=%s client=%s exit=%s probe_ms=%u", s->hex,
	         s->client_pub, s->exit_pub, probe_test_ms(s->sn));
	/* The hold keeps t->s valid even if the first answer fails at once. */
	session_hold(s);
	send_side(t, SIDE_CLIENT, token);
	send_side(t, SIDE_EXIT, token);
	session_release(s);
}

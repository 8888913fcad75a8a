/* Commands: the sender's resend-with-same-id, timeout, response matching and
 * cancellation on a real loop; the receiver's journal in SQLite. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "command.h"

#define TIMEOUT_MS 50
#define RETRIES 3
#define MAX_SENT 64
#define MAX_DONE 1100

/* What a transmit saw, decoded back from the wire bytes. */
struct sent {
	void *target;
	uint8_t id[MSG_ID_LEN];
	int type;
	uint64_t deadline_ms;
	uint8_t payload[64];
	size_t len;
};

struct done {
	void *arg;
	int status;
	int ok;
	char error[64];
	uint8_t result[64];
	size_t result_len;
};

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	struct cmd_sender *s;
	struct sent sent[MAX_SENT];
	int nsent;
	int transmit_ret;
	struct done done[MAX_DONE];
	int ndone;
	/* Set by a done callback that sends again (reentrancy test). */
	void *resend_target;
	int resend_ret;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static int target_a, target_b;

static int record_transmit(void *target, const Supermesh__ControlMessage *m)
{
	uint8_t buf[1024];
	size_t n = protobuf_c_message_get_packed_size(&m->base);
	Supermesh__ControlMessage *u;
	struct sent *s;

	ck_assert_uint_le(n, sizeof(buf));
	ck_assert_uint_eq(supermesh__control_message__pack(m, buf), n);
	u = supermesh__control_message__unpack(NULL, n, buf);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(u->body_case, SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND);
	ck_assert_uint_eq(u->command->command_id.len, MSG_ID_LEN);
	ck_assert_int_lt(E.nsent, MAX_SENT);
	s = &E.sent[E.nsent++];
	s->target = target;
	memcpy(s->id, u->command->command_id.data, MSG_ID_LEN);
	s->type = u->command->type;
	s->deadline_ms = u->command->deadline_ms;
	ck_assert_uint_le(u->command->payload.len, sizeof(s->payload));
	if (u->command->payload.len)
		memcpy(s->payload, u->command->payload.data, u->command->payload.len);
	s->len = u->command->payload.len;
	supermesh__control_message__free_unpacked(u, NULL);
	return E.transmit_ret;
}

static int quiet_transmit(void *target, const Supermesh__ControlMessage *m)
{
	return 0;
}

static void on_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct done *d;

	ck_assert_int_lt(E.ndone, MAX_DONE);
	d = &E.done[E.ndone++];
	d->arg = arg;
	d->status = status;
	if (status == 0) {
		ck_assert_ptr_nonnull(resp);
		d->ok = resp->ok;
		snprintf(d->error, sizeof(d->error), "%s", resp->error ? resp->error : "");
		ck_assert_uint_le(resp->result.len, sizeof(d->result));
		if (resp->result.len)
			memcpy(d->result, resp->result.data, resp->result.len);
		d->result_len = resp->result.len;
	} else {
		ck_assert_ptr_null(resp);
	}
	if (E.resend_target)
		E.resend_ret = cmd_send(E.s, SUPERMESH__COMMAND_TYPE__DISCONNECT, NULL, 0,
		                        record_transmit, E.resend_target, on_done, NULL, NULL);
	E.resend_target = NULL;
}

static void setup(unsigned timeout_ms, unsigned retries)
{
	struct cmd_sender_opts o = { .timeout_ms = timeout_ms, .retries = retries };

	memset(&E, 0, sizeof(E));
	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	ck_assert_int_eq(uv_timer_init(&E.loop, &E.guard), 0);
	ck_assert_int_eq(cmd_sender_new(&E.loop, &o, &E.s), 0);
}

static void teardown(void)
{
	cmd_sender_free(E.s);
	uv_close((uv_handle_t *)&E.guard, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
}

static void send_one(void *target, void *arg, uint8_t id[MSG_ID_LEN])
{
	static const uint8_t body[] = "setup-exit body";

	ck_assert_int_eq(cmd_send(E.s, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, body, sizeof(body),
	                          record_transmit, target, on_done, arg, id), 0);
}

static int respond(const uint8_t *id, size_t id_len, int ok, const char *error)
{
	Supermesh__CommandResponse r;
	static uint8_t result[] = { 1, 2, 3, 4, 5 };

	supermesh__command_response__init(&r);
	r.command_id.data = (uint8_t *)(uintptr_t)id;
	r.command_id.len = id_len;
	r.ok = ok;
	r.error = (char *)(uintptr_t)error;
	r.result.data = result;
	r.result.len = sizeof(result);
	return cmd_sender_response(E.s, &r);
}

/* Sent at once, resent RETRIES times with the same id a timeout apart, then
 * failed exactly once. */
START_TEST(test_retries_then_timeout)
{
	uint8_t id[MSG_ID_LEN];
	uint64_t start = now_ms();
	int i;

	setup(TIMEOUT_MS, RETRIES);
	send_one(&target_a, &target_a, id);
	ck_assert_int_eq(E.nsent, 1);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 1);
	RUN_UNTIL(E.ndone == 1, 5000);
	ck_assert_uint_ge(now_ms() - start, (RETRIES + 1) * TIMEOUT_MS - 5);
	ck_assert_int_eq(E.done[0].status, -ETIMEDOUT);
	ck_assert_ptr_eq(E.done[0].arg, &target_a);
	ck_assert_int_eq(E.nsent, RETRIES + 1);
	for (i = 0; i < E.nsent; i++) {
		ck_assert_mem_eq(E.sent[i].id, id, MSG_ID_LEN);
		ck_assert_ptr_eq(E.sent[i].target, &target_a);
		ck_assert_int_eq(E.sent[i].type, SUPERMESH__COMMAND_TYPE__SETUP_EXIT);
		ck_assert_uint_eq(E.sent[i].len, sizeof("setup-exit body"));
		ck_assert_mem_eq(E.sent[i].payload, "setup-exit body", E.sent[i].len);
		ck_assert_uint_eq(E.sent[i].deadline_ms, E.sent[0].deadline_ms);
	}
	ck_assert_uint_eq(cmd_sender_pending(E.s), 0);
	run_for(3 * TIMEOUT_MS);
	ck_assert_int_eq(E.nsent, RETRIES + 1);
	ck_assert_int_eq(E.ndone, 1);
	ck_assert_int_eq(respond(id, MSG_ID_LEN, 1, ""), -ENOENT);
	teardown();
}
END_TEST

/* A response after the second send ends it: no more resends, and a late
 * duplicate is not matched. */
START_TEST(test_response_after_resend)
{
	uint8_t id[MSG_ID_LEN];

	setup(TIMEOUT_MS, RETRIES);
	send_one(&target_a, NULL, id);
	RUN_UNTIL(E.nsent == 2, 2000);
	ck_assert_int_eq(E.ndone, 0);
	ck_assert_int_eq(respond(id, MSG_ID_LEN, 0, "no address left"), 0);
	ck_assert_int_eq(E.ndone, 1);
	ck_assert_int_eq(E.done[0].status, 0);
	ck_assert_int_eq(E.done[0].ok, 0);
	ck_assert_str_eq(E.done[0].error, "no address left");
	ck_assert_uint_eq(E.done[0].result_len, 5);
	ck_assert_mem_eq(E.done[0].result, "\1\2\3\4\5", 5);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 0);
	run_for(3 * TIMEOUT_MS);
	ck_assert_int_eq(E.nsent, 2);
	ck_assert_int_eq(E.ndone, 1);
	ck_assert_int_eq(respond(id, MSG_ID_LEN, 1, ""), -ENOENT);
	ck_assert_int_eq(E.ndone, 1);
	teardown();
}
END_TEST

/* Only the exact 16-byte id matches: prefixes, extensions, empty and
 * random ids are unknown. */
START_TEST(test_wrong_ids)
{
	uint8_t id[MSG_ID_LEN], longer[MSG_ID_LEN + 1], other[MSG_ID_LEN];

	setup(5000, 0);
	send_one(&target_a, NULL, id);
	memcpy(longer, id, MSG_ID_LEN);
	longer[MSG_ID_LEN] = 0;
	randombytes_buf(other, sizeof(other));
	ck_assert_int_eq(respond(id, MSG_ID_LEN - 1, 1, ""), -ENOENT);
	ck_assert_int_eq(respond(longer, sizeof(longer), 1, ""), -ENOENT);
	ck_assert_int_eq(respond(NULL, 0, 1, ""), -ENOENT);
	ck_assert_int_eq(respond(other, MSG_ID_LEN, 1, ""), -ENOENT);
	ck_assert_int_eq(cmd_sender_response(E.s, NULL), -EINVAL);
	ck_assert_int_eq(E.ndone, 0);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 1);
	ck_assert_int_eq(respond(id, MSG_ID_LEN, 1, ""), 0);
	ck_assert_int_eq(E.ndone, 1);
	ck_assert_int_eq(E.done[0].ok, 1);
	teardown();
}
END_TEST

START_TEST(test_cancel_target)
{
	uint8_t ida1[MSG_ID_LEN], ida2[MSG_ID_LEN], idb[MSG_ID_LEN];

	setup(5000, 0);
	send_one(&target_a, &target_a, ida1);
	send_one(&target_b, &target_b, idb);
	send_one(&target_a, &target_a, ida2);
	ck_assert_mem_ne(ida1, ida2, MSG_ID_LEN);
	cmd_sender_cancel_target(E.s, &target_a);
	ck_assert_int_eq(E.ndone, 2);
	ck_assert_int_eq(E.done[0].status, -ECANCELED);
	ck_assert_int_eq(E.done[1].status, -ECANCELED);
	ck_assert_ptr_eq(E.done[0].arg, &target_a);
	ck_assert_ptr_eq(E.done[1].arg, &target_a);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 1);
	ck_assert_int_eq(respond(ida1, MSG_ID_LEN, 1, ""), -ENOENT);
	ck_assert_int_eq(respond(idb, MSG_ID_LEN, 1, ""), 0);
	ck_assert_ptr_eq(E.done[2].arg, &target_b);
	ck_assert_int_eq(E.done[2].status, 0);
	cmd_sender_cancel_target(E.s, &target_b); /* nothing left: no callback */
	ck_assert_int_eq(E.ndone, 3);
	teardown();
}
END_TEST

/* A done callback that sends to the same target again during the cancel
 * keeps its new command. */
START_TEST(test_cancel_then_resend)
{
	setup(5000, 0);
	send_one(&target_a, NULL, NULL);
	E.resend_target = &target_a;
	cmd_sender_cancel_target(E.s, &target_a);
	ck_assert_int_eq(E.resend_ret, 0);
	ck_assert_int_eq(E.ndone, 1);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 1);
	ck_assert_int_eq(E.nsent, 2);
	ck_assert_mem_ne(E.sent[0].id, E.sent[1].id, MSG_ID_LEN);
	teardown();
	ck_assert_int_eq(E.ndone, 2);
	ck_assert_int_eq(E.done[1].status, -ECANCELED);
}
END_TEST

/* Free cancels everything at once; a done callback cannot add more. */
START_TEST(test_free_cancels_all)
{
	int i;

	setup(TIMEOUT_MS, RETRIES);
	for (i = 0; i < 3; i++)
		send_one(i ? &target_a : &target_b, NULL, NULL);
	E.resend_target = &target_b;
	cmd_sender_free(E.s);
	ck_assert_int_eq(E.ndone, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(E.done[i].status, -ECANCELED);
	ck_assert_int_eq(E.resend_ret, -ECANCELED);
	E.s = NULL;
	teardown();
	ck_assert_int_eq(E.nsent, 3);
	ck_assert_int_eq(E.ndone, 3);
}
END_TEST

/* A failed transmit is an attempt: it is retried, and the command still
 * times out after the last one. */
START_TEST(test_transmit_failure_retries)
{
	uint8_t id[MSG_ID_LEN];
	int i;

	setup(TIMEOUT_MS, 2);
	E.transmit_ret = -EPIPE;
	send_one(&target_a, NULL, id);
	ck_assert_int_eq(E.nsent, 1);
	ck_assert_int_eq(E.ndone, 0);
	RUN_UNTIL(E.ndone == 1, 5000);
	ck_assert_int_eq(E.done[0].status, -ETIMEDOUT);
	ck_assert_int_eq(E.nsent, 3);
	for (i = 0; i < E.nsent; i++)
		ck_assert_mem_eq(E.sent[i].id, id, MSG_ID_LEN);
	teardown();
}
END_TEST

/* The deadline is the sender's wall clock at which it gives up. */
START_TEST(test_deadline)
{
	uint64_t before, after;

	setup(TIMEOUT_MS, RETRIES);
	before = clock_wall_ms();
	send_one(&target_a, NULL, NULL);
	after = clock_wall_ms();
	ck_assert_uint_ge(E.sent[0].deadline_ms, before + TIMEOUT_MS * (RETRIES + 1));
	ck_assert_uint_le(E.sent[0].deadline_ms, after + TIMEOUT_MS * (RETRIES + 1));
	teardown();
}
END_TEST

static int send_raw(int type, const uint8_t *payload, size_t len, cmd_transmit_fn fn)
{
	return cmd_send(E.s, (Supermesh__CommandType)type, payload, len, fn, NULL, on_done,
	                NULL, NULL);
}

START_TEST(test_bad_send)
{
	static uint8_t big[MSG_MAX + 1];

	setup(TIMEOUT_MS, RETRIES);
	ck_assert_int_eq(send_raw(0, NULL, 0, record_transmit), -EINVAL); /* unspecified */
	ck_assert_int_eq(send_raw(99, NULL, 0, record_transmit), -EINVAL);
	ck_assert_int_eq(send_raw(4, NULL, 3, record_transmit), -EINVAL);
	ck_assert_int_eq(send_raw(4, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(send_raw(3, big, sizeof(big), record_transmit), -EMSGSIZE);
	/* Fits as a payload, not once wrapped in a Command. */
	ck_assert_int_eq(send_raw(3, big, MSG_MAX - 4, record_transmit), -EMSGSIZE);
	ck_assert_int_eq(E.nsent, 0);
	ck_assert_int_eq(E.ndone, 0);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 0);
	/* An empty payload (a Disconnect with default fields) is fine. */
	ck_assert_int_eq(send_raw(SUPERMESH__COMMAND_TYPE__DISCONNECT, NULL, 0, record_transmit), 0);
	ck_assert_int_eq(E.nsent, 1);
	ck_assert_uint_eq(E.sent[0].len, 0);
	teardown();
}
END_TEST

/* Many pending commands (the table grows) each match their own response
 * exactly once, answered in a permutation unrelated to sending order. */
START_TEST(test_many_pending)
{
	static uint8_t ids[1000][MSG_ID_LEN];
	uintptr_t i;

	setup(5000, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(cmd_send(E.s, SUPERMESH__COMMAND_TYPE__ROTATE_PEER, NULL, 0,
		                          quiet_transmit, NULL, on_done, (void *)(i + 1),
		                          ids[i]), 0);
	ck_assert_uint_eq(cmd_sender_pending(E.s), 1000);
	for (i = 0; i < 1000; i++) {
		uintptr_t k = (i * 617) % 1000; /* 617 is prime to 1000 */

		ck_assert_int_eq(respond(ids[k], MSG_ID_LEN, 1, ""), 0);
		ck_assert_int_eq(respond(ids[k], MSG_ID_LEN, 1, ""), -ENOENT);
		ck_assert_ptr_eq(E.done[i].arg, (void *)(k + 1));
	}
	ck_assert_uint_eq(cmd_sender_pending(E.s), 0);
	teardown();
}
END_TEST

/* ---- journal ---- */

static char dir[64], path[128];

static void journal_setup(struct state *st)
{
	snprintf(dir, sizeof(dir), "/tmp/test_command.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	ck_assert_int_eq(state_open(st, path, CMD_JOURNAL_SCHEMA, NULL, 0), 0);
}

static void journal_teardown(struct state *st)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[160];
	int i;

	state_close(st);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

static void assert_same(const struct cmd_outcome *a, const struct cmd_outcome *b)
{
	ck_assert_int_eq(a->ok, b->ok);
	ck_assert_str_eq(a->error, b->error);
	ck_assert_uint_eq(a->result_len, b->result_len);
	ck_assert_mem_eq(a->result, b->result, a->result_len);
}

START_TEST(test_journal_roundtrip)
{
	static struct cmd_outcome o1, o2, got;
	uint8_t id1[MSG_ID_LEN], id2[MSG_ID_LEN], id3[MSG_ID_LEN];
	struct state st;

	journal_setup(&st);
	msg_new_id(id1);
	msg_new_id(id2);
	msg_new_id(id3);
	o1.ok = 1;
	randombytes_buf(o1.result, sizeof(o1.result));
	o1.result_len = sizeof(o1.result);
	o2.ok = 0;
	snprintf(o2.error, sizeof(o2.error), "exit pool exhausted");
	ck_assert_int_eq(cmd_journal_find(&st, id1, &got), 0);
	ck_assert_int_eq(cmd_journal_store(&st, id1, &o1), 0);
	ck_assert_int_eq(cmd_journal_store(&st, id2, &o2), 0);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_int_eq(cmd_journal_find(&st, id1, &got), 1);
	assert_same(&got, &o1);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_int_eq(cmd_journal_find(&st, id2, &got), 1);
	assert_same(&got, &o2);
	ck_assert_int_eq(cmd_journal_find(&st, id3, &got), 0);
	/* Storing again replaces. */
	ck_assert_int_eq(cmd_journal_store(&st, id2, &o1), 0);
	ck_assert_int_eq(cmd_journal_find(&st, id2, &got), 1);
	assert_same(&got, &o1);
	journal_teardown(&st);
}
END_TEST

/* Oversized results are refused; an unterminated error is cut inside its
 * array without splitting a UTF-8 character. */
START_TEST(test_journal_lengths)
{
	static struct cmd_outcome o, got;
	uint8_t id[MSG_ID_LEN];
	struct state st;

	journal_setup(&st);
	msg_new_id(id);
	o.result_len = sizeof(o.result) + 1;
	ck_assert_int_eq(cmd_journal_store(&st, id, &o), -EINVAL);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), 0);
	o.result_len = 0;
	memset(o.error, 'a', sizeof(o.error));
	ck_assert_int_eq(cmd_journal_store(&st, id, &o), 0);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), 1);
	ck_assert_uint_eq(strlen(got.error), sizeof(o.error) - 1);
	/* "...aé" with the é on the last two bytes: the é goes whole. */
	o.error[sizeof(o.error) - 2] = (char)0xc3;
	o.error[sizeof(o.error) - 1] = (char)0xa9;
	ck_assert_int_eq(cmd_journal_store(&st, id, &o), 0);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), 1);
	ck_assert_uint_eq(strlen(got.error), sizeof(o.error) - 2);
	ck_assert_int_eq(got.error[sizeof(o.error) - 3], 'a');
	/* A row too big for an outcome (written behind our back) is an error. */
	ck_assert_int_eq(state_exec(&st, "UPDATE applied_commands SET result = zeroblob(4097)"), 0);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), -EIO);
	journal_teardown(&st);
}
END_TEST

START_TEST(test_journal_expire)
{
	static struct cmd_outcome o, got;
	uint8_t old[MSG_ID_LEN], fresh[MSG_ID_LEN];
	struct state st;

	journal_setup(&st);
	msg_new_id(old);
	msg_new_id(fresh);
	o.ok = 1;
	ck_assert_int_eq(cmd_journal_store(&st, old, &o), 0);
	ck_assert_int_eq(state_exec(&st, "UPDATE applied_commands SET at = at - 1000"), 0);
	ck_assert_int_eq(cmd_journal_store(&st, fresh, &o), 0);
	ck_assert_int_eq(cmd_journal_expire(&st, 2000), 0);
	ck_assert_int_eq(cmd_journal_find(&st, old, &got), 1);
	ck_assert_int_eq(cmd_journal_expire(&st, 500), 0);
	ck_assert_int_eq(cmd_journal_find(&st, old, &got), 0);
	ck_assert_int_eq(cmd_journal_find(&st, fresh, &got), 1);
	ck_assert_int_eq(cmd_journal_expire(&st, -1), -EINVAL);
	journal_teardown(&st);
}
END_TEST

/* What was applied before a restart is still known after it. */
START_TEST(test_journal_persists)
{
	static struct cmd_outcome o, got;
	uint8_t id[MSG_ID_LEN];
	struct state st;

	journal_setup(&st);
	msg_new_id(id);
	o.ok = 1;
	snprintf(o.error, sizeof(o.error), "kept");
	memcpy(o.result, "\x0a\x0b" "10.200.0.5/32", 15);
	o.result_len = 15;
	ck_assert_int_eq(cmd_journal_store(&st, id, &o), 0);
	state_close(&st);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), -EINVAL);
	ck_assert_int_eq(state_open(&st, path, CMD_JOURNAL_SCHEMA, NULL, 0), 0);
	ck_assert_int_eq(cmd_journal_find(&st, id, &got), 1);
	assert_same(&got, &o);
	journal_teardown(&st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("command");
	TCase *tc = tcase_create("sender");
	TCase *tj = tcase_create("journal");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, test_retries_then_timeout);
	tcase_add_test(tc, test_response_after_resend);
	tcase_add_test(tc, test_wrong_ids);
	tcase_add_test(tc, test_cancel_target);
	tcase_add_test(tc, test_cancel_then_resend);
	tcase_add_test(tc, test_free_cancels_all);
	tcase_add_test(tc, test_transmit_failure_retries);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_bad_send);
	tcase_add_test(tc, test_many_pending);
	suite_add_tcase(s, tc);
	tcase_add_test(tj, test_journal_roundtrip);
	tcase_add_test(tj, test_journal_lengths);
	tcase_add_test(tj, test_journal_expire);
	tcase_add_test(tj, test_journal_persists);
	suite_add_tcase(s, tj);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

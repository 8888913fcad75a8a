/* supernoded's peer registry without a network: lookups through the index,
 * the exits list (kept in the peer list's order through role changes and
 * frees), and the per-client session count behind SESS_PER_CLIENT_MAX. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "handshake.pb-c.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"

static uv_loop_t loop;

static struct supernoded *sn_new(void)
{
	struct supernoded *sn = calloc(1, sizeof(*sn));

	ck_assert_ptr_nonnull(sn);
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	sn->loop = &loop;
	peer_index_init(&sn->peer_ix, offsetof(struct sn_peer, id));
	session_list_init(sn);
	return sn;
}

static void sn_free(struct supernoded *sn)
{
	session_free_all(sn);
	peer_free_all(sn);
	free(sn);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static struct sn_peer *get(struct supernoded *sn, uint32_t i)
{
	uint8_t id[ID_PK_LEN] = { 0 };
	struct sn_peer *p;

	memcpy(id + 3, &i, sizeof(i));
	ck_assert_ptr_nonnull(p = peer_get(sn, id));
	return p;
}

/* The exits list must be exactly sn->peers filtered on role EXIT. */
static void check_exits(struct supernoded *sn, size_t want)
{
	struct sn_peer *p, *e = sn->exits;
	size_t n = 0;

	for (p = sn->peers; p; p = p->next) {
		if (p->role != SUPERMESH__ROLE__ROLE_EXIT)
			continue;
		ck_assert_ptr_eq(e, p);
		ck_assert_ptr_eq(e->exit_next ? e->exit_next->exit_prev : e, e);
		e = e->exit_next;
		n++;
	}
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(n, want);
}

#define NPEERS 3000

START_TEST(find_get_free)
{
	struct supernoded *sn = sn_new();
	static uint8_t id[NPEERS][ID_PK_LEN];
	struct sn_peer *p[NPEERS];
	uint32_t i;

	for (i = 0; i < NPEERS; i++) {
		p[i] = get(sn, i);
		memcpy(id[i], p[i]->id, ID_PK_LEN);
	}
	for (i = 0; i < NPEERS; i++) {
		ck_assert_ptr_eq(get(sn, i), p[i]);
		ck_assert_ptr_eq(peer_find(sn, p[i]->id), p[i]);
	}
	ck_assert_uint_eq(peer_count(sn, 0, 0), NPEERS);
	for (i = 0; i < NPEERS; i += 3)
		peer_maybe_free(p[i]);
	ck_assert_uint_eq(peer_count(sn, 0, 0), NPEERS - NPEERS / 3);
	for (i = 0; i < NPEERS; i++)
		if (i % 3)
			ck_assert_ptr_eq(peer_find(sn, id[i]), p[i]);
		else
			ck_assert_ptr_null(peer_find(sn, id[i]));
	sn_free(sn);
}
END_TEST

START_TEST(exits_follow_roles)
{
	struct supernoded *sn = sn_new();
	struct sn_peer *p[8];
	uint32_t i;

	for (i = 0; i < 8; i++)
		p[i] = get(sn, i);
	/* made exits out of order: the list is still in creation order */
	peer_set_role(p[2], SUPERMESH__ROLE__ROLE_EXIT);
	peer_set_role(p[7], SUPERMESH__ROLE__ROLE_EXIT);
	peer_set_role(p[0], SUPERMESH__ROLE__ROLE_EXIT);
	peer_set_role(p[5], SUPERMESH__ROLE__ROLE_EXIT);
	peer_set_role(p[5], SUPERMESH__ROLE__ROLE_EXIT);
	check_exits(sn, 4);
	ck_assert_ptr_eq(sn->exits, p[7]);
	peer_set_role(p[5], SUPERMESH__ROLE__ROLE_CLIENT);
	peer_set_role(p[3], SUPERMESH__ROLE__ROLE_SUPERNODE);
	check_exits(sn, 3);
	peer_maybe_free(p[7]);
	peer_maybe_free(p[0]);
	check_exits(sn, 1);
	ck_assert_ptr_eq(sn->exits, p[2]);
	/* a new peer is newest: an exit it becomes goes first */
	p[0] = get(sn, 100);
	peer_set_role(p[0], SUPERMESH__ROLE__ROLE_EXIT);
	check_exits(sn, 2);
	ck_assert_ptr_eq(sn->exits, p[0]);
	sn_free(sn);
}
END_TEST

static struct sn_session *sess(struct supernoded *sn, uint8_t tag, int kind)
{
	uint8_t id[MSG_ID_LEN];
	struct sn_session *s;

	memset(id, tag, sizeof(id));
	ck_assert_ptr_nonnull(s = session_new(sn, id, kind));
	return s;
}

START_TEST(client_session_count)
{
	struct supernoded *sn = sn_new();
	struct sn_peer *c = get(sn, 1), *d = get(sn, 2);
	struct sn_session *s1 = sess(sn, 1, SESS_LOCAL), *s2 = sess(sn, 2, SESS_ORIGIN);
	struct sn_session *s3 = sess(sn, 3, SESS_SERVE), *s4 = sess(sn, 4, SESS_LOCAL);
	uint8_t id[ID_PK_LEN];

	memcpy(id, c->id, ID_PK_LEN);
	ck_assert_uint_eq(session_count_client(sn, id), 0);
	session_set_client(s1, c);
	session_set_client(s2, c);
	session_set_client(s2, c);   /* counted once */
	session_set_client(s3, c);   /* served for another supernode: not ours */
	session_set_client(s4, d);
	ck_assert_uint_eq(session_count_client(sn, id), 2);
	ck_assert_uint_eq(session_count_client(sn, d->id), 1);
	/* its sessions keep the client's peer, and so its count */
	peer_maybe_free(c);
	ck_assert_ptr_eq(peer_find(sn, id), c);
	session_hold(s1);            /* a callback in flight keeps it */
	session_end(s1, "test");
	session_end(s1, "test");     /* ended twice: uncounted once */
	ck_assert_uint_eq(session_count_client(sn, id), 1);
	session_set_client(s1, c);   /* ended: counts no more */
	ck_assert_uint_eq(session_count_client(sn, id), 1);
	session_release(s1);
	session_teardown(s2, "test");
	session_end(s3, "test");
	ck_assert_uint_eq(session_count_client(sn, id), 0);
	peer_maybe_free(c);
	ck_assert_ptr_null(peer_find(sn, id));
	ck_assert_uint_eq(session_count_client(sn, id), 0);
	ck_assert_uint_eq(session_count_client(sn, d->id), 1);
	sn_free(sn);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_peer");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, find_get_free);
	tcase_add_test(tc, exits_follow_roles);
	tcase_add_test(tc, client_session_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

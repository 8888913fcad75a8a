/* supernoded's peer index: find/add/del, duplicates, growth by doubling,
 * and random adds and deletes checked against a plain array. */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "../../supernoded/peer_index.h"

struct obj {
	int tag;                  /* the id is not at offset 0, as in sn_peer */
	uint8_t id[ID_PK_LEN];
};

static void make_id(uint8_t id[ID_PK_LEN], uint32_t i)
{
	memset(id, 0, ID_PK_LEN);
	/* ids differing in one word only: similar keys must still spread */
	memcpy(id + 7, &i, sizeof(i));
}

static void ix_init(struct peer_index *ix)
{
	ck_assert_int_ge(sodium_init(), 0);
	peer_index_init(ix, offsetof(struct obj, id));
}

START_TEST(add_find_del)
{
	struct peer_index ix;
	struct obj a = { 1, { 0 } }, b = { 2, { 0 } }, a2 = { 3, { 0 } };

	ix_init(&ix);
	make_id(a.id, 1);
	make_id(b.id, 2);
	memcpy(a2.id, a.id, ID_PK_LEN);
	ck_assert_ptr_null(peer_index_find(&ix, a.id));
	ck_assert_int_eq(peer_index_del(&ix, a.id), -ENOENT);
	ck_assert_int_eq(peer_index_add(&ix, &a), 0);
	ck_assert_int_eq(peer_index_add(&ix, &b), 0);
	ck_assert_int_eq(peer_index_add(&ix, &a2), -EEXIST);
	ck_assert_ptr_eq(peer_index_find(&ix, a.id), &a);
	ck_assert_ptr_eq(peer_index_find(&ix, b.id), &b);
	ck_assert_uint_eq(ix.n, 2);
	ck_assert_int_eq(peer_index_del(&ix, a.id), 0);
	ck_assert_ptr_null(peer_index_find(&ix, a.id));
	ck_assert_ptr_eq(peer_index_find(&ix, b.id), &b);
	ck_assert_int_eq(peer_index_del(&ix, a.id), -ENOENT);
	/* the same id may come back as another object */
	ck_assert_int_eq(peer_index_add(&ix, &a2), 0);
	ck_assert_ptr_eq(peer_index_find(&ix, a.id), &a2);
	peer_index_release(&ix);
	ck_assert_ptr_null(peer_index_find(&ix, b.id));
	ck_assert_int_eq(peer_index_add(&ix, &b), 0);
	ck_assert_ptr_eq(peer_index_find(&ix, b.id), &b);
	peer_index_release(&ix);
}
END_TEST

/* Sessions are indexed by 16-byte ids: only those bytes make the key. */
START_TEST(shorter_ids)
{
	struct peer_index ix;
	struct obj a = { 1, { 0 } }, b = { 2, { 0 } }, c = { 3, { 0 } };

	ck_assert_int_ge(sodium_init(), 0);
	peer_index_init_len(&ix, offsetof(struct obj, id), 16);
	memset(a.id, 0xaa, sizeof(a.id));
	memcpy(b.id, a.id, sizeof(b.id));
	b.id[20] = 0x55; /* past the key: the same id as a */
	memcpy(c.id, a.id, sizeof(c.id));
	c.id[15] = 0x55; /* the key's last byte: another id */
	ck_assert_int_eq(peer_index_add(&ix, &a), 0);
	ck_assert_int_eq(peer_index_add(&ix, &b), -EEXIST);
	ck_assert_int_eq(peer_index_add(&ix, &c), 0);
	ck_assert_ptr_eq(peer_index_find(&ix, b.id), &a);
	ck_assert_ptr_eq(peer_index_find(&ix, c.id), &c);
	ck_assert_int_eq(peer_index_del(&ix, b.id), 0);
	ck_assert_ptr_null(peer_index_find(&ix, a.id));
	ck_assert_ptr_eq(peer_index_find(&ix, c.id), &c);
	peer_index_release(&ix);
}
END_TEST

START_TEST(keys_are_random)
{
	struct peer_index a, b;

	ix_init(&a);
	ix_init(&b);
	ck_assert_int_ne(memcmp(a.key, b.key, sizeof(a.key)), 0);
}
END_TEST

#define MANY 20000

START_TEST(grows_by_doubling)
{
	struct peer_index ix;
	struct obj *o = calloc(MANY, sizeof(*o));
	size_t i, cap = 0, grew = 0;

	ck_assert_ptr_nonnull(o);
	ix_init(&ix);
	for (i = 0; i < MANY; i++) {
		o[i].tag = (int)i;
		make_id(o[i].id, (uint32_t)i);
		ck_assert_int_eq(peer_index_add(&ix, &o[i]), 0);
		if (ix.cap != cap) {
			ck_assert(cap == 0 || ix.cap == 2 * cap);
			cap = ix.cap;
			grew++;
		}
		ck_assert_uint_le(2 * ix.n, ix.cap);
	}
	ck_assert_uint_eq(ix.n, MANY);
	ck_assert_uint_eq(ix.cap, 65536);
	ck_assert_uint_ge(grew, 8);
	for (i = 0; i < MANY; i++)
		ck_assert_ptr_eq(peer_index_find(&ix, o[i].id), &o[i]);
	/* every other one gone; the rest still found past the holes */
	for (i = 0; i < MANY; i += 2)
		ck_assert_int_eq(peer_index_del(&ix, o[i].id), 0);
	ck_assert_uint_eq(ix.n, MANY / 2);
	for (i = 0; i < MANY; i++)
		ck_assert_ptr_eq(peer_index_find(&ix, o[i].id), i % 2 ? &o[i] : NULL);
	peer_index_release(&ix);
	free(o);
}
END_TEST

#define POOL 40
#define ROUNDS 200000

/*
 * A table of 64 slots held between 16 and 32 full for many random adds and
 * deletes: runs form, wrap past the end and are cut in the middle, which is
 * where backward-shift deletion goes wrong if it does. An array is the truth.
 */
START_TEST(random_against_model)
{
	struct peer_index ix;
	struct obj o[POOL];
	int in[POOL] = { 0 };
	size_t i, k, n = 0;

	ix_init(&ix);
	srandom(12345);
	for (i = 0; i < POOL; i++)
		make_id(o[i].id, (uint32_t)(i * 7919));
	for (i = 0; i < ROUNDS; i++) {
		k = (size_t)random() % POOL;
		if (in[k] || n == 32) {
			ck_assert_int_eq(peer_index_del(&ix, o[k].id), in[k] ? 0 : -ENOENT);
			n -= (size_t)in[k];
			in[k] = 0;
		} else {
			ck_assert_int_eq(peer_index_add(&ix, &o[k]), 0);
			in[k] = 1;
			n++;
		}
		ck_assert_uint_eq(ix.n, n);
		if (i % 97 == 0)
			for (k = 0; k < POOL; k++)
				ck_assert_ptr_eq(peer_index_find(&ix, o[k].id), in[k] ? &o[k] : NULL);
	}
	ck_assert_uint_eq(ix.cap, 64);
	peer_index_release(&ix);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_peer_index");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, add_find_del);
	tcase_add_test(tc, shorter_ids);
	tcase_add_test(tc, keys_are_random);
	tcase_add_test(tc, grows_by_doubling);
	tcase_add_test(tc, random_against_model);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* basenoded's directory, pure: attach/replace/detach, register and load,
 * staleness, answers by region sorted by load, and the blacklist. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../basenoded/directory.h"

/* Distinct fake owners: the directory never dereferences them. */
static int owner_a, owner_b, owner_c, owner_d;

static void id_of(uint8_t id[ID_PK_LEN], uint8_t n)
{
	memset(id, n, ID_PK_LEN);
}

static void info_of(struct dir_info *i, const char *region, uint32_t capacity)
{
	memset(i, 0, sizeof(*i));
	snprintf(i->region, sizeof(i->region), "%s", region);
	snprintf(i->public_address, sizeof(i->public_address), "10.0.0.1:7100");
	i->capacity = capacity;
}

/* Attaches and registers id n, owned by owner, at now. */
static void add(struct directory *d, uint8_t n, void *owner, const char *region,
                uint64_t now)
{
	uint8_t id[ID_PK_LEN];
	struct dir_info info;
	void *replaced = &replaced;

	id_of(id, n);
	info_of(&info, region, 100);
	ck_assert_int_eq(directory_attach(d, id, owner, now, &replaced), 0);
	ck_assert_ptr_null(replaced);
	ck_assert_int_eq(directory_register(d, id, owner, &info), 0);
}

static void report(struct directory *d, uint8_t n, void *owner, uint32_t streams,
                   uint32_t cpu)
{
	uint8_t id[ID_PK_LEN];
	struct dir_load load = { .streams = streams, .cpu_pct = cpu };

	id_of(id, n);
	ck_assert_int_eq(directory_report(d, id, owner, &load), 0);
}

START_TEST(region_filters_and_skips_unregistered)
{
	struct directory d;
	struct dir_entry *out[8];
	uint8_t id[ID_PK_LEN];
	void *replaced;

	directory_init(&d);
	add(&d, 1, &owner_a, "eu", 1);
	add(&d, 2, &owner_b, "us", 2);
	id_of(id, 3);
	/* Attached but never registered: not an answer yet. */
	ck_assert_int_eq(directory_attach(&d, id, &owner_c, 3, &replaced), 0);
	ck_assert_uint_eq(directory_region(&d, "us", out, 8), 1);
	ck_assert_uint_eq(out[0]->id[0], 2);
	ck_assert_str_eq(out[0]->info.region, "us");
	ck_assert_uint_eq(directory_region(&d, "eu", out, 8), 1);
	ck_assert_uint_eq(out[0]->id[0], 1);
	ck_assert_uint_eq(directory_region(&d, "asia", out, 8), 0);
	ck_assert_uint_eq(directory_region(&d, "", out, 8), 2);
	ck_assert_uint_eq(directory_region(&d, NULL, out, 1), 1);
	ck_assert_uint_eq(d.n, 3);
	directory_release(&d);
}
END_TEST

START_TEST(new_stream_replaces_old)
{
	struct directory d;
	struct dir_entry *out[4];
	struct dir_info info;
	uint8_t id[ID_PK_LEN];
	void *replaced = NULL;

	directory_init(&d);
	info_of(&info, "eu", 1);
	add(&d, 7, &owner_a, "eu", 1);
	id_of(id, 7);
	ck_assert_int_eq(directory_attach(&d, id, &owner_b, 5, &replaced), 0);
	ck_assert_ptr_eq(replaced, &owner_a);
	ck_assert_uint_eq(d.n, 1);
	/* The new stream must register again before it is an answer. */
	ck_assert_uint_eq(directory_region(&d, "eu", out, 4), 0);
	ck_assert_ptr_eq(directory_find(&d, id)->owner, &owner_b);
	/* The old stream closing later leaves its successor alone. */
	ck_assert_int_eq(directory_detach(&d, id, &owner_a), -ENOENT);
	ck_assert_int_eq(directory_register(&d, id, &owner_a, &info), -ENOENT);
	ck_assert_ptr_nonnull(directory_find(&d, id));
	ck_assert_int_eq(directory_detach(&d, id, &owner_b), 0);
	ck_assert_ptr_null(directory_find(&d, id));
	ck_assert_uint_eq(d.n, 0);
	directory_release(&d);
}
END_TEST

START_TEST(sorted_by_load_then_age)
{
	struct directory d;
	struct dir_entry *out[8];

	directory_init(&d);
	add(&d, 1, &owner_a, "eu", 10);
	add(&d, 2, &owner_b, "eu", 20);
	add(&d, 3, &owner_c, "eu", 30);
	add(&d, 4, &owner_d, "eu", 40);
	report(&d, 1, &owner_a, 90, 0);  /* 90 of 100 streams: 90% */
	report(&d, 2, &owner_b, 10, 50); /* cpu wins: 50% */
	report(&d, 3, &owner_c, 5, 0);   /* 5% */
	report(&d, 4, &owner_d, 0, 50);  /* 50%, registered after 2 */
	ck_assert_uint_eq(directory_region(&d, "eu", out, 8), 4);
	ck_assert_uint_eq(out[0]->id[0], 3);
	ck_assert_uint_eq(out[0]->load_pct, 5);
	ck_assert_uint_eq(out[1]->id[0], 2);
	ck_assert_uint_eq(out[2]->id[0], 4);
	ck_assert_uint_eq(out[3]->id[0], 1);
	ck_assert_uint_eq(out[3]->load_pct, 90);
	/* A cap keeps the least loaded. */
	ck_assert_uint_eq(directory_region(&d, "eu", out, 2), 2);
	ck_assert_uint_eq(out[0]->id[0], 3);
	ck_assert_uint_eq(out[1]->id[0], 2);
	directory_release(&d);
}
END_TEST

START_TEST(load_pct_definition)
{
	struct dir_info info;
	struct dir_load load = { .streams = 30, .cpu_pct = 20 };

	info_of(&info, "eu", 60);
	ck_assert_uint_eq(dir_load_pct(&info, &load), 50);
	load.cpu_pct = 70;
	ck_assert_uint_eq(dir_load_pct(&info, &load), 70);
	load.streams = 600; /* over capacity */
	ck_assert_uint_eq(dir_load_pct(&info, &load), 100);
	info.capacity = 0;  /* streams do not count */
	ck_assert_uint_eq(dir_load_pct(&info, &load), 70);
	load.cpu_pct = 250;
	ck_assert_uint_eq(dir_load_pct(&info, &load), 100);
}
END_TEST

START_TEST(report_needs_registration)
{
	struct directory d;
	struct dir_load load = { 0 };
	uint8_t id[ID_PK_LEN];
	void *replaced;

	directory_init(&d);
	id_of(id, 9);
	ck_assert_int_eq(directory_report(&d, id, &owner_a, &load), -ENOENT);
	ck_assert_int_eq(directory_attach(&d, id, &owner_a, 1, &replaced), 0);
	ck_assert_int_eq(directory_report(&d, id, &owner_a, &load), -EPROTO);
	ck_assert_int_eq(directory_report(&d, id, &owner_b, &load), -ENOENT);
	directory_release(&d);
}
END_TEST

START_TEST(stale_entries_found)
{
	struct directory d;
	void *owners[4];
	uint8_t id[ID_PK_LEN];

	directory_init(&d);
	add(&d, 1, &owner_a, "eu", 1000);
	add(&d, 2, &owner_b, "eu", 1000);
	id_of(id, 2);
	directory_touch(&d, id, &owner_b, 20000);
	/* A touch from a stream that does not hold the id changes nothing. */
	id_of(id, 1);
	directory_touch(&d, id, &owner_c, 20000);
	ck_assert_uint_eq(directory_stale(&d, 30000, 30000, owners, 4), 0);
	ck_assert_uint_eq(directory_stale(&d, 31001, 30000, owners, 4), 1);
	ck_assert_ptr_eq(owners[0], &owner_a);
	ck_assert_uint_eq(directory_stale(&d, 60000, 30000, owners, 4), 2);
	ck_assert_uint_eq(directory_stale(&d, 60000, 30000, owners, 1), 1);
	directory_release(&d);
}
END_TEST

START_TEST(blacklist_refuses_and_hides)
{
	struct directory d;
	struct dir_entry *out[4];
	uint8_t id[ID_PK_LEN];
	void *live = NULL, *replaced;

	directory_init(&d);
	add(&d, 5, &owner_a, "eu", 1);
	add(&d, 6, &owner_b, "eu", 2);
	id_of(id, 5);
	ck_assert_int_eq(directory_blacklist_add(&d, id, &live), 0);
	ck_assert_ptr_eq(live, &owner_a);
	ck_assert_int_eq(directory_is_blacklisted(&d, id), 1);
	ck_assert_int_eq(directory_blacklist_add(&d, id, &live), -EEXIST);
	/* Dropped from answers at once, before its stream is gone. */
	ck_assert_uint_eq(directory_region(&d, "eu", out, 4), 1);
	ck_assert_uint_eq(out[0]->id[0], 6);
	ck_assert_int_eq(directory_detach(&d, id, &owner_a), 0);
	ck_assert_int_eq(directory_attach(&d, id, &owner_c, 3, &replaced), -EPERM);
	ck_assert_ptr_null(directory_find(&d, id));
	ck_assert_int_eq(directory_blacklist_del(&d, id), 0);
	ck_assert_int_eq(directory_blacklist_del(&d, id), -ENOENT);
	ck_assert_int_eq(directory_attach(&d, id, &owner_c, 3, &replaced), 0);
	/* An id with no live stream can be blacklisted too. */
	id_of(id, 8);
	ck_assert_int_eq(directory_blacklist_add(&d, id, &live), 0);
	ck_assert_ptr_null(live);
	directory_release(&d);
}
END_TEST

START_TEST(many_entries_grow)
{
	struct directory d;
	struct dir_entry **out = calloc(300, sizeof(*out));
	uint8_t id[ID_PK_LEN];
	void *replaced;
	int i;

	directory_init(&d);
	for (i = 0; i < 300; i++) {
		id_of(id, 0);
		id[0] = (uint8_t)i;
		id[1] = (uint8_t)(i >> 8);
		ck_assert_int_eq(directory_attach(&d, id, &out[i], (uint64_t)i, &replaced), 0);
		ck_assert_ptr_null(replaced);
	}
	ck_assert_uint_eq(d.n, 300);
	for (i = 0; i < 300; i += 2) {
		id_of(id, 0);
		id[0] = (uint8_t)i;
		id[1] = (uint8_t)(i >> 8);
		ck_assert_int_eq(directory_detach(&d, id, &out[i]), 0);
	}
	ck_assert_uint_eq(d.n, 150);
	id_of(id, 0);
	id[0] = 1;
	ck_assert_ptr_eq(directory_find(&d, id)->owner, &out[1]);
	free(out);
	directory_release(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("basenoded_directory");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, region_filters_and_skips_unregistered);
	tcase_add_test(tc, new_stream_replaces_old);
	tcase_add_test(tc, sorted_by_load_then_age);
	tcase_add_test(tc, load_pct_definition);
	tcase_add_test(tc, report_needs_registration);
	tcase_add_test(tc, stale_entries_found);
	tcase_add_test(tc, blacklist_refuses_and_hides);
	tcase_add_test(tc, many_entries_grow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

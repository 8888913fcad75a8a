/* Peer id sets: add/has/del, ids as base64 or hex, and the allow-list text
 * and file (comments, blanks, CRLF, the failing line's number, nothing
 * changed on error, the size cap). */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "idset.h"

static struct id_set set;

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
	memset(&set, 0, sizeof(set));
}

static void teardown(void)
{
	id_set_release(&set);
}

static const uint8_t *id_of(uint8_t n)
{
	static uint8_t id[ID_PK_LEN];

	memset(id, n, sizeof(id));
	return id;
}

START_TEST(add_has_del)
{
	int i;

	for (i = 1; i <= 40; i++)
		ck_assert_int_eq(id_set_add(&set, id_of((uint8_t)i)), 0);
	ck_assert_uint_eq(set.n, 40);
	ck_assert_int_eq(id_set_add(&set, id_of(7)), -EEXIST);
	ck_assert_int_eq(id_set_has(&set, id_of(7)), 1);
	ck_assert_int_eq(id_set_has(&set, id_of(41)), 0);
	ck_assert_int_eq(id_set_del(&set, id_of(7)), 0);
	ck_assert_int_eq(id_set_del(&set, id_of(7)), -ENOENT);
	ck_assert_int_eq(id_set_has(&set, id_of(7)), 0);
	/* The ones after the hole moved down, none lost. */
	ck_assert_uint_eq(set.n, 39);
	ck_assert_mem_eq(set.ids[6], id_of(8), ID_PK_LEN);
	ck_assert_int_eq(id_set_has(&set, id_of(40)), 1);
	id_set_release(&set);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_int_eq(id_set_add(&set, id_of(1)), 0);
}
END_TEST

/* Moved from test_basenoded_policy.c with the parser. */
START_TEST(id_text_forms)
{
	uint8_t id[ID_PK_LEN], want[ID_PK_LEN];
	char b64[KEY_B64_LEN], hex[2 * ID_PK_LEN + 1];

	randombytes_buf(want, sizeof(want));
	key_to_base64(want, b64);
	bytes_to_hex(want, ID_PK_LEN, hex);
	ck_assert_int_eq(id_parse(b64, id), 0);
	ck_assert_mem_eq(id, want, ID_PK_LEN);
	memset(id, 0, sizeof(id));
	ck_assert_int_eq(id_parse(hex, id), 0);
	ck_assert_mem_eq(id, want, ID_PK_LEN);
	hex[10] = 'g';
	ck_assert_int_eq(id_parse(hex, id), -EINVAL);
	ck_assert_int_eq(id_parse("", id), -EINVAL);
	ck_assert_int_eq(id_parse("abc", id), -EINVAL);
	b64[10] = '\0';
	ck_assert_int_eq(id_parse(b64, id), -EINVAL);
}
END_TEST

START_TEST(parse_text)
{
	char text[512], b64[KEY_B64_LEN], hex[2 * ID_PK_LEN + 1], err[128] = "";

	key_to_base64(id_of(5), b64);
	bytes_to_hex(id_of(6), ID_PK_LEN, hex);
	snprintf(text, sizeof(text), "# ours\n\n  %s  \r\n%s\n%s", b64, hex, b64);
	ck_assert_int_eq(id_set_parse(&set, text, strlen(text), err, sizeof(err)), 0);
	/* Listed twice, kept twice: the count is what the file says. */
	ck_assert_uint_eq(set.n, 3);
	ck_assert_int_eq(id_set_has(&set, id_of(5)), 1);
	ck_assert_int_eq(id_set_has(&set, id_of(6)), 1);
	/* A bad line is an error naming it, and the old ids stay. */
	snprintf(text, sizeof(text), "%s\n# fine\nnot-a-key\n", b64);
	ck_assert_int_eq(id_set_parse(&set, text, strlen(text), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 3: not a base64 or hex key");
	ck_assert_uint_eq(set.n, 3);
	/* A word longer than any key, with no NUL in reach. */
	memset(text, 'A', 300);
	ck_assert_int_eq(id_set_parse(&set, text, 300, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 1: not a base64 or hex key");
	/* Only comments: an empty set. */
	ck_assert_int_eq(id_set_parse(&set, "# none\n", 7, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_int_eq(id_set_has(&set, id_of(5)), 0);
}
END_TEST

/* Moved from test_basenoded_policy.c (allow_file) with the reader. */
START_TEST(load_file)
{
	char path[] = "/tmp/test_idsetXXXXXX", b64[KEY_B64_LEN], err[256];
	int fd;

	key_to_base64(id_of(9), b64);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b64, strlen(b64)), (ssize_t)strlen(b64));
	close(fd);
	ck_assert_int_eq(id_set_load(&set, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_int_eq(id_set_has(&set, id_of(9)), 1);
	unlink(path);
	ck_assert_int_eq(id_set_load(&set, path, err, sizeof(err)), -ENOENT);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(load_too_big)
{
	char path[] = "/tmp/test_idsetXXXXXX", err[256];
	char *big = malloc(1024 * 1024 + 1);
	int fd;

	ck_assert_ptr_nonnull(big);
	memset(big, '#', 1024 * 1024 + 1);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, big, 1024 * 1024 + 1), 1024 * 1024 + 1);
	close(fd);
	ck_assert_int_eq(id_set_add(&set, id_of(1)), 0);
	ck_assert_int_eq(id_set_load(&set, path, err, sizeof(err)), -EFBIG);
	ck_assert_uint_eq(set.n, 1);
	/* Exactly the cap is still read. */
	ck_assert_int_eq(truncate(path, 1024 * 1024), 0);
	ck_assert_int_eq(id_set_load(&set, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 0);
	unlink(path);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idset");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, add_has_del);
	tcase_add_test(tc, id_text_forms);
	tcase_add_test(tc, parse_text);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, load_too_big);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* Keys: key files round trip, loose permissions and malformed files are
 * refused, no overwrite, strict base64, hex. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keys.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_keys.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/id.key", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void write_file(const char *text, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0); /* umask must not hide the test */
	close(fd);
}

START_TEST(save_load_round_trip)
{
	struct identity a, b;
	struct stat st;
	char text[128], b64[KEY_B64_LEN];
	FILE *f;

	ck_assert_int_eq(identity_generate(&a), 0);
	ck_assert_int_eq(identity_save(&a, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 077, 0);
	ck_assert_uint_eq(st.st_mode & 0600, 0600);
	/* The file is the base64 seed on one line. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(text, 1, sizeof(text), f), KEY_B64_LEN);
	fclose(f);
	key_to_base64(a.sk, b64); /* libsodium sk = seed || pk */
	ck_assert_mem_eq(text, b64, KEY_B64_LEN - 1);
	ck_assert_int_eq(text[KEY_B64_LEN - 1], '\n');

	ck_assert_int_eq(identity_load(&b, path), 0);
	ck_assert_mem_eq(a.pk, b.pk, ID_PK_LEN);
	ck_assert_mem_eq(a.sk, b.sk, ID_SK_LEN);
	identity_release(&b);
	ck_assert_int_eq(sodium_is_zero(b.sk, ID_SK_LEN), 1);
	identity_release(&a);
}
END_TEST

START_TEST(save_refuses_overwrite)
{
	struct identity a, b, c;

	identity_generate(&a);
	identity_generate(&b);
	ck_assert_int_eq(identity_save(&a, path), 0);
	ck_assert_int_eq(identity_save(&b, path), -EEXIST);
	ck_assert_int_eq(identity_load(&c, path), 0);
	ck_assert_mem_eq(c.pk, a.pk, ID_PK_LEN);
}
END_TEST

START_TEST(loose_permissions_refused)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0620, 0602, 0610, 0601 };
	struct identity a, b;
	char line[KEY_B64_LEN + 1];
	size_t i;

	identity_generate(&a);
	key_to_base64(a.sk, line);
	line[KEY_B64_LEN - 1] = '\n';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(line, KEY_B64_LEN, bad[i]);
		ck_assert_int_eq(identity_load(&b, path), -EACCES);
	}
	write_file(line, KEY_B64_LEN, 0600);
	ck_assert_int_eq(identity_load(&b, path), 0);
	ck_assert_mem_eq(a.pk, b.pk, ID_PK_LEN);
	write_file(line, KEY_B64_LEN, 0400);
	ck_assert_int_eq(identity_load(&b, path), 0);
}
END_TEST

START_TEST(malformed_files_refused)
{
	struct identity a, b;
	char good[KEY_B64_LEN], text[128];

	identity_generate(&a);
	key_to_base64(a.sk, good);

	write_file("", 0, 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	write_file(good, 43, 0600);                       /* short */
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	snprintf(text, sizeof(text), "%s\nX", good);      /* extra bytes */
	write_file(text, strlen(text), 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	snprintf(text, sizeof(text), "%s\n\n", good);
	write_file(text, strlen(text), 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	snprintf(text, sizeof(text), "%s\r\n", good);
	write_file(text, strlen(text), 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	snprintf(text, sizeof(text), "%s", good);         /* bad character */
	text[5] = '!';
	write_file(text, strlen(text), 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);
	memset(text, 'A', 100);                           /* far too long */
	write_file(text, 100, 0600);
	ck_assert_int_eq(identity_load(&b, path), -EINVAL);

	/* Without the final newline is still one line. */
	write_file(good, 44, 0600);
	ck_assert_int_eq(identity_load(&b, path), 0);
	ck_assert_mem_eq(a.pk, b.pk, ID_PK_LEN);
}
END_TEST

START_TEST(load_missing_and_directory)
{
	struct identity b;

	ck_assert_int_eq(identity_load(&b, path), -ENOENT);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(identity_load(&b, dir), -EINVAL);
}
END_TEST

START_TEST(load_or_create)
{
	struct identity a, b;
	struct stat st;

	ck_assert_int_eq(identity_load_or_create(&a, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 077, 0);
	ck_assert_int_eq(identity_load_or_create(&b, path), 0);
	ck_assert_mem_eq(a.pk, b.pk, ID_PK_LEN);
	ck_assert_mem_eq(a.sk, b.sk, ID_SK_LEN);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(identity_load_or_create(&b, path), -EACCES);
}
END_TEST

START_TEST(base64_edges)
{
	uint8_t key[32], back[32];
	char text[KEY_B64_LEN], bad[64];

	randombytes_buf(key, sizeof(key));
	key_to_base64(key, text);
	ck_assert_uint_eq(strlen(text), 44);
	ck_assert_int_eq(text[43], '=');
	ck_assert_int_eq(key_from_base64(text, back), 0);
	ck_assert_mem_eq(key, back, 32);

	ck_assert_int_eq(key_from_base64(NULL, back), -EINVAL);
	ck_assert_int_eq(key_from_base64("", back), -EINVAL);
	snprintf(bad, sizeof(bad), "%.43s", text);        /* padding missing */
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), "%s=", text);          /* extra padding */
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), "%sA", text);          /* trailing junk */
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n", text);
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), " %.43s", text);       /* whitespace */
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), "%.42s==", text);      /* 31 bytes */
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	snprintf(bad, sizeof(bad), "%s", text);           /* url-safe alphabet */
	bad[0] = '-';
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	bad[0] = '_';
	ck_assert_int_eq(key_from_base64(bad, back), -EINVAL);
	/* Non-zero unused bits before '=': a second spelling of a key. */
	memset(key, 0, sizeof(key));
	key_to_base64(key, text);
	ck_assert_str_eq(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	ck_assert_int_eq(key_from_base64(text, back), 0);
	text[42] = 'B';
	ck_assert_int_eq(key_from_base64(text, back), -EINVAL);
	text[42] = 'E'; /* 4 = lowest bit that is used */
	ck_assert_int_eq(key_from_base64(text, back), 0);
	ck_assert_int_eq(back[31], 1);
}
END_TEST

START_TEST(hex)
{
	static const uint8_t b[] = { 0x00, 0x0f, 0xab, 0xff };
	char out[9];

	bytes_to_hex(b, sizeof(b), out);
	ck_assert_str_eq(out, "000fabff");
	bytes_to_hex(b, 0, out);
	ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, save_load_round_trip);
	tcase_add_test(tc, save_refuses_overwrite);
	tcase_add_test(tc, loose_permissions_refused);
	tcase_add_test(tc, malformed_files_refused);
	tcase_add_test(tc, load_missing_and_directory);
	tcase_add_test(tc, load_or_create);
	tcase_add_test(tc, base64_edges);
	tcase_add_test(tc, hex);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

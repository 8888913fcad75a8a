/* Ed25519 identities: generation, key files (base64 seed, mode 0600), strict
 * base64 and hex text forms. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "keys.h"

#define KEY_B64_CHARS (KEY_B64_LEN - 1)
#define KEY_FILE_MAX 128 /* anything longer is malformed; stop reading */

int keys_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int identity_generate(struct identity *id)
{
	return crypto_sign_keypair(id->pk, id->sk) == 0 ? 0 : -EIO;
}

void identity_release(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

void key_to_base64(const uint8_t key[32], char out[KEY_B64_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

/* Exactly 44 characters that decode to 32 bytes and re-encode to the same
 * text, so there is one accepted spelling of every key. */
int key_from_base64(const char *text, uint8_t key[32])
{
	uint8_t bin[32];
	char again[KEY_B64_LEN];
	const char *end = NULL;
	size_t bin_len = 0;
	int r = -EINVAL;

	if (!text || strnlen(text, KEY_B64_LEN) != KEY_B64_CHARS)
		goto out;
	if (sodium_base642bin(bin, sizeof(bin), text, KEY_B64_CHARS, NULL, &bin_len,
	                      &end, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (bin_len != sizeof(bin) || end != text + KEY_B64_CHARS)
		goto out;
	key_to_base64(bin, again);
	if (sodium_memcmp(again, text, KEY_B64_CHARS) != 0)
		goto out;
	memcpy(key, bin, sizeof(bin));
	r = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(again, sizeof(again));
	return r;
}

void bytes_to_hex(const uint8_t *bytes, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, bytes, len);
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* O_EXCL makes creation atomic and never follows a planted symlink; a file
 * left half-written by an error is removed again. */
int identity_save(const struct identity *id, const char *path)
{
	uint8_t seed[32];
	char line[KEY_B64_LEN + 1];
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	crypto_sign_ed25519_sk_to_seed(seed, id->sk);
	key_to_base64(seed, line);
	line[KEY_B64_CHARS] = '\n';
	line[KEY_B64_LEN] = '\0';
	r = write_all(fd, line, KEY_B64_LEN);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	return r;
}

/* Reads at most KEY_FILE_MAX bytes; returns the count or a negative errno. */
static ssize_t read_small(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while (have < size) {
		n = read(fd, buf + have, size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return (ssize_t)have;
}

/* The mode is checked on the opened descriptor, so the file cannot be
 * swapped between the check and the read. O_NONBLOCK: a FIFO planted at
 * the path must not hang the daemon; it is refused as not regular. */
int identity_load(struct identity *id, const char *path)
{
	char buf[KEY_FILE_MAX];
	uint8_t seed[32];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto out;
	r = -EACCES;
	if (st.st_mode & 077)
		goto out;
	n = read_small(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	r = -EINVAL;
	/* One line: 44 characters, optionally followed by a single newline. */
	if (n == KEY_B64_LEN && buf[KEY_B64_CHARS] == '\n')
		n--;
	if (n != KEY_B64_CHARS)
		goto out;
	buf[n] = '\0';
	if ((r = key_from_base64(buf, seed)) < 0)
		goto out;
	r = crypto_sign_seed_keypair(id->pk, id->sk, seed) == 0 ? 0 : -EIO;
out:
	close(fd);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int identity_load_or_create(struct identity *id, const char *path)
{
	int r;

	r = identity_load(id, path);
	if (r != -ENOENT)
		return r;
	if ((r = identity_generate(id)) < 0)
		return r;
	r = identity_save(id, path);
	/* Another process created it first: use theirs. */
	if (r == -EEXIST)
		r = identity_load(id, path);
	if (r < 0)
		identity_release(id);
	return r;
}

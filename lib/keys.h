/* Ed25519 identity keys: generation, key files, base64 text form. */
#ifndef SM_KEYS_H
#define SM_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define ID_PK_LEN 32
#define ID_SK_LEN 64
#define KEY_B64_LEN 45 /* base64 of 32 bytes with '=' padding, plus NUL */

struct identity {
	uint8_t pk[ID_PK_LEN];
	uint8_t sk[ID_SK_LEN];
};

/* Calls sodium_init(); every program calls it once before anything else. */
int keys_init(void);

int identity_generate(struct identity *id);
/* Wipes the secret key. */
void identity_release(struct identity *id);

/*
 * Key file: one line, the base64 of the 32-byte Ed25519 seed. identity_save
 * creates the file with mode 0600 and refuses to overwrite one (-EEXIST).
 * identity_load refuses a file that group or others may read or write
 * (-EACCES), a malformed file (-EINVAL), and returns other errno values as is.
 */
int identity_save(const struct identity *id, const char *path);
int identity_load(struct identity *id, const char *path);
/* Loads the key file, or on -ENOENT generates an identity and saves it
 * there (first start of a daemon). Same errors as load and save. */
int identity_load_or_create(struct identity *id, const char *path);

/* base64 (standard alphabet, padded) of a 32-byte key. out must hold
 * KEY_B64_LEN bytes. */
void key_to_base64(const uint8_t key[32], char out[KEY_B64_LEN]);
/* Parses exactly one padded base64 32-byte key; -EINVAL otherwise. */
int key_from_base64(const char *text, uint8_t key[32]);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes), for ids in logs. */
void bytes_to_hex(const uint8_t *bytes, size_t len, char *out);

#endif

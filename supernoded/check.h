/* Hostile input checked in one place: every field supernoded keeps or acts
 * on from a peer (ids, keys, regions, endpoints, command payloads). Pure. */
#ifndef SN_CHECK_H
#define SN_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "control.pb-c.h"
#include "rank.h"

#define CHECK_TEXT_MAX 128
#define CHECK_LIST_MAX 16

/* 1..63 of [A-Za-z0-9._-] (or empty when may_be_empty). */
int check_region(const char *r, int may_be_empty);
/* Printable ASCII without spaces, shorter than max (empty allowed). */
int check_text(const char *s, size_t max);
/* in, cut to size, with every byte a log line cannot hold as is (space,
 * control, non-ASCII, '"') shown as '_': for logging hostile text. */
void check_text_shown(char *out, size_t size, const char *in);
/* Numeric or named host:port / [v6]:port, shorter than CHECK_TEXT_MAX. */
int check_hostport(const char *s);

struct setup_result {
	char client_address[64];
	uint8_t exit_pubkey[32];
	int has_pubkey;
	char exit_endpoint[CHECK_TEXT_MAX];
	uint32_t path;
};

/* Decodes and checks an encoded SetupExitResult. 0 or -EPROTO. */
int setup_result_parse(const ProtobufCBinaryData *b, struct setup_result *out);
/* SetupExit as received by a supernode from another one: ids and keys the
 * right length, lists and texts bounded. 0 or -EPROTO. */
int check_setup_exit(const Supermesh__SetupExit *se);
int check_disconnect(const Supermesh__Disconnect *d);
/* InfoResponse from a client or exit. 0 or -EPROTO. */
int check_info(const Supermesh__InfoResponse *i);
/* One ExitCandidate into a rank candidate (live). 0 or -EPROTO. */
int check_candidate(const Supermesh__ExitCandidate *c, struct rank_cand *out);

#endif

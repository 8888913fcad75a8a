/* Commands (DESIGN section 4). The sender gives each a 16-byte id, waits
 * timeout_ms for the CommandResponse, resends with the same id up to
 * `retries` times, then fails it; the receiver keeps the ids it applied with
 * the response it gave, in its SQLite state, and answers a duplicate with
 * the stored response without applying it again. */
#ifndef SM_COMMAND_H
#define SM_COMMAND_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "control.pb-c.h"
#include "msg.h"
#include "state.h"

/* ---- sender ---- */

struct cmd_sender;

/* Sends the encoded ControlMessage (a Command) to wherever the target is now
 * (a peer's current stream): 0, or a negative errno (the attempt counts as
 * sent and is retried on the next timeout). */
typedef int (*cmd_transmit_fn)(void *target, const Supermesh__ControlMessage *m);

/* Exactly once per command: status 0 with the peer's response (resp->ok may
 * be false), -ETIMEDOUT after the last retry, -ECANCELED from
 * cmd_sender_cancel / cmd_sender_free. resp is valid only during the call. */
typedef void (*cmd_done_fn)(void *arg, int status, const Supermesh__CommandResponse *resp);

struct cmd_sender_opts {
	uint32_t timeout_ms; /* 0: 5000 */
	unsigned retries;    /* resends after the first try; 0 means none */
};

int cmd_sender_new(uv_loop_t *loop, const struct cmd_sender_opts *opts,
                   struct cmd_sender **out);
/* Cancels every pending command (each done callback runs with -ECANCELED),
 * then frees after its timers close; run the loop afterwards. */
void cmd_sender_free(struct cmd_sender *s);

/*
 * Sends a command now. payload is the encoded body (SetupExit, ...), copied.
 * id_out (may be NULL) receives the command id. Returns 0 (even if this first
 * transmit failed: it is retried), or a negative errno without calling done:
 * -EINVAL (unknown type, no transmit/done), -EMSGSIZE (above MSG_MAX once
 * wrapped), -ECANCELED (sender being freed), -ENOMEM.
 */
int cmd_send(struct cmd_sender *s, Supermesh__CommandType type, const uint8_t *payload,
             size_t len, cmd_transmit_fn transmit, void *target, cmd_done_fn done,
             void *arg, uint8_t id_out[MSG_ID_LEN]);

/* Feeds a received CommandResponse: 0 if it matched a pending command (whose
 * done callback ran), -ENOENT for unknown, late or not 16-byte ids (ignore
 * them), -EINVAL for NULL. */
int cmd_sender_response(struct cmd_sender *s, const Supermesh__CommandResponse *resp);

/* Cancels every pending command sent to target (-ECANCELED callbacks). */
void cmd_sender_cancel_target(struct cmd_sender *s, void *target);

size_t cmd_sender_pending(const struct cmd_sender *s);

/* ---- receiver ---- */

/* Schema for the applied-commands table; daemons append it to their own. */
extern const char CMD_JOURNAL_SCHEMA[];

/* A response as stored: ok, error text and encoded result. */
struct cmd_outcome {
	int ok;
	char error[256];
	uint8_t result[4096];
	size_t result_len;
};

/* 1 and *out if command_id was applied before, 0 if not, negative errno. */
int cmd_journal_find(struct state *st, const uint8_t id[MSG_ID_LEN], struct cmd_outcome *out);
/* Records the outcome of an applied command (replacing any). The error text
 * is cut to fit its array at a UTF-8 boundary. 0, -EINVAL (result_len above
 * 4096, no open state) or -EIO. */
int cmd_journal_store(struct state *st, const uint8_t id[MSG_ID_LEN],
                      const struct cmd_outcome *o);
/* Drops entries older than max_age_s (ids are kept 24 h by the daemons).
 * 0, -EINVAL (negative age) or -EIO. */
int cmd_journal_expire(struct state *st, int64_t max_age_s);

#endif

/* Commands from the supernode (DESIGN section 4): each is validated, looked
 * up in the journal (a duplicate is answered from it, not applied again),
 * then applied by ops.c; exactly one CommandResponse per command. */
#ifndef EP_COMMANDS_H
#define EP_COMMANDS_H

#include <stdint.h>
#include "command.h"
#include "control.pb-c.h"
#include "exitpeerd.h"

/* What an op has done so far, so a rollback undoes exactly that. */
#define EP_DID_ADDR 1u
#define EP_DID_PEER 2u
#define EP_DID_NAT 4u

/* One command being applied; linked in ep->ops until it is answered. */
struct ep_op {
	struct ep_op *next;
	struct exitpeer *ep;
	uint8_t cmd_id[MSG_ID_LEN];
	Supermesh__CommandType type;
	struct exit_session s;
	int step;
	unsigned did;
	struct cmd_outcome out;
	uint64_t started_ns;            /* arrival, for command_latency_seconds */
	/* PROBE_PATH (probe.c) */
	uint8_t token[16];
	char peer[64];
	uint32_t probe_ms;
};

void ep_command_handle(struct exitpeer *ep, const Supermesh__Command *c);

/* Journals op->out, answers on the stream, logs, unlinks
 * and frees the op. */
void ep_op_finish(struct ep_op *op);
/* Sets op->out to a failure with the error text, then finishes. */
void ep_op_fail(struct ep_op *op, const char *error);

/* ops.c: start applying a validated command; they always end in ep_op_finish. */
void ep_op_setup_start(struct ep_op *op);
void ep_op_disconnect_start(struct ep_op *op);

/* probe.c: PROBE_PATH for a session we hold, through lib/probe_run. */
int ep_validate_probe(struct exitpeer *ep, const ProtobufCBinaryData *payload,
                      struct ep_op *op, char *why, size_t why_size);
void ep_op_probe_start(struct ep_op *op);

/* The words of one helper request, with the buffers they point into. */
struct ep_words {
	const char *w[16];
	char key[KEY_B64_LEN];
	char cidr[POOL_ADDR_LEN + 4];
	char addr[POOL_ADDR_LEN];
	char ka[12];
};

/* w->w = the given words up to NULL (at most 15). */
void ep_words_set(struct ep_words *w, ...);
/* wgrelay "peer add IFACE KEY allowed-ips ADDR/32 [endpoint E keepalive K]" */
void ep_words_peer_add(const struct exitpeer *ep, const struct exit_session *s,
                       struct ep_words *w);
/* wgrelay "peer del IFACE KEY" */
void ep_words_peer_del(const struct exitpeer *ep, const struct exit_session *s,
                       struct ep_words *w);
/* natctl "add ADDR" or "del ADDR" */
void ep_words_nat(const struct exit_session *s, const char *verb, struct ep_words *w);

/* The SetupExitResult for a session into out->result, ok set. 0 or -EMSGSIZE. */
int ep_setup_result(struct exitpeer *ep, const struct exit_session *s,
                    struct cmd_outcome *out);

#endif

/* ControlMessage packing and unpacking (protobuf-c), the one place where a
 * stream's decrypted frames become messages; also random ids. */
#include <errno.h>
#include <sodium.h>
#include "channel.h"
#include "msg.h"

#define BODY_LAST SUPERMESH__CONTROL_MESSAGE__BODY_PATH_UPDATE

static const char *const names[BODY_LAST + 1] = {
	[SUPERMESH__CONTROL_MESSAGE__BODY__NOT_SET] = "none",
	[SUPERMESH__CONTROL_MESSAGE__BODY_PING] = "ping",
	[SUPERMESH__CONTROL_MESSAGE__BODY_PONG] = "pong",
	[SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND] = "command",
	[SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE] = "command_response",
	[SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST] = "info_request",
	[SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE] = "info_response",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST] = "exit_request",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE] = "exit_response",
	[SUPERMESH__CONTROL_MESSAGE__BODY_REGISTER_SUPERNODE] = "register_supernode",
	[SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT] = "load_report",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_REQUEST] = "exit_region_request",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_RESPONSE] = "exit_region_response",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_REQUEST] = "exit_peer_request",
	[SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_RESPONSE] = "exit_peer_response",
	[SUPERMESH__CONTROL_MESSAGE__BODY_ERROR] = "error",
	[SUPERMESH__CONTROL_MESSAGE__BODY_REFLECTOR_INFO] = "reflector_info",
	[SUPERMESH__CONTROL_MESSAGE__BODY_PATH_UPDATE] = "path_update",
};

/* Packing is into one buffer per thread: channel_send copies the frame
 * into its own write request before returning. */
static _Thread_local uint8_t pack_buf[MSG_MAX];

/* Every body is a message, so each union member is a pointer and a set case
 * with a NULL pointer would pack as an empty ControlMessage. */
static int has_body(const Supermesh__ControlMessage *m)
{
	int c = (int)m->body_case;

	return c > SUPERMESH__CONTROL_MESSAGE__BODY__NOT_SET && c <= BODY_LAST &&
	       m->ping != NULL;
}

int msg_pack(const Supermesh__ControlMessage *m, uint8_t *out, size_t size)
{
	size_t n;

	if (!m || !has_body(m))
		return -EINVAL;
	n = supermesh__control_message__get_packed_size(m);
	if (n > MSG_MAX || n > size)
		return -EMSGSIZE;
	return (int)supermesh__control_message__pack(m, out);
}

int msg_send(struct channel *ch, const Supermesh__ControlMessage *m)
{
	int n = msg_pack(m, pack_buf, sizeof(pack_buf));

	if (n < 0)
		return n;
	return channel_send(ch, pack_buf, (size_t)n);
}

/*
 * protobuf-c accepts field number 0 when its tag is a non-minimal varint
 * and keeps it as an unknown field that would pack into bytes it refuses:
 * a message we could not forward. Walks every sub-message (the schema has
 * no recursion, so the depth is bounded) looking for one.
 */
static int fields_valid(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const uint8_t *base = (const uint8_t *)m;
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessage *const *subs;
	size_t i, k, n;

	for (i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return 0;
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue; /* the union holds another member */
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			subs = *(const ProtobufCMessage *const *const *)(base + f->offset);
		} else {
			n = 1;
			subs = (const ProtobufCMessage *const *)(base + f->offset);
		}
		for (k = 0; k < n; k++)
			if (subs[k] && !fields_valid(subs[k]))
				return 0;
	}
	return 1;
}

Supermesh__ControlMessage *msg_unpack(const uint8_t *data, size_t len)
{
	Supermesh__ControlMessage *m;

	if (!data || len == 0 || len > MSG_MAX)
		return NULL;
	if (!(m = supermesh__control_message__unpack(NULL, len, data)))
		return NULL;
	/* An unknown field number leaves the case unset: not ours to guess. */
	if (!has_body(m) || !fields_valid(&m->base)) {
		supermesh__control_message__free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

void msg_free(Supermesh__ControlMessage *m)
{
	if (m)
		supermesh__control_message__free_unpacked(m, NULL);
}

const char *msg_name(const Supermesh__ControlMessage *m)
{
	int c = m ? (int)m->body_case : 0;

	if (c < 0 || c > BODY_LAST)
		return "none";
	return names[c];
}

void msg_new_id(uint8_t id[MSG_ID_LEN])
{
	randombytes_buf(id, MSG_ID_LEN);
}

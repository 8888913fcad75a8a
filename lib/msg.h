/* ControlMessage framing helpers: every frame after auth is one
 * ControlMessage (proto/control.proto). Packing checks the frame limit;
 * unpacking checks that exactly one known body is set. */
#ifndef SM_MSG_H
#define SM_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "control.pb-c.h"

struct channel;

#define MSG_MAX (65536 - 16) /* FRAME_MAX - CIPHER_TAG */

/* Packs m into out (size bytes). Returns the length, -EMSGSIZE if it does not
 * fit or is above MSG_MAX, -EINVAL if no body is set. */
int msg_pack(const Supermesh__ControlMessage *m, uint8_t *out, size_t size);

/* Packs m and sends it on an open channel (channel_send's errors). */
int msg_send(struct channel *ch, const Supermesh__ControlMessage *m);

/* Unpacks one frame. Returns NULL for bytes that are not a ControlMessage
 * with exactly one known body. Free with msg_free. */
Supermesh__ControlMessage *msg_unpack(const uint8_t *data, size_t len);
void msg_free(Supermesh__ControlMessage *m);

/* Short name of the body for logs: "ping", "command", ..., "none". */
const char *msg_name(const Supermesh__ControlMessage *m);

/* 16 random bytes for command_id, request_id and session ids. */
#define MSG_ID_LEN 16
void msg_new_id(uint8_t id[MSG_ID_LEN]);

#endif

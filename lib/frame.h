/* Length-prefixed frames (DESIGN section 2): a 4-byte big-endian length, then
 * that many bytes. Pure: bytes in, whole frames out, no libuv. */
#ifndef SM_FRAME_H
#define SM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR 4
#define FRAME_MAX 65536 /* largest allowed payload; 0 is also refused */

/*
 * Incremental decoder over arbitrary chunks. A frame wholly inside one chunk
 * is handed out in place; a frame split across chunks is gathered in a buffer
 * of its (checked) length, allocated when its header is complete and freed
 * when it is delivered, so an idle stream holds no buffer.
 */
struct frame_decoder {
	uint8_t hdr[FRAME_HDR];
	size_t hdr_len;  /* header bytes gathered */
	uint8_t *buf;    /* partial payload, NULL between frames */
	size_t need;     /* payload length of the frame being gathered */
	size_t have;     /* payload bytes gathered */
	int failed;      /* set after a protocol error; every later feed fails */
};

/* Called once per whole frame; a non-zero return stops the feed and is
 * returned by frame_decoder_feed. `payload` is only valid during the call. */
typedef int (*frame_cb)(void *arg, const uint8_t *payload, size_t len);

void frame_decoder_init(struct frame_decoder *d);
void frame_decoder_release(struct frame_decoder *d);

/* Returns 0 when all of data was consumed, -EPROTO on a zero or oversized
 * length (the decoder then stays failed), -ENOMEM, or cb's non-zero value. */
int frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len,
                       frame_cb cb, void *arg);

/* Writes the 4-byte header for a payload of len bytes; -EMSGSIZE if len is 0
 * or above FRAME_MAX. */
int frame_header(uint8_t out[FRAME_HDR], size_t len);

#endif

/* ControlMessage dispatch (tinc's protocol_*.c shape): one handler per body
 * case, looked up from a table with the roles it may come from; handlers
 * grouped per family in protocol_link.c, protocol_command.c and
 * protocol_exit.c. A handler returning < 0 closes the stream. */
#ifndef SN_DISPATCH_H
#define SN_DISPATCH_H

#include <stddef.h>
#include <stdint.h>
#include "control.pb-c.h"
#include "msg.h"

struct sn_peer;
typedef Supermesh__ControlMessage ControlMessage;

/* One decrypted frame from an inbound stream. */
int sn_dispatch_frame(struct sn_peer *p, const uint8_t *data, size_t len);
/* One decoded message (inbound streams and pooled links). */
int sn_dispatch(struct sn_peer *p, const ControlMessage *m);

/* protocol_link.c */
int link_on_ping(struct sn_peer *p, const ControlMessage *m);
int link_on_pong(struct sn_peer *p, const ControlMessage *m);
int link_on_error(struct sn_peer *p, const ControlMessage *m);
int link_on_info(struct sn_peer *p, const ControlMessage *m);

/* protocol_command.c */
int cmd_on_command(struct sn_peer *p, const ControlMessage *m);
int cmd_on_response(struct sn_peer *p, const ControlMessage *m);
/* Answers command id on p's stream and journals the answer. */
void cmd_reply(struct sn_peer *p, const uint8_t id[MSG_ID_LEN], int ok, const char *error,
               const uint8_t *result, size_t len);

/* protocol_exit.c */
int exit_on_request(struct sn_peer *p, const ControlMessage *m);
int exit_on_peer_request(struct sn_peer *p, const ControlMessage *m);
int exit_on_peer_response(struct sn_peer *p, const ControlMessage *m);
/* punch_remote.c: B's reflectors saw the exit of a session we punch move. */
int punch_on_path_update(struct sn_peer *p, const ControlMessage *m);

#endif

/* Hostile input from supernode streams, checked in one place: the
 * ControlMessage decode and the fields basenoded keeps or echoes. Pure. */
#ifndef BN_MSG_PARSE_H
#define BN_MSG_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "control.pb-c.h"
#include "directory.h"

#define MSG_REQUEST_ID_MAX 64 /* bytes of ExitRegionRequest.request_id echoed */

/* One decrypted frame as a ControlMessage (free it with
 * supermesh__control_message__free_unpacked), or NULL if malformed. */
Supermesh__ControlMessage *msg_decode(const uint8_t *data, size_t len);

/* Region names: 1..DIR_REGION_MAX-1 of [A-Za-z0-9._-] (empty allowed when
 * may_be_empty); they go into logs and admin replies unescaped. */
int msg_region_valid(const char *region, int may_be_empty);

/*
 * Checks a RegisterSupernode and copies it into info: valid region, the same
 * as auth_region unless that is empty; public_address host:port; relay_host
 * empty or a host/IP. Returns 0, or -EPROTO with *why a log-safe word.
 */
int msg_register_info(const Supermesh__RegisterSupernode *r, const char *auth_region,
                      struct dir_info *info, const char **why);

/* Checks an ExitRegionRequest: request_id at most MSG_REQUEST_ID_MAX bytes,
 * region valid or empty (every region). 0 or -EPROTO. */
int msg_exit_region_check(const Supermesh__ExitRegionRequest *r);

void msg_load(const Supermesh__LoadReport *r, struct dir_load *out);

/* Peer text made safe for one key=value log field: [A-Za-z0-9._:-], others
 * become '_', cut to size - 1 bytes. */
void msg_text_clean(char *out, size_t size, const char *in);

#endif

/* basenoded's admin verbs (list, status, streams, blacklist add/del/list), served on
 * the admin UNIX socket through lib/line_server with ctx a struct basenoded. */
#ifndef BN_ADMIN_H
#define BN_ADMIN_H

#include "verb.h"

extern const struct verb admin_verbs[];

#endif

/* supernoded's admin verbs (status, peers, sessions, exits, revoke,
 * unrevoke), served through lib/line_server with ctx a struct supernoded. */
#ifndef SN_ADMIN_H
#define SN_ADMIN_H

#include "verb.h"

extern const struct verb admin_verbs[];

#endif

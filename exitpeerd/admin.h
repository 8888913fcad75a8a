/* exitpeerd's admin verbs (status, sessions) for its line_server socket. */
#ifndef EP_ADMIN_H
#define EP_ADMIN_H

#include "verb.h"

extern const struct verb exitpeer_admin_verbs[];

#endif

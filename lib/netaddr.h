/* Socket addresses as the daemons show and key them: "ip:port" text for log
 * lines and the raw IP bytes a per-address rate limit hashes. Pure. */
#ifndef SM_NETADDR_H
#define SM_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "a.b.c.d:port" or "[v6]:port" fits in this, NUL included. */
#define NETADDR_TEXT_MAX 64

/* sa as "a.b.c.d:port" or "[v6]:port" into out (truncated to size). 0, or
 * -EAFNOSUPPORT for any other family, with out left as it was. */
int netaddr_text(const struct sockaddr *sa, char *out, size_t size);

/* Points *ip at the address bytes of ss and returns their length: 4 for
 * IPv4 and for v4-mapped IPv6 (one host, one key), 16 for other IPv6, and
 * 0 with *ip at "" for any other family. */
size_t netaddr_ip(const struct sockaddr_storage *ss, const uint8_t **ip);

#endif

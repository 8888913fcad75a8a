/* Socket address text and IP bytes (netaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include "netaddr.h"

int netaddr_text(const struct sockaddr *sa, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip)))
			return -errno;
		snprintf(out, size, "%s:%u", ip, ntohs(s4->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip)))
			return -errno;
		snprintf(out, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
		return 0;
	}
	return -EAFNOSUPPORT;
}

size_t netaddr_ip(const struct sockaddr_storage *ss, const uint8_t **ip)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	*ip = (const uint8_t *)"";
	if (ss->ss_family == AF_INET) {
		*ip = (const uint8_t *)&s4->sin_addr;
		return 4;
	}
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*ip = s6->sin6_addr.s6_addr + 12;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		*ip = s6->sin6_addr.s6_addr;
		return 16;
	}
	return 0;
}

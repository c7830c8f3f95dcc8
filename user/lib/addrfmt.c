// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Addresses and prefixes as text (parse.h): written by hand, since every
 * event line has three of them. */
#include "parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static size_t put_dec(char *p, unsigned v)
{
	char d[10];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (size_t i = 0; i < n; i++)
		p[i] = d[n - 1 - i];
	return n;
}

/* "a.b.c.d", "a.b.c.d/len", "a.b.c.d:port", "v6", "v6/len", "[v6]:port"
 * (written by hand: every event line has three of these) */
static const char *format_addr(int af, const void *a, __u8 plen, __u8 maxbits,
			       __u16 port, char *buf, size_t buflen)
{
	char txt[INET6_ADDRSTRLEN + 16];
	size_t n = af == AF_INET6 && port;

	txt[0] = '[';
	if (af == AF_INET) {
		for (int i = 0; i < 4; i++) {
			if (i)
				txt[n++] = '.';
			n += put_dec(txt + n, ((const __u8 *)a)[i]);
		}
	} else {
		if (!inet_ntop(af, a, txt + n, INET6_ADDRSTRLEN))
			strcpy(txt + n, "invalid");
		n += strlen(txt + n);
	}
	if (port) {
		if (af == AF_INET6)
			txt[n++] = ']';
		txt[n++] = ':';
		n += put_dec(txt + n, port);
	} else if (plen < maxbits) {
		txt[n++] = '/';
		n += put_dec(txt + n, plen);
	}
	if (buflen) {
		n = n < buflen - 1 ? n : buflen - 1;
		memcpy(buf, txt, n);
		buf[n] = 0;
	}
	return buf;
}

const char *nm_format_cidr(const struct nm_cidr *c, char *buf, size_t buflen)
{
	if (c->family == 4)
		return format_addr(AF_INET, c->addr, c->prefixlen, 32, c->port, buf, buflen);
	if (c->family == 6)
		return format_addr(AF_INET6, c->addr, c->prefixlen, 128, c->port, buf, buflen);
	snprintf(buf, buflen, "invalid");
	return buf;
}

const char *nm_format_addr16(const __u32 addr[4], __u8 family, __u16 port_be,
			     char *buf, size_t buflen)
{
	__u8 a[16];

	memcpy(a, addr, sizeof(a));
	if (family == 4 && nm_addr_is_v4mapped(a))
		return format_addr(AF_INET, a + 12, 32, 32, ntohs(port_be), buf, buflen);
	return format_addr(AF_INET6, a, 128, 128, ntohs(port_be), buf, buflen);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hostname.c - normalising and classifying requested names (hostname.h). */
#include "hostname.h"
#include "parse.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

enum nmp_host_kind nmp_host_norm(const char *in, size_t len, char *out, size_t cap)
{
	const char *label;
	struct in6_addr a6;
	size_t n, i;
	bool colon = false;

	if (cap)
		*out = 0;
	if (len >= 2 && in[0] == '[' && in[len - 1] == ']') {
		/* bracketed: an IPv6 literal or nothing */
		char tmp[INET6_ADDRSTRLEN + 1];

		if (len - 2 >= sizeof(tmp) || len - 2 >= cap)
			return NMP_HOST_INVALID;
		memcpy(tmp, in + 1, len - 2);
		tmp[len - 2] = 0;
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return NMP_HOST_INVALID;
		for (i = 0; i < len - 2; i++)
			out[i] = (tmp[i] >= 'A' && tmp[i] <= 'Z') ? (char)(tmp[i] - 'A' + 'a') : tmp[i];
		out[i] = 0;
		return NMP_HOST_IPV6;
	}
	if (len == 0 || len > NMP_HOST_MAX + 1 || len + 1 > cap)
		return NMP_HOST_INVALID;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == ':')
			colon = true;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			goto invalid;
		out[i] = c;
	}
	out[len] = 0;
	if (colon) {
		/* bare IPv6, as some clients put into SNI */
		if (inet_pton(AF_INET6, out, &a6) == 1)
			return NMP_HOST_IPV6;
		goto invalid;
	}
	n = len;
	if (out[n - 1] == '.')
		out[--n] = 0;
	if (n == 0 || n > NMP_HOST_MAX)
		goto invalid;
	for (label = out;;) {
		const char *dot = memchr(label, '.', n - (size_t)(label - out));
		size_t ll = dot ? (size_t)(dot - label) : n - (size_t)(label - out);

		if (ll == 0 || ll > 63)
			goto invalid;
		if (!dot)
			break;
		label = dot + 1;
	}
	if (nm_host_ends_in_number(out))
		return NMP_HOST_IPV4;
	return NMP_HOST_NAME;
invalid:
	*out = 0;
	return NMP_HOST_INVALID;
}

const char *nmp_host_kind_str(enum nmp_host_kind k)
{
	switch (k) {
	case NMP_HOST_INVALID:
		return "invalid";
	case NMP_HOST_NAME:
		return "name";
	case NMP_HOST_IPV4:
		return "ipv4";
	case NMP_HOST_IPV6:
		return "ipv6";
	}
	return "?";
}

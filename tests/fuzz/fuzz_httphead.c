// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_httphead - libFuzzer target for the HTTP request-head parser
 * (user/proxy/http_head.c) and the normalising of the host it names
 * (user/lib/hostname.c).  Seed corpus: tests/fuzz/corpus/httphead/.
 *
 * Besides memory errors (ASan, UBSan) it checks what the parser promises:
 * a result in range; for a complete head, lengths within the input, the
 * head ending in CRLF CRLF, a CONNECT with a port, an absolute-form path
 * inside the request line; every proper prefix of a head is need-more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct nmp_http_req r, p;
	enum nmp_http_result res = nmp_http_parse(s, size, &r);
	char norm[NM_HOST_MAX + 2];

	if (res > NMP_HTTP_TOO_LARGE)
		abort();
	if ((res == NMP_HTTP_MALFORMED || res == NMP_HTTP_TOO_LARGE) && !r.why)
		abort();
	if (res != NMP_HTTP_OK)
		return 0;
	if (r.head_len < 4 || r.head_len > size || r.head_len > NMP_HTTP_HEAD_MAX || r.line_len > r.head_len ||
	    memcmp(s + r.head_len - 4, "\r\n\r\n", 4))
		abort();
	if (r.connect && (!r.port || r.form != NMP_FORM_AUTHORITY))
		abort();
	if (r.form == NMP_FORM_ABSOLUTE && r.path_off + r.path_len > r.line_len)
		abort();
	if (strlen(r.host) > NMP_HTTP_HOST_MAX)
		abort();
	nm_host_norm(r.host, strlen(r.host), norm, sizeof(norm), NULL, 0);
	if (nmp_http_parse(s, r.head_len - 1, &p) != NMP_HTTP_NEED_MORE)
		abort();
	return 0;
}

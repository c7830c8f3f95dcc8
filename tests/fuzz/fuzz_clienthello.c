// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_clienthello - libFuzzer target for the TLS ClientHello parser
 * (user/proxy/tls_sni.c) and the normalising of the name it finds
 * (user/lib/hostname.c).  Seed corpus: tests/fuzz/corpus/clienthello/
 * (ClientHellos captured from openssl s_client, curl and Python's ssl).
 *
 * Besides memory errors (ASan, UBSan) it checks what the parser promises:
 * a result in range, a found name of 1..255 bytes, NUL-terminated, of name
 * characters only; hello_bytes within the input; every prefix of a
 * complete hello is need-more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "tls_sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nmp_sni s, p;
	enum nmp_sni_result r = nmp_sni_parse(data, size, &s);
	char norm[NM_HOST_MAX + 2];

	if (r > NMP_SNI_TOO_LARGE)
		abort();
	if (r == NMP_SNI_MALFORMED && !s.why)
		abort();
	if (r == NMP_SNI_FOUND) {
		if (s.name_len == 0 || s.name_len > NMP_SNI_MAX_NAME || strlen(s.name) != s.name_len)
			abort();
		for (size_t i = 0; i < s.name_len; i++)
			if ((unsigned char)s.name[i] <= ' ' || (unsigned char)s.name[i] >= 0x7f)
				abort();
		nm_host_norm(s.name, s.name_len, norm, sizeof(norm), NULL, 0);
	}
	if (r == NMP_SNI_FOUND || r == NMP_SNI_NONE) {
		if (s.hello_bytes == 0 || s.hello_bytes > size)
			abort();
		/* one byte less of the hello cannot be complete */
		if (nmp_sni_parse(data, s.hello_bytes - 1, &p) == NMP_SNI_FOUND ||
		    nmp_sni_parse(data, s.hello_bytes - 1, &p) == NMP_SNI_NONE)
			abort();
	}
	return 0;
}

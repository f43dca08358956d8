/*
 * libFuzzer harness for form: form_parse() on the input bytes, and
 * form_decode() on them with and without '+' as space. Checks invariants
 * (not only crashes): a refused body leaves the form empty with a message;
 * an accepted one has at most FORM_MAX_FIELDS fields, each a C string; a
 * decoded component percent-encoded again decodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Every byte of s[0..n) as %XX, then decoded again: must give s back. */
static void
roundtrip(const char *s, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*enc, *dec;
	size_t			 i, declen;

	if (n > SIZE_MAX / 3 || (enc = malloc(n * 3 + 1)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		enc[i * 3] = '%';
		enc[i * 3 + 1] = hex[(unsigned char)s[i] >> 4];
		enc[i * 3 + 2] = hex[(unsigned char)s[i] & 15];
	}
	dec = form_decode(enc, n * 3, 0, &declen);
	check(dec != NULL);
	check(declen == n && memcmp(dec, s, n) == 0 && dec[n] == '\0');
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body = (const char *)data;
	struct form	 f;
	char		 err[128], *s;
	size_t		 i, n;

	err[0] = 'x';
	if (form_parse(body, size, &f, err, sizeof(err)) == 0) {
		check(f.nfields <= FORM_MAX_FIELDS);
		for (i = 0; i < f.nfields; i++) {
			check(f.fields[i].key != NULL);
			check(f.fields[i].val != NULL);
			check(form_count(&f, f.fields[i].key) >= 1);
			check(form_get(&f, f.fields[i].key) != NULL);
		}
	} else {
		check(f.nfields == 0 && f.fields == NULL);
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	}
	form_free(&f);

	if ((s = form_decode(body, size, 1, &n)) != NULL) {
		check(n <= size && s[n] == '\0' && strlen(s) == n);
		roundtrip(s, n);
		free(s);
	}
	if ((s = form_decode(body, size, 0, &n)) != NULL) {
		check(n <= size && strlen(s) == n);
		free(s);
	}
	return 0;
}

/*
 * libFuzzer harness for image: image_check() on the input bytes, with a
 * limit of 4194304 pixels (so that a decodable input stays fast). Checks
 * invariants, not only crashes: a refused input leaves a reason and info
 * zeroed; an accepted one has the type its signature says, the matching
 * MIME type, a size within the limits and an orientation 1..8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define FUZZ_MAX_PIXELS	(1u << 22)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info	 info;
	char			 err[256];
	int			 png;

	err[0] = 'x';
	if (image_check(data, size, FUZZ_MAX_PIXELS, &info, err,
	    sizeof(err)) == -1) {
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		check(info.mime == NULL && info.width == 0 && info.height == 0);
		return 0;
	}
	png = size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
	check(png || (size >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0));
	check(info.type == (png ? IMAGE_PNG : IMAGE_JPEG));
	check(strcmp(info.mime, png ? "image/png" : "image/jpeg") == 0);
	check(info.width >= 1 && info.width <= IMAGE_SIDE_MAX);
	check(info.height >= 1 && info.height <= IMAGE_SIDE_MAX);
	check((uint64_t)info.width * info.height <= FUZZ_MAX_PIXELS);
	check(info.orientation >= 1 && info.orientation <= 8);
	check(!png || info.orientation == 1);
	return 0;
}

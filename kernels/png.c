/*
 * png: 8-bit RGB to PNG in memory, through libpng's simplified API.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "kernel_int.h"

int
kernel_png_encode(const unsigned char *rgb, unsigned w, unsigned h,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
	png_image	 img;
	png_alloc_size_t size = 0;
	unsigned char	*buf = NULL;
	int		 rc = -1;

	memset(&img, 0, sizeof(img));
	*out = NULL;
	*len = 0;
	if (w == 0 || h == 0 || w > 65535 || h > 65535) {
		snprintf(err, errlen, "png: bad image size %ux%u", w, h);
		goto out;
	}
	img.version = PNG_IMAGE_VERSION;
	img.width = w;
	img.height = h;
	img.format = PNG_FORMAT_RGB;
	/* First pass: the size the PNG needs. */
	if (!png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL) ||
	    size == 0) {
		snprintf(err, errlen, "png: %s", img.message);
		goto out;
	}
	if ((buf = malloc(size)) == NULL) {
		snprintf(err, errlen, "png: out of memory (%zu bytes)",
		    (size_t)size);
		goto out;
	}
	if (!png_image_write_to_memory(&img, buf, &size, 0, rgb, 0, NULL)) {
		snprintf(err, errlen, "png: %s", img.message);
		goto out;
	}
	*out = buf;
	*len = size;
	buf = NULL;
	rc = 0;
out:
	png_image_free(&img);
	free(buf);
	return rc;
}

/*
 * image: the checks of an uploaded image input (DESIGN.md, input type
 * "image"). An upload is accepted only when it is one whole PNG or JPEG
 * that decodes without error and is small enough; the type comes from the
 * file's signature, never from its name or a declared Content-Type. The
 * whole image is decoded here, in the request, so that a truncated or
 * corrupt upload is a 400 with a reason instead of a failed job later.
 *
 * Memory is bounded before it is spent: the declared size is checked
 * against the limits before any allocation that depends on it, rows are
 * decoded one at a time into one buffer (O(width)), and the only O(pixels)
 * buffer is libjpeg's coefficient store of a progressive (or multi-scan)
 * JPEG, bounded by IMAGE_JPEG_MEMORY.
 *
 * Pure functions of their arguments: thread-safe and fuzzable
 * (tests/fuzz/fuzz_image.c).
 */
#ifndef SLUICE_IMAGE_H
#define SLUICE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Pixels per side, whatever max_pixels allows (a JPEG cannot say more). */
#define IMAGE_SIDE_MAX		65535

/*
 * What libjpeg may hold at once to decode one JPEG. A progressive JPEG
 * keeps every DCT coefficient until its last scan: 2 bytes per pixel per
 * component (more at most 12% for the padding to whole MCUs), that is
 * 96 MiB for 16777216 pixels in colour (YCbCr 4:4:4) and 128 MiB in CMYK.
 * 192 MiB lets those through; a bigger one is refused ("needs more than
 * 192 MiB to decode").
 */
#define IMAGE_JPEG_MEMORY_MIB	192
#define IMAGE_JPEG_MEMORY	(IMAGE_JPEG_MEMORY_MIB * 1024UL * 1024)

/*
 * Scans of one JPEG. Every scan of a progressive JPEG walks the whole
 * coefficient store, and a scan can cost a few bytes of input, so many
 * scans are a CPU bomb; encoders write 10 or so (libjpeg's default script,
 * mozjpeg), and 64 is a one-coefficient-per-scan grey image.
 */
#define IMAGE_JPEG_SCANS_MAX	100

enum image_type {
	IMAGE_PNG,
	IMAGE_JPEG
};

struct image_info {
	enum image_type	 type;
	const char	*mime;		/* "image/png" or "image/jpeg" (static) */
	uint32_t	 width, height;	/* as stored (before orientation) */
	int		 orientation;	/* EXIF orientation 1..8; 1 when none (and for PNG) */
};

/*
 * Checks that data[0..len) is one whole, valid PNG or JPEG of at most
 * max_pixels pixels (0 refuses every image) and at most IMAGE_SIDE_MAX
 * per side. The type is told by the signature alone.
 *
 * The header is read first and the size checked before any allocation
 * that depends on it (a PNG declaring 50000x50000 is refused from its
 * IHDR, a JPEG from its SOF); then every row is decoded into one row
 * buffer, so that a truncated or corrupt image is refused here. (A JPEG
 * is decoded at 1/8 scale: all of its entropy-coded data is decoded and
 * checked all the same, only the inverse DCT is cheaper.)
 *
 * PNG: CRC errors are errors, in ancillary chunks too; ancillary chunks
 * but tRNS are skipped undecoded (no zTXt or iCCP bomb can cost memory or
 * time); libpng's benign errors (a duplicate or invalid tRNS) drop the
 * chunk and pass; unknown critical chunks are refused, and so is
 * anything after IEND. APNG passes as its first frame.
 * JPEG: any corrupt-data warning of libjpeg refuses the image (at the
 * first one), except two about header metadata only: an unknown JFIF
 * revision, an unknown Adobe transform code. Data after EOI is allowed
 * (phones append to it: motion photos, Samsung trailers). The orientation
 * is read from the first Exif APP1 segment (IFD0, tag 0x0112); anything
 * odd about it gives 1.
 *
 * Returns 0 with info filled, or -1 with info zeroed and a reason for the
 * user in err (cut to errlen; err may be NULL when errlen is 0), e.g.
 * "not a PNG or JPEG image", "truncated PNG", "truncated JPEG",
 * "50000x50000 pixels: more than the 16777216 allowed",
 * "70000x1 pixels: more than 65535 on a side",
 * "data after the end of the PNG", "corrupt PNG: IDAT: CRC error",
 * "corrupt JPEG: bad Huffman code".
 *
 * Thread-safe: no global state; libpng's and libjpeg's errors are caught
 * per call (setjmp), their warnings silenced; nothing is printed.
 */
int	image_check(const void *data, size_t len, uint64_t max_pixels,
	    struct image_info *info, char *err, size_t errlen);

#endif

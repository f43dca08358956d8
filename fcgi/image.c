/* image: uploaded PNG and JPEG images, decoded and checked. See image.h. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "image.h"

/* The biggest ancillary chunk libpng may allocate, and how many it keeps:
 * a second fence, as ancillary chunks are skipped anyway. */
#define IMAGE_PNG_CHUNK_MAX	(8UL * 1024 * 1024)
#define IMAGE_PNG_CHUNK_CACHE	64
#define IMAGE_MSG_MAX		200
#define IMAGE_STR(x)		IMAGE_STR1(x)
#define IMAGE_STR1(x)		#x

typedef int	image_check_fn(const unsigned char *, size_t, uint64_t,
		    struct image_info *, char *, size_t);

static image_check_fn	image_check_png, image_check_jpeg;

/* The formats, told apart by their signatures. */
static const struct image_format {
	enum image_type	 type;
	const char	*mime;
	const char	*sig;
	size_t		 siglen;
	image_check_fn	*check;
} image_formats[] = {
	{ IMAGE_PNG, "image/png", "\x89PNG\r\n\x1a\n", 8, image_check_png },
	{ IMAGE_JPEG, "image/jpeg", "\xff\xd8\xff", 3, image_check_jpeg },
};
#define IMAGE_NFORMATS	(sizeof(image_formats) / sizeof(image_formats[0]))

static int
image_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
image_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* 0 when a width x height image is within the limits, else -1 and why. */
static int
image_size_ok(uint32_t w, uint32_t h, uint64_t max_pixels, char *err,
    size_t errlen)
{
	if (w > IMAGE_SIDE_MAX || h > IMAGE_SIDE_MAX)
		return image_fail(err, errlen, "%" PRIu32 "x%" PRIu32 " pixels: "
		    "more than %d on a side", w, h, IMAGE_SIDE_MAX);
	if ((uint64_t)w * h > max_pixels)
		return image_fail(err, errlen, "%" PRIu32 "x%" PRIu32 " pixels: "
		    "more than the %" PRIu64 " allowed", w, h, max_pixels);
	return 0;
}

int
image_check(const void *data, size_t len, uint64_t max_pixels,
    struct image_info *info, char *err, size_t errlen)
{
	const struct image_format	*f;
	size_t				 i;

	memset(info, 0, sizeof(*info));
	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < IMAGE_NFORMATS; i++) {
		f = &image_formats[i];
		if (len < f->siglen || memcmp(data, f->sig, f->siglen) != 0)
			continue;
		info->type = f->type;
		info->mime = f->mime;
		info->orientation = 1;
		if (f->check(data, len, max_pixels, info, err, errlen) == 0)
			return 0;
		memset(info, 0, sizeof(*info));
		return -1;
	}
	return image_fail(err, errlen, "not a PNG or JPEG image");
}

/* --- PNG (libpng) --- */

struct image_png {
	const unsigned char	*data;
	size_t			 len, pos;
	png_structp		 png;
	png_infop		 info;
	unsigned char		*row;
	int			 truncated;
	char			 msg[IMAGE_MSG_MAX];
};

static uint32_t
image_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
image_png_error(png_structp png, png_const_charp msg)
{
	struct image_png	*p = png_get_error_ptr(png);

	snprintf(p->msg, sizeof(p->msg), "%s", msg != NULL ? msg : "error");
	png_longjmp(png, 1);
}

static void
image_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
image_png_read(png_structp png, png_bytep out, size_t n)
{
	struct image_png	*p = png_get_io_ptr(png);

	if (n > p->len - p->pos) {
		p->truncated = 1;
		png_error(png, "truncated");
	}
	memcpy(out, p->data + p->pos, n);
	p->pos += n;
}

/*
 * The size from the IHDR chunk, read by hand so that it is checked before
 * libpng allocates anything for it. Its CRC is libpng's to check.
 */
static int
image_png_header(const unsigned char *d, size_t len, uint64_t max_pixels,
    char *err, size_t errlen)
{
	uint32_t	 w, h;

	if (len < 8 + 8 + 13 + 4)
		return image_fail(err, errlen, "truncated PNG");
	if (image_be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
		return image_fail(err, errlen, "corrupt PNG: the first chunk is "
		    "not IHDR");
	w = image_be32(d + 16);
	h = image_be32(d + 20);
	if (w == 0 || h == 0)
		return image_fail(err, errlen, "corrupt PNG: a width or height "
		    "of 0");
	return image_size_ok(w, h, max_pixels, err, errlen);
}

/*
 * Decodes every row of p's PNG, passes and all, and the chunks up to
 * IEND. Returns 0, or -1 with p->msg set (libpng's error longjmps here).
 * Locals are not used after the longjmp; what must be freed is in *p.
 */
static int
image_png_decode(struct image_png *p)
{
	png_uint_32	 y, h;
	int		 pass, passes;

	if (setjmp(png_jmpbuf(p->png)))
		return -1;
	png_set_read_fn(p->png, p, image_png_read);
	png_set_user_limits(p->png, IMAGE_SIDE_MAX, IMAGE_SIDE_MAX);
	png_set_chunk_malloc_max(p->png, IMAGE_PNG_CHUNK_MAX);
	png_set_chunk_cache_max(p->png, IMAGE_PNG_CHUNK_CACHE);
	png_set_crc_action(p->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
	/* All but IHDR, PLTE, tRNS, IDAT and IEND: skipped, CRC checked. */
	png_set_keep_unknown_chunks(p->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	png_read_info(p->png, p->info);
	passes = png_set_interlace_handling(p->png);
	png_read_update_info(p->png, p->info);
	if ((p->row = malloc(png_get_rowbytes(p->png, p->info))) == NULL)
		png_error(p->png, "out of memory");
	h = png_get_image_height(p->png, p->info);
	for (pass = 0; pass < passes; pass++)
		for (y = 0; y < h; y++)
			png_read_row(p->png, p->row, NULL);
	png_read_end(p->png, NULL);
	return 0;
}

static int
image_check_png(const unsigned char *data, size_t len, uint64_t max_pixels,
    struct image_info *info, char *err, size_t errlen)
{
	struct image_png	 p = { .data = data, .len = len };
	int			 rc = -1;

	if (image_png_header(data, len, max_pixels, err, errlen) == -1)
		return -1;
	p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &p,
	    image_png_error, image_png_warning);
	if (p.png == NULL || (p.info = png_create_info_struct(p.png)) == NULL)
		image_fail(err, errlen, "out of memory");
	else if (image_png_decode(&p) == -1) {
		if (p.truncated)
			image_fail(err, errlen, "truncated PNG");
		else
			image_fail(err, errlen, "corrupt PNG: %s", p.msg);
	} else if (p.pos != len)
		image_fail(err, errlen, "data after the end of the PNG");
	else {
		info->width = png_get_image_width(p.png, p.info);
		info->height = png_get_image_height(p.png, p.info);
		rc = 0;
	}
	png_destroy_read_struct(&p.png, &p.info, NULL);
	free(p.row);
	return rc;
}

/* --- JPEG (libjpeg-turbo) --- */

struct image_jpeg {
	struct jpeg_error_mgr		 jerr;	/* first: cinfo->err points here */
	struct jpeg_progress_mgr	 progress;
	jmp_buf				 jb;
	char				 msg[JMSG_LENGTH_MAX + 32];
};

/* Warnings about header metadata only: the image data is whole. */
static const int image_jpeg_benign[] = { JWRN_JFIF_MAJOR, JWRN_ADOBE_XFORM };

/* libjpeg's messages that get a reason of their own. */
static const struct {
	int		 code;
	const char	*reason;
} image_jpeg_reasons[] = {
	{ JWRN_JPEG_EOF, "truncated JPEG" },
	{ JERR_INPUT_EOF, "truncated JPEG" },
	{ JERR_NO_BACKING_STORE, "JPEG: needs more than "
	    IMAGE_STR(IMAGE_JPEG_MEMORY_MIB) " MiB to decode" },
	{ JERR_OUT_OF_MEMORY, "out of memory" },
};

/* Sets j's message from libjpeg's last one and gives up (longjmp): the
 * error_exit of libjpeg, and the end of a warning. */
static void
image_jpeg_abort(j_common_ptr cinfo)
{
	struct image_jpeg	*j = (struct image_jpeg *)cinfo->err;
	char			 text[JMSG_LENGTH_MAX];
	const char		*t = text, *pre = "Corrupt JPEG data: ";
	size_t			 i;

	for (i = 0; i < sizeof(image_jpeg_reasons) /
	    sizeof(image_jpeg_reasons[0]); i++)
		if (image_jpeg_reasons[i].code == cinfo->err->msg_code) {
			snprintf(j->msg, sizeof(j->msg), "%s",
			    image_jpeg_reasons[i].reason);
			longjmp(j->jb, 1);
		}
	(*cinfo->err->format_message)(cinfo, text);
	if (strncmp(t, pre, strlen(pre)) == 0)
		t += strlen(pre);
	snprintf(j->msg, sizeof(j->msg), "corrupt JPEG: %s", t);
	longjmp(j->jb, 1);
}

/* A warning (level -1) refuses the image unless benign; traces (0 and up)
 * are ignored. */
static void
image_jpeg_message(j_common_ptr cinfo, int level)
{
	size_t	 i;

	if (level >= 0)
		return;
	for (i = 0; i < sizeof(image_jpeg_benign) /
	    sizeof(image_jpeg_benign[0]); i++)
		if (image_jpeg_benign[i] == cinfo->err->msg_code)
			return;
	image_jpeg_abort(cinfo);
}

/* Called before each chunk of input is absorbed: stops a scan bomb. */
static void
image_jpeg_progress(j_common_ptr cinfo)
{
	struct image_jpeg	*j = (struct image_jpeg *)cinfo->err;
	j_decompress_ptr	 d = (j_decompress_ptr)cinfo;

	if (d->input_scan_number > IMAGE_JPEG_SCANS_MAX) {
		snprintf(j->msg, sizeof(j->msg), "JPEG: more than %d scans",
		    IMAGE_JPEG_SCANS_MAX);
		longjmp(j->jb, 1);
	}
}

static unsigned
image_get16(const unsigned char *p, int be)
{
	return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t
image_get32(const unsigned char *p, int be)
{
	return be ? image_be32(p) : (uint32_t)p[3] << 24 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * The orientation in a TIFF structure t[0..n) (an Exif APP1 payload past
 * "Exif\0\0"): IFD0's tag 0x0112, one SHORT 1..8. Every offset is checked
 * against n; anything odd gives 1.
 */
static int
image_tiff_orientation(const unsigned char *t, size_t n)
{
	uint32_t	 ifd, count, i;
	const unsigned char *e;
	unsigned	 v;
	int		 be;

	if (n < 8 || (memcmp(t, "II", 2) != 0 && memcmp(t, "MM", 2) != 0))
		return 1;
	be = t[0] == 'M';
	if (image_get16(t + 2, be) != 42)
		return 1;
	if ((ifd = image_get32(t + 4, be)) > n - 2)
		return 1;
	count = image_get16(t + ifd, be);
	if (count > (n - ifd - 2) / 12)
		return 1;
	for (i = 0; i < count; i++) {
		e = t + ifd + 2 + 12 * i;
		if (image_get16(e, be) != 0x0112)
			continue;
		if (image_get16(e + 2, be) != 3 || image_get32(e + 4, be) != 1)
			return 1;
		v = image_get16(e + 8, be);
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* The orientation from the first Exif APP1 segment saved, or 1. */
static int
image_jpeg_orientation(j_decompress_ptr cinfo)
{
	jpeg_saved_marker_ptr	 m;

	for (m = cinfo->marker_list; m != NULL; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    memcmp(m->data, "Exif\0\0", 6) == 0)
			return image_tiff_orientation(m->data + 6,
			    m->data_length - 6);
	return 1;
}

/*
 * Decodes every scanline of data[0..len) (at 1/8 scale) with cinfo, j
 * being its error manager. Returns 0 with info's size and orientation
 * set, or -1 with j->msg set (libjpeg's errors and warnings longjmp
 * here). What libjpeg allocated is freed by jpeg_destroy_decompress(), in
 * the caller, which also created cinfo's error manager.
 */
static int
image_jpeg_decode(j_decompress_ptr cinfo, struct image_jpeg *j,
    const unsigned char *data, size_t len, uint64_t max_pixels,
    struct image_info *info)
{
	JSAMPARRAY	 row;

	if (setjmp(j->jb))
		return -1;
	jpeg_create_decompress(cinfo);
	cinfo->mem->max_memory_to_use = IMAGE_JPEG_MEMORY;
	cinfo->progress = &j->progress;
	jpeg_mem_src(cinfo, data, len);
	jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(cinfo, TRUE);
	if (image_size_ok(cinfo->image_width, cinfo->image_height, max_pixels,
	    j->msg, sizeof(j->msg)) == -1)
		return -1;
	info->width = cinfo->image_width;
	info->height = cinfo->image_height;
	info->orientation = image_jpeg_orientation(cinfo);
	/* At 1/8 scale: every bit of the entropy-coded data is still decoded
	 * (so checked), only the inverse DCT is cheaper (DC alone) and the
	 * rows fewer; a quarter less time for a baseline photo. */
	cinfo->scale_num = 1;
	cinfo->scale_denom = 8;
	jpeg_start_decompress(cinfo);
	row = (*cinfo->mem->alloc_sarray)((j_common_ptr)cinfo, JPOOL_IMAGE,
	    cinfo->output_width * cinfo->output_components, 1);
	while (cinfo->output_scanline < cinfo->output_height)
		jpeg_read_scanlines(cinfo, row, 1);
	jpeg_finish_decompress(cinfo);
	return 0;
}

static int
image_check_jpeg(const unsigned char *data, size_t len, uint64_t max_pixels,
    struct image_info *info, char *err, size_t errlen)
{
	struct jpeg_decompress_struct	 cinfo;
	struct image_jpeg		 j;
	int				 rc;

	memset(&cinfo, 0, sizeof(cinfo));
	memset(&j, 0, sizeof(j));
	cinfo.err = jpeg_std_error(&j.jerr);
	j.jerr.error_exit = image_jpeg_abort;
	j.jerr.emit_message = image_jpeg_message;
	j.progress.progress_monitor = image_jpeg_progress;
	if ((rc = image_jpeg_decode(&cinfo, &j, data, len, max_pixels,
	    info)) == -1)
		image_fail(err, errlen, "%s", j.msg);
	jpeg_destroy_decompress(&cinfo);
	return rc;
}

/*
 * Unit tests for image.c: uploaded PNG and JPEG images. The images are
 * made here with libpng's and libjpeg's writers (and by hand where a
 * writer would refuse to make them), then checked, broken and checked
 * again.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "image.h"

#define MAXPX	16777216

/* A growing byte buffer. */
struct mem {
	unsigned char	*p;
	size_t		 n, cap;
};

static void
mem_add(struct mem *m, const void *d, size_t n)
{
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		m->p = realloc(m->p, m->cap);
		cr_assert_not_null(m->p);
	}
	if (n > 0)
		memcpy(m->p + m->n, d, n);
	m->n += n;
}

static void
mem_free(struct mem *m)
{
	free(m->p);
	memset(m, 0, sizeof(*m));
}

/* Pixel bytes with some texture, so that the coders have work to do. */
static unsigned char
texture(size_t i, size_t y)
{
	return (unsigned char)(i * 7 + y * 13 + ((i * y) >> 3) + (i % 5) * 31);
}

static int
check(const struct mem *m, uint64_t max, struct image_info *info, char *err,
    size_t errlen)
{
	return image_check(m->p, m->n, max, info, err, errlen);
}

/* Refused, with a reason starting with prefix. */
static void
expect_refused(const struct mem *m, uint64_t max, const char *prefix)
{
	struct image_info	 info;
	char			 err[256];

	cr_expect_eq(check(m, max, &info, err, sizeof(err)), -1,
	    "accepted, %zu bytes", m->n);
	cr_expect(strncmp(err, prefix, strlen(prefix)) == 0,
	    "reason '%s', want '%s...'", err, prefix);
	cr_expect_null(info.mime);
}

/* --- PNG helpers --- */

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
crc32_of(const unsigned char *p, size_t n, uint32_t c)
{
	int	 k;

	c = ~c;
	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320 : c >> 1;
	}
	return ~c;
}

/* Appends one chunk, with its CRC. */
static void
add_chunk(struct mem *m, const char *type, const void *data, uint32_t n)
{
	unsigned char	 b[8];
	uint32_t	 c;

	put32(b, n);
	memcpy(b + 4, type, 4);
	mem_add(m, b, 8);
	mem_add(m, data, n);
	c = crc32_of(b + 4, 4, 0);
	c = crc32_of(data, n, c);
	put32(b, c);
	mem_add(m, b, 4);
}

/* The signature and an IHDR, by hand. */
static void
add_ihdr(struct mem *m, uint32_t w, uint32_t h, int depth, int colour)
{
	unsigned char	 d[13] = { 0 };

	mem_add(m, "\x89PNG\r\n\x1a\n", 8);
	put32(d, w);
	put32(d + 4, h);
	d[8] = depth;
	d[9] = colour;
	add_chunk(m, "IHDR", d, sizeof(d));
}

/* The offset of the first chunk of that type, or 0. */
static size_t
find_chunk(const struct mem *m, const char *type)
{
	size_t	 at = 8;

	while (at + 12 <= m->n) {
		if (memcmp(m->p + at + 4, type, 4) == 0)
			return at;
		at += 12 + get32(m->p + at);
	}
	return 0;
}

/* A copy of m with chunk bytes extra[0..n) inserted at offset at. */
static void
insert(struct mem *out, const struct mem *m, size_t at, const struct mem *extra)
{
	mem_add(out, m->p, at);
	mem_add(out, extra->p, extra->n);
	mem_add(out, m->p + at, m->n - at);
}

static void
png_put(png_structp png, png_bytep d, size_t n)
{
	mem_add(png_get_io_ptr(png), d, n);
}

static void
png_flush_none(png_structp png)
{
	(void)png;
}

struct png_spec {
	uint32_t	 w, h;
	int		 colour, depth, interlace;
	size_t		 ztxt;	/* bytes of a zTXt chunk's text, or 0 */
};

static void
png_add_palette(png_structp png, png_infop info, int depth)
{
	png_color	 pal[256];
	png_byte	 trns[256];
	int		 i, n = 1 << depth;

	for (i = 0; i < n; i++) {
		pal[i].red = i;
		pal[i].green = 255 - i;
		pal[i].blue = i * 3;
		trns[i] = 255 - i / 2;
	}
	png_set_PLTE(png, info, pal, n);
	png_set_tRNS(png, info, trns, n, NULL);
}

static void
png_add_ztxt(png_structp png, png_infop info, size_t n)
{
	png_text	 t;
	char		*s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	memset(&t, 0, sizeof(t));
	t.compression = PNG_TEXT_COMPRESSION_zTXt;
	t.key = "Comment";
	t.text = s;
	t.text_length = n;
	png_set_text(png, info, &t, 1);	/* copies */
	free(s);
}

/* A PNG as spec says, made with libpng's writer. */
static void
make_png(struct mem *m, const struct png_spec *s)
{
	png_structp	 png;
	png_infop	 info;
	unsigned char	*rows;
	png_bytep	*rp;
	size_t		 rb, i, y;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	cr_assert_not_null(png);
	info = png_create_info_struct(png);
	cr_assert_not_null(info);
	if (setjmp(png_jmpbuf(png)))
		cr_assert_fail("libpng could not write the PNG");
	png_set_write_fn(png, m, png_put, png_flush_none);
	png_set_IHDR(png, info, s->w, s->h, s->depth, s->colour,
	    s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (s->colour == PNG_COLOR_TYPE_PALETTE)
		png_add_palette(png, info, s->depth);
	if (s->ztxt > 0)
		png_add_ztxt(png, info, s->ztxt);
	png_write_info(png, info);
	rb = png_get_rowbytes(png, info);
	rows = malloc(rb * s->h);
	rp = malloc(s->h * sizeof(*rp));
	cr_assert(rows != NULL && rp != NULL);
	for (y = 0; y < s->h; y++) {
		rp[y] = rows + y * rb;
		for (i = 0; i < rb; i++)
			rp[y][i] = texture(i, y);
	}
	png_write_image(png, rp);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(rp);
	free(rows);
}

static void
make_png_rgb(struct mem *m, uint32_t w, uint32_t h)
{
	struct png_spec	 s = { w, h, PNG_COLOR_TYPE_RGB, 8, 0, 0 };

	make_png(m, &s);
}

static void
expect_png(const struct png_spec *s)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_png(&m, s);
	cr_assert_eq(check(&m, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(info.type, IMAGE_PNG);
	cr_expect_str_eq(info.mime, "image/png");
	cr_expect_eq(info.width, s->w);
	cr_expect_eq(info.height, s->h);
	cr_expect_eq(info.orientation, 1);
	mem_free(&m);
}

/* --- JPEG helpers --- */

struct jpeg_spec {
	int		 w, h, comps, progressive;
	const unsigned char *app1;	/* an APP1 payload, or NULL */
	size_t		 app1len;
	int		 one_scan_per_coef;	/* 1 + 63 x comps scans */
};

static void
jpeg_set_scans(struct jpeg_compress_struct *c, jpeg_scan_info *scans)
{
	int	 ci, k, n = 0;

	scans[n].comps_in_scan = c->num_components;
	for (ci = 0; ci < c->num_components; ci++)
		scans[n].component_index[ci] = ci;
	scans[n].Ss = scans[n].Se = scans[n].Ah = scans[n].Al = 0;
	n++;
	for (ci = 0; ci < c->num_components; ci++)
		for (k = 1; k < 64; k++, n++) {
			scans[n].comps_in_scan = 1;
			scans[n].component_index[0] = ci;
			scans[n].Ss = scans[n].Se = k;
			scans[n].Ah = scans[n].Al = 0;
		}
	c->scan_info = scans;
	c->num_scans = n;
}

/* A JPEG as spec says, made with libjpeg's writer. */
static void
make_jpeg(struct mem *m, const struct jpeg_spec *s)
{
	struct jpeg_compress_struct	 c;
	struct jpeg_error_mgr		 e;
	jpeg_scan_info			 scans[1 + 63 * 4];
	unsigned char			*out = NULL, *row;
	unsigned long			 size = 0;
	size_t				 i, stride = (size_t)s->w * s->comps;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &size);
	c.image_width = s->w;
	c.image_height = s->h;
	c.input_components = s->comps;
	c.in_color_space = s->comps == 1 ? JCS_GRAYSCALE :
	    s->comps == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	if (s->progressive)
		jpeg_simple_progression(&c);
	if (s->one_scan_per_coef)
		jpeg_set_scans(&c, scans);
	jpeg_start_compress(&c, TRUE);
	if (s->app1 != NULL)
		jpeg_write_marker(&c, JPEG_APP0 + 1, s->app1, s->app1len);
	row = malloc(stride);
	cr_assert_not_null(row);
	while (c.next_scanline < c.image_height) {
		for (i = 0; i < stride; i++)
			row[i] = texture(i, c.next_scanline);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	mem_add(m, out, size);
	free(out);
	free(row);
}

static void
make_jpeg_rgb(struct mem *m, int w, int h)
{
	struct jpeg_spec	 s = { w, h, 3, 0, NULL, 0, 0 };

	make_jpeg(m, &s);
}

static void
expect_jpeg(const struct jpeg_spec *s, int orientation)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_jpeg(&m, s);
	cr_assert_eq(check(&m, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(info.type, IMAGE_JPEG);
	cr_expect_str_eq(info.mime, "image/jpeg");
	cr_expect_eq(info.width, (uint32_t)s->w);
	cr_expect_eq(info.height, (uint32_t)s->h);
	cr_expect_eq(info.orientation, orientation);
	mem_free(&m);
}

static void
put16x(unsigned char *p, unsigned v, int be)
{
	p[be ? 0 : 1] = v >> 8;
	p[be ? 1 : 0] = v;
}

static void
put32x(unsigned char *p, uint32_t v, int be)
{
	put16x(p + (be ? 0 : 2), v >> 16, be);
	put16x(p + (be ? 2 : 0), v & 0xffff, be);
}

/*
 * An Exif APP1 payload in out (64 bytes): TIFF header in big- or
 * little-endian order, IFD0 at offset ifd with a Make tag and then the
 * orientation tag (type, count, value).
 */
static size_t
make_exif(unsigned char *out, int be, uint32_t ifd, unsigned type,
    uint32_t count, unsigned value)
{
	unsigned char	*t = out + 6;

	memset(out, 0, 64);
	memcpy(out, "Exif\0\0", 6);
	memcpy(t, be ? "MM" : "II", 2);
	put16x(t + 2, 42, be);
	put32x(t + 4, ifd, be);
	put16x(t + 8, 2, be);
	put16x(t + 10, 0x010f, be);	/* Make, ASCII "abc" */
	put16x(t + 12, 2, be);
	put32x(t + 14, 4, be);
	memcpy(t + 18, "abc", 4);
	put16x(t + 22, 0x0112, be);	/* Orientation */
	put16x(t + 24, type, be);
	put32x(t + 26, count, be);
	put16x(t + 30, value, be);
	return 6 + 8 + 2 + 2 * 12 + 4;
}

static void
expect_orientation(int be, uint32_t ifd, unsigned type, uint32_t count,
    unsigned value, int want)
{
	unsigned char		 exif[64];
	struct jpeg_spec	 s = { 24, 16, 3, 0, exif, 0, 0 };

	s.app1len = make_exif(exif, be, ifd, type, count, value);
	expect_jpeg(&s, want);
}

/* The offset of the first entropy-coded byte of the first scan. */
static size_t
jpeg_scan_data(const struct mem *m)
{
	size_t	 i;

	for (i = 2; i + 4 < m->n; i++)
		if (m->p[i] == 0xff && m->p[i + 1] == 0xda)
			return i + 2 + ((size_t)m->p[i + 2] << 8 | m->p[i + 3]);
	cr_assert_fail("no SOS");
	return 0;
}

/* --- tests: what is accepted --- */

static struct png_spec png_accepted[] = {
	{ 64, 48, PNG_COLOR_TYPE_RGB, 8, 0, 0 },
	{ 31, 7, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0 },
	{ 100, 3, PNG_COLOR_TYPE_GRAY, 8, 0, 0 },
	{ 5, 90, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0 },
	{ 77, 13, PNG_COLOR_TYPE_GRAY, 1, 0, 0 },
	{ 40, 40, PNG_COLOR_TYPE_PALETTE, 8, 0, 0 },	/* with tRNS */
	{ 41, 9, PNG_COLOR_TYPE_PALETTE, 4, 0, 0 },
	{ 33, 21, PNG_COLOR_TYPE_RGB, 16, 0, 0 },
	{ 33, 17, PNG_COLOR_TYPE_RGB, 8, 1, 0 },	/* interlaced */
	{ 3, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0 },	/* some passes empty */
	{ 1, 1, PNG_COLOR_TYPE_GRAY, 8, 0, 0 },
};

ParameterizedTestParameters(image_png, accepted)
{
	return cr_make_param_array(struct png_spec, png_accepted,
	    sizeof(png_accepted) / sizeof(png_accepted[0]));
}

/* Each colour type, bit depths, interlaced or not: accepted, sized. */
ParameterizedTest(struct png_spec *s, image_png, accepted)
{
	expect_png(s);
}

/* 16 MiB of zTXt text (more than libpng may allocate): skipped, not
 * inflated, so the image passes. */
Test(image_png, ztxt_bomb_skipped)
{
	struct png_spec	 s = { 8, 8, PNG_COLOR_TYPE_RGB, 8, 0, 16 << 20 };
	struct mem	 m = { 0 };

	make_png(&m, &s);
	cr_assert_lt(m.n, 1 << 20, "the zTXt is compressed");
	cr_assert_neq(find_chunk(&m, "zTXt"), 0);
	mem_free(&m);
	expect_png(&s);
}

/* An APNG's chunks (acTL, fcTL, fdAT) are ancillary: its first frame is
 * a PNG. */
Test(image_png, apng_as_first_frame)
{
	struct mem		 m = { 0 }, extra = { 0 }, a = { 0 }, b = { 0 };
	struct image_info	 info;
	unsigned char		 actl[8] = { 0, 0, 0, 2, 0, 0, 0, 0 };
	unsigned char		 fctl[26] = { 0 }, fdat[64] = { 0 };
	char			 err[256];

	make_png_rgb(&m, 16, 16);
	put32(fctl + 4, 16);
	put32(fctl + 8, 16);
	add_chunk(&extra, "acTL", actl, sizeof(actl));
	add_chunk(&extra, "fcTL", fctl, sizeof(fctl));
	insert(&a, &m, find_chunk(&m, "IDAT"), &extra);
	mem_free(&extra);
	add_chunk(&extra, "fcTL", fctl, sizeof(fctl));
	add_chunk(&extra, "fdAT", fdat, sizeof(fdat));
	insert(&b, &a, find_chunk(&a, "IEND"), &extra);
	cr_expect_eq(check(&b, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(info.width, 16);
	mem_free(&m);
	mem_free(&a);
	mem_free(&b);
	mem_free(&extra);
}

Test(image_png, pixels_exactly_at_max)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_png_rgb(&m, 100, 100);
	cr_expect_eq(check(&m, 10000, &info, err, sizeof(err)), 0, "%s", err);
	mem_free(&m);
}

/* A duplicate tRNS is a benign error to libpng (a warning, silenced):
 * the chunk is dropped and the image passes. */
Test(image_png, duplicate_trns_tolerated)
{
	struct png_spec		 s = { 16, 16, PNG_COLOR_TYPE_PALETTE, 8, 0, 0 };
	struct mem		 m = { 0 }, extra = { 0 }, b = { 0 };
	struct image_info	 info;
	char			 err[256];
	size_t			 at;

	make_png(&m, &s);
	at = find_chunk(&m, "tRNS");
	cr_assert_neq(at, 0);
	mem_add(&extra, m.p + at, 12 + get32(m.p + at));
	insert(&b, &m, at, &extra);
	cr_expect_eq(check(&b, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	mem_free(&m);
	mem_free(&extra);
	mem_free(&b);
}

/* --- tests: PNG refused --- */

Test(image_png, pixels_one_over_max)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_png_rgb(&m, 100, 101);
	cr_expect_eq(check(&m, 10000, &info, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "100x101 pixels: more than the 10000 allowed");
	mem_free(&m);
}

/*
 * Only a signature, an IHDR of 50000x50000 (valid CRC) and IEND: the
 * reason names the pixel count, so it came from the IHDR alone (libpng
 * would have said "Missing IDAT" or tried 7.5 GB of rows).
 */
Test(image_png, huge_ihdr_refused_from_header)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	add_ihdr(&m, 50000, 50000, 8, PNG_COLOR_TYPE_RGB);
	add_chunk(&m, "IEND", "", 0);
	cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "50000x50000 pixels: more than the 16777216 "
	    "allowed");
	mem_free(&m);
}

Test(image_png, side_over_65535)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	add_ihdr(&m, 70000, 1, 8, PNG_COLOR_TYPE_GRAY);
	add_chunk(&m, "IEND", "", 0);
	cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "70000x1 pixels: more than 65535 on a side");
	mem_free(&m);
}

Test(image_png, zero_width)
{
	struct mem	 m = { 0 };

	add_ihdr(&m, 0, 10, 8, PNG_COLOR_TYPE_GRAY);
	add_chunk(&m, "IEND", "", 0);
	expect_refused(&m, MAXPX, "corrupt PNG: a width or height of 0");
	mem_free(&m);
}

Test(image_png, bad_bit_depth)
{
	struct mem	 m = { 0 };

	add_ihdr(&m, 10, 10, 7, PNG_COLOR_TYPE_GRAY);
	add_chunk(&m, "IEND", "", 0);
	expect_refused(&m, MAXPX, "corrupt PNG: ");
	mem_free(&m);
}

Test(image_png, first_chunk_not_ihdr)
{
	struct mem	 m = { 0 }, extra = { 0 }, b = { 0 };

	make_png_rgb(&m, 8, 8);
	add_chunk(&extra, "tEXt", "a\0b", 3);
	insert(&b, &m, 8, &extra);
	expect_refused(&b, MAXPX, "corrupt PNG: the first chunk is not IHDR");
	mem_free(&m);
	mem_free(&extra);
	mem_free(&b);
}

Test(image_png, truncated_in_ihdr)
{
	struct mem	 m = { 0 };

	make_png_rgb(&m, 8, 8);
	m.n = 20;
	expect_refused(&m, MAXPX, "truncated PNG");
	mem_free(&m);
}

Test(image_png, truncated_in_idat)
{
	struct mem	 m = { 0 };
	size_t		 at;

	make_png_rgb(&m, 64, 64);
	at = find_chunk(&m, "IDAT");
	cr_assert_neq(at, 0);
	m.n = at + 8 + get32(m.p + at) / 2;
	expect_refused(&m, MAXPX, "truncated PNG");
	mem_free(&m);
}

Test(image_png, truncated_before_iend)
{
	struct mem	 m = { 0 };

	make_png_rgb(&m, 64, 64);
	m.n = find_chunk(&m, "IEND");
	cr_assert_neq(m.n, 0);
	expect_refused(&m, MAXPX, "truncated PNG");
	mem_free(&m);
}

/* Every proper prefix of a PNG is refused. */
Test(image_png, every_prefix_refused)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];
	size_t			 n, all;

	make_png_rgb(&m, 12, 10);
	all = m.n;
	for (n = 0; n < all; n++) {
		m.n = n;
		cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), -1,
		    "prefix of %zu bytes accepted", n);
	}
	m.n = all;
	cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	mem_free(&m);
}

Test(image_png, bad_crc_in_idat)
{
	struct mem	 m = { 0 };
	size_t		 at;

	make_png_rgb(&m, 16, 16);
	at = find_chunk(&m, "IDAT");
	m.p[at + 8 + get32(m.p + at)] ^= 0x01;
	expect_refused(&m, MAXPX, "corrupt PNG: IDAT: CRC error");
	mem_free(&m);
}

Test(image_png, bad_crc_in_ihdr)
{
	struct mem	 m = { 0 };

	make_png_rgb(&m, 16, 16);
	m.p[8 + 8 + 13] ^= 0x80;
	expect_refused(&m, MAXPX, "corrupt PNG: IHDR: CRC error");
	mem_free(&m);
}

/* Ancillary chunks are skipped, but their CRC is still checked. */
Test(image_png, bad_crc_in_ancillary_chunk)
{
	struct mem	 m = { 0 }, extra = { 0 }, b = { 0 };

	make_png_rgb(&m, 16, 16);
	add_chunk(&extra, "tEXt", "Title\0x", 7);
	extra.p[extra.n - 1] ^= 0x01;
	insert(&b, &m, find_chunk(&m, "IDAT"), &extra);
	expect_refused(&b, MAXPX, "corrupt PNG: tEXt: CRC error");
	mem_free(&m);
	mem_free(&extra);
	mem_free(&b);
}

/* A byte of the zlib stream changed, with the chunk's CRC made good. */
Test(image_png, corrupt_zlib_data)
{
	struct mem	 m = { 0 };
	size_t		 at, n;
	uint32_t	 c;

	make_png_rgb(&m, 64, 64);
	at = find_chunk(&m, "IDAT");
	n = get32(m.p + at);
	m.p[at + 8 + n / 2] ^= 0x55;
	c = crc32_of(m.p + at + 4, 4 + n, 0);
	put32(m.p + at + 8 + n, c);
	expect_refused(&m, MAXPX, "corrupt PNG: ");
	mem_free(&m);
}

Test(image_png, unknown_critical_chunk)
{
	struct mem	 m = { 0 }, extra = { 0 }, b = { 0 };

	make_png_rgb(&m, 16, 16);
	add_chunk(&extra, "ABCD", "xyz", 3);
	insert(&b, &m, find_chunk(&m, "IDAT"), &extra);
	expect_refused(&b, MAXPX, "corrupt PNG: ");
	mem_free(&m);
	mem_free(&extra);
	mem_free(&b);
}

Test(image_png, palette_without_plte)
{
	struct png_spec	 s = { 16, 16, PNG_COLOR_TYPE_PALETTE, 8, 0, 0 };
	struct mem	 m = { 0 }, b = { 0 };
	size_t		 at;

	make_png(&m, &s);
	at = find_chunk(&m, "PLTE");
	cr_assert_neq(at, 0);
	mem_add(&b, m.p, at);
	at += 12 + get32(m.p + at);
	mem_add(&b, m.p + at, m.n - at);
	expect_refused(&b, MAXPX, "corrupt PNG: ");
	mem_free(&m);
	mem_free(&b);
}

Test(image_png, data_after_iend)
{
	struct mem	 m = { 0 };

	make_png_rgb(&m, 16, 16);
	mem_add(&m, "\0", 1);
	expect_refused(&m, MAXPX, "data after the end of the PNG");
	mem_add(&m, "GIF89a and more", 15);
	expect_refused(&m, MAXPX, "data after the end of the PNG");
	mem_free(&m);
}

/* --- tests: JPEG accepted --- */

static struct jpeg_spec jpeg_accepted[] = {
	{ 64, 48, 3, 0, NULL, 0, 0 },	/* baseline, 4:2:0 */
	{ 33, 17, 3, 0, NULL, 0, 0 },	/* partial MCUs */
	{ 70, 50, 3, 1, NULL, 0, 0 },	/* progressive */
	{ 40, 30, 1, 0, NULL, 0, 0 },	/* grey */
	{ 40, 30, 1, 1, NULL, 0, 0 },	/* grey progressive */
	{ 20, 20, 4, 0, NULL, 0, 0 },	/* CMYK */
	{ 32, 32, 1, 0, NULL, 0, 1 },	/* 64 scans: within the limit */
};

ParameterizedTestParameters(image_jpeg, accepted)
{
	return cr_make_param_array(struct jpeg_spec, jpeg_accepted,
	    sizeof(jpeg_accepted) / sizeof(jpeg_accepted[0]));
}

ParameterizedTest(struct jpeg_spec *s, image_jpeg, accepted)
{
	expect_jpeg(s, 1);
}

Test(image_jpeg, pixels_exactly_at_max)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_jpeg_rgb(&m, 100, 100);
	cr_expect_eq(check(&m, 10000, &info, err, sizeof(err)), 0, "%s", err);
	mem_free(&m);
}

/* Phones append data after EOI (motion photos): allowed. */
Test(image_jpeg, data_after_eoi)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_jpeg_rgb(&m, 16, 16);
	mem_add(&m, "....ftypmp42 and so on", 22);
	cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), 0, "%s", err);
	mem_free(&m);
}

/* --- tests: Exif orientation --- */

Test(image_exif, orientation_6_little_endian)
{
	expect_orientation(0, 8, 3, 1, 6, 6);
}

Test(image_exif, orientation_6_big_endian)
{
	expect_orientation(1, 8, 3, 1, 6, 6);
}

Test(image_exif, orientation_8_both_orders)
{
	expect_orientation(0, 8, 3, 1, 8, 8);
	expect_orientation(1, 8, 3, 1, 8, 8);
}

Test(image_exif, orientation_1_to_8_as_stated)
{
	unsigned	 v;

	for (v = 1; v <= 8; v++)
		expect_orientation(v % 2, 8, 3, 1, v, (int)v);
}

Test(image_exif, odd_values_give_1)
{
	expect_orientation(0, 8, 3, 1, 0, 1);		/* out of range */
	expect_orientation(1, 8, 3, 1, 9, 1);
	expect_orientation(0, 8, 4, 1, 6, 1);		/* LONG, not SHORT */
	expect_orientation(1, 8, 3, 2, 6, 1);		/* two values */
	expect_orientation(0, 40, 3, 1, 6, 1);		/* IFD past the end */
	expect_orientation(1, 0xfffffff0, 3, 1, 6, 1);	/* offset wraps */
	expect_orientation(0, 31, 3, 1, 6, 1);		/* IFD's entries cut */
}

Test(image_exif, no_exif_or_not_tiff_gives_1)
{
	unsigned char		 exif[64];
	const char		*xmp = "http://ns.adobe.com/xap/1.0/\0<x/>";
	struct jpeg_spec	 s = { 24, 16, 3, 0, (const unsigned char *)xmp,
	    34, 0 };

	expect_jpeg(&s, 1);
	s.app1len = make_exif(exif, 0, 8, 3, 1, 6);
	exif[6] = 'X';		/* "XI": not a byte order */
	s.app1 = exif;
	expect_jpeg(&s, 1);
	s.app1len = 6 + 4;	/* a TIFF header cut short */
	expect_jpeg(&s, 1);
}

/* A huge IFD entry count, the rest bounded by the segment. */
Test(image_exif, huge_entry_count_gives_1)
{
	unsigned char		 exif[64];
	struct jpeg_spec	 s = { 24, 16, 3, 0, exif, 0, 0 };

	s.app1len = make_exif(exif, 1, 8, 3, 1, 6);
	exif[6 + 8] = 0xff;
	exif[6 + 9] = 0xff;
	expect_jpeg(&s, 1);
}

/* --- tests: JPEG refused --- */

Test(image_jpeg, pixels_one_over_max)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];

	make_jpeg_rgb(&m, 100, 101);
	cr_expect_eq(check(&m, 10000, &info, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "100x101 pixels: more than the 10000 allowed");
	mem_free(&m);
}

/* The SOF of an 8x8 image made to say 60000x60000. */
Test(image_jpeg, huge_sof_refused_from_header)
{
	struct mem	 m = { 0 };
	size_t		 i;

	make_jpeg_rgb(&m, 8, 8);
	for (i = 2; i + 9 < m.n; i++)
		if (m.p[i] == 0xff && m.p[i + 1] == 0xc0)
			break;
	cr_assert_lt(i + 9, m.n, "no SOF0");
	m.p[i + 5] = 60000 >> 8;
	m.p[i + 6] = 60000 & 0xff;
	m.p[i + 7] = 60000 >> 8;
	m.p[i + 8] = 60000 & 0xff;
	expect_refused(&m, MAXPX, "60000x60000 pixels: more than the "
	    "16777216 allowed");
	mem_free(&m);
}

Test(image_jpeg, truncated_in_header)
{
	struct mem	 m = { 0 };

	make_jpeg_rgb(&m, 32, 32);
	m.n = 20;
	expect_refused(&m, MAXPX, "truncated JPEG");
	m.n = 3;
	expect_refused(&m, MAXPX, "truncated JPEG");
	mem_free(&m);
}

Test(image_jpeg, truncated_in_data)
{
	struct mem	 m = { 0 };
	size_t		 data;

	make_jpeg_rgb(&m, 64, 64);
	data = jpeg_scan_data(&m);
	m.n = data + (m.n - data) / 2;
	expect_refused(&m, MAXPX, "truncated JPEG");
	mem_free(&m);
}

Test(image_jpeg, eoi_missing)
{
	struct mem	 m = { 0 };

	make_jpeg_rgb(&m, 64, 64);
	m.n -= 2;
	expect_refused(&m, MAXPX, "truncated JPEG");
	mem_free(&m);
}

Test(image_jpeg, progressive_truncated)
{
	struct jpeg_spec	 s = { 64, 64, 3, 1, NULL, 0, 0 };
	struct mem		 m = { 0 };

	make_jpeg(&m, &s);
	m.n = m.n * 2 / 3;
	expect_refused(&m, MAXPX, "truncated JPEG");
	mem_free(&m);
}

/* Every proper prefix of a JPEG is refused (the EOI is required). */
Test(image_jpeg, every_prefix_refused)
{
	struct mem		 m = { 0 };
	struct image_info	 info;
	char			 err[256];
	size_t			 n, all;

	make_jpeg_rgb(&m, 16, 16);
	all = m.n;
	for (n = 0; n < all; n++) {
		m.n = n;
		cr_expect_eq(check(&m, MAXPX, &info, err, sizeof(err)), -1,
		    "prefix of %zu bytes accepted", n);
	}
	mem_free(&m);
}

/* 0xff 0x00 is a stuffed 0xff: a run of one bits, never a Huffman code. */
Test(image_jpeg, garbage_in_entropy_data)
{
	struct mem	 m = { 0 };
	size_t		 data, at, i;

	make_jpeg_rgb(&m, 64, 64);
	data = jpeg_scan_data(&m);
	at = data + (m.n - data) / 3;
	cr_assert_lt(at + 40, m.n - 2);
	for (i = 0; i < 40; i += 2) {
		m.p[at + i] = 0xff;
		m.p[at + i + 1] = 0x00;
	}
	expect_refused(&m, MAXPX, "corrupt JPEG: ");
	mem_free(&m);
}

/* A third of the entropy data cut out: the decoder runs into EOI early. */
Test(image_jpeg, entropy_data_cut_out)
{
	struct mem	 m = { 0 }, b = { 0 };
	size_t		 data, third;

	make_jpeg_rgb(&m, 64, 64);
	data = jpeg_scan_data(&m);
	third = (m.n - 2 - data) / 3;
	mem_add(&b, m.p, data + third);
	mem_add(&b, m.p + data + 2 * third, m.n - data - 2 * third);
	expect_refused(&b, MAXPX, "corrupt JPEG: ");
	mem_free(&m);
	mem_free(&b);
}

/* 1 + 3 x 63 scans: a CPU bomb's shape, refused while reading them. */
Test(image_jpeg, too_many_scans)
{
	struct jpeg_spec	 s = { 32, 32, 3, 0, NULL, 0, 1 };
	struct mem		 m = { 0 };

	make_jpeg(&m, &s);
	expect_refused(&m, MAXPX, "JPEG: more than 100 scans");
	mem_free(&m);
}

Test(image_jpeg, bogus_marker_length)
{
	struct mem	 m = { 0 };

	mem_add(&m, "\xff\xd8\xff\xc4\x00\x03junk junk junk", 21);
	expect_refused(&m, MAXPX, "corrupt JPEG: Bogus marker length");
	mem_free(&m);
}

/* --- tests: neither, and the contract --- */

Test(image, not_an_image)
{
	static const struct {
		const char	*what, *data;
		size_t		 len;
	} v[] = {
		{ "empty", "", 0 },
		{ "GIF89a", "GIF89a\x01\x00\x01\x00\x80\x00\x00", 13 },
		{ "GIF87a", "GIF87a\x01\x00\x01\x00\x80\x00\x00", 13 },
		{ "WebP", "RIFF\x24\x00\x00\x00WEBPVP8 ", 16 },
		{ "BMP", "BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00", 12 },
		{ "text", "<svg xmlns='http://www.w3.org/2000/svg'/>", 41 },
		{ "PNG signature cut", "\x89PNG\r\n\x1a", 7 },
		{ "JPEG SOI alone", "\xff\xd8", 2 },
		{ "NUL bytes", "\0\0\0\0\0\0\0\0\0\0", 10 },
	};
	struct image_info	 info;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_expect_eq(image_check(v[i].data, v[i].len, MAXPX, &info,
		    err, sizeof(err)), -1, "%s", v[i].what);
		cr_expect_str_eq(err, "not a PNG or JPEG image", "%s",
		    v[i].what);
	}
}

Test(image, random_bytes)
{
	struct image_info	 info;
	unsigned char		 b[4096];
	char			 err[256];
	uint32_t		 x = 2463534242u;
	size_t			 i;

	for (i = 0; i < sizeof(b); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = x;
	}
	b[0] = 0x42;
	cr_expect_eq(image_check(b, sizeof(b), MAXPX, &info, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "not a PNG or JPEG image");
	/* Random bytes behind each signature: refused as that type. */
	memcpy(b, "\x89PNG\r\n\x1a\n", 8);
	cr_expect_eq(image_check(b, sizeof(b), MAXPX, &info, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "PNG") != NULL, "%s", err);
	memcpy(b, "\xff\xd8\xff", 3);
	cr_expect_eq(image_check(b, sizeof(b), MAXPX, &info, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "JPEG") != NULL, "%s", err);
}

/* The type comes from the bytes: a PNG behind one byte is no image. */
Test(image, type_from_signature_only)
{
	struct mem	 m = { 0 }, b = { 0 };

	make_png_rgb(&m, 8, 8);
	mem_add(&b, " ", 1);
	mem_add(&b, m.p, m.n);
	expect_refused(&b, MAXPX, "not a PNG or JPEG image");
	mem_free(&m);
	mem_free(&b);
}

Test(image, max_pixels_zero_refuses_all)
{
	struct mem	 m = { 0 };

	make_png_rgb(&m, 1, 1);
	expect_refused(&m, 0, "1x1 pixels: more than the 0 allowed");
	mem_free(&m);
}

Test(image, reason_cut_to_errlen)
{
	struct image_info	 info;
	char			 err[5] = "zzzz";

	cr_expect_eq(image_check("GIF89a", 6, MAXPX, &info, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "not ");
	cr_expect_eq(image_check("GIF89a", 6, MAXPX, &info, NULL, 0), -1);
}

/*
 * libpng and libjpeg print their warnings and errors to stderr by
 * default; here nothing is printed, whatever the image.
 */
Test(image, nothing_printed)
{
	struct mem		 png = { 0 }, jpg = { 0 };
	struct image_info	 info;
	char			 err[256], path[] = "/tmp/test_image.XXXXXX";
	int			 fd, saved;
	off_t			 size;

	make_png_rgb(&png, 16, 16);
	png.p[find_chunk(&png, "IDAT") + 20] ^= 0x10;
	make_jpeg_rgb(&jpg, 64, 64);
	jpg.p[jpeg_scan_data(&jpg) + 100] ^= 0x5a;
	jpg.n -= 2;
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	check(&png, MAXPX, &info, err, sizeof(err));
	check(&jpg, MAXPX, &info, err, sizeof(err));
	jpg.n = 20;
	check(&jpg, MAXPX, &info, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	cr_expect_eq(size, 0, "%lld bytes printed", (long long)size);
	mem_free(&png);
	mem_free(&jpg);
}

/* Several threads checking at once (no shared state): same answers. */
struct worker {
	const struct mem	*imgs;
	const int		*want;
	size_t			 nimgs;
	int			 wrong;
};

static void *
run_worker(void *arg)
{
	struct worker		*w = arg;
	struct image_info	 info;
	char			 err[256];
	size_t			 i, round;

	for (round = 0; round < 30; round++)
		for (i = 0; i < w->nimgs; i++)
			if (check(&w->imgs[i], MAXPX, &info, err,
			    sizeof(err)) != w->want[i])
				w->wrong++;
	return NULL;
}

Test(image, threads)
{
	struct mem	 imgs[4] = { { 0 } };
	const int	 want[4] = { 0, 0, -1, -1 };
	struct worker	 w[4];
	pthread_t	 t[4];
	size_t		 i;

	make_png_rgb(&imgs[0], 40, 30);
	make_jpeg_rgb(&imgs[1], 40, 30);
	make_jpeg_rgb(&imgs[2], 40, 30);
	imgs[2].n -= 10;
	make_png_rgb(&imgs[3], 40, 30);
	imgs[3].p[40] ^= 1;
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ imgs, want, 4, 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, run_worker, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].wrong, 0, "thread %zu", i);
	}
	for (i = 0; i < 4; i++)
		mem_free(&imgs[i]);
}

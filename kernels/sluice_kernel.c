/*
 * sluice-kernel: runs one kernel outside the server and prints its result
 * JSON; writes the PNG with -o. With --vs-cpu it runs the job on the GPU
 * and on the CPU and prints both results and how their images differ
 * (with --cpu as well: the CPU against itself, a check of the check).
 * For users checking their GPU, benchmarks and tests.
 *
 *	sluice-kernel NAME [key=value ...] [-o FILE] [--cpu] [--device N]
 *	sluice-kernel NAME [key=value ...] --vs-cpu [--device N]
 *	sluice-kernel -l
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "kernel_run.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sluice-kernel NAME [key=value ...] "
	    "[-o FILE] [--cpu] [--device N]\n"
	    "       sluice-kernel NAME [key=value ...] --vs-cpu [--device N]\n"
	    "       sluice-kernel -l\n");
}

static void
list_kernels(void)
{
	const struct kernel_spec	*k;
	const struct kparam_spec	*p;
	char				 devs[512];
	size_t				 i, j;

	kernel_devices_describe(devs, sizeof(devs));
	printf("devices: %s\n", devs);
	for (i = 0; (k = kernel_at(i)) != NULL; i++) {
		printf("%s: %s\n", k->name, k->title);
		for (j = 0; j < k->nparams; j++) {
			p = &k->params[j];
			printf("  %-6s %-5s %g..%g default %g%s%s  (%s)\n",
			    p->name, p->type == KPARAM_INT ? "int" : "float",
			    p->min, p->max, p->def, *p->unit ? " " : "",
			    p->unit, p->label);
		}
	}
}

static int
write_file(const char *path, const unsigned char *data, size_t len)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "sluice-kernel: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "sluice-kernel: %s: write failed\n", path);
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "sluice-kernel: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Decodes a PNG into a new RGB buffer of *w x *h, or NULL. */
static unsigned char *
png_pixels(const struct kernel_result *res, unsigned *w, unsigned *h)
{
	png_image	 img;
	unsigned char	*px = NULL;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, res->png, res->png_len))
		return NULL;
	img.format = PNG_FORMAT_RGB;
	if ((px = malloc(PNG_IMAGE_SIZE(img))) != NULL &&
	    !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		free(px);
		px = NULL;
	}
	*w = img.width;
	*h = img.height;
	png_image_free(&img);
	return px;
}

/*
 * Prints how the GPU's image differs from the CPU's, pixel by pixel, as
 * the JSON members ,"pixels":N,"differ":D,"max_diff":M. 0, or -1 when an
 * image does not decode or the sizes differ.
 */
static int
print_image_diff(const struct kernel_result *g, const struct kernel_result *c)
{
	unsigned char	*pg, *pc;
	unsigned	 wg, hg, wc, hc;
	size_t		 i, k, n, differ = 0;
	int		 d, maxd = 0, rc = -1;

	pg = png_pixels(g, &wg, &hg);
	pc = png_pixels(c, &wc, &hc);
	if (pg == NULL || pc == NULL || wg != wc || hg != hc)
		goto out;
	n = (size_t)wg * hg;
	for (i = 0; i < n; i++) {
		if (memcmp(pg + 3 * i, pc + 3 * i, 3) == 0)
			continue;
		differ++;
		for (k = 0; k < 3; k++) {
			d = abs(pg[3 * i + k] - pc[3 * i + k]);
			maxd = d > maxd ? d : maxd;
		}
	}
	printf(",\"pixels\":%zu,\"differ\":%zu,\"max_diff\":%d", n, differ,
	    maxd);
	rc = 0;
out:
	free(pg);
	free(pc);
	return rc;
}

/*
 * --vs-cpu: the job on device, then on the CPU; one JSON line with both
 * results (and, for an image, how the two differ). 0, or -1 when either
 * run fails (the reason on stderr).
 */
static int
vs_cpu(const struct kernel *k, const double *values, int device)
{
	struct kernel_result	g, c;
	int			rc = -1;

	memset(&g, 0, sizeof(g));
	memset(&c, 0, sizeof(c));
	if (kernel_dispatch(k, values, device, &g) == -1 ||
	    kernel_dispatch(k, values, KERNEL_CPU, &c) == -1) {
		fprintf(stderr, "sluice-kernel: %s on %s: %s\n", k->spec->name,
		    g.error[0] ? g.device : "cpu", g.error[0] ? g.error :
		    c.error);
		goto out;
	}
	printf("{\"kernel\":\"%s\",\"device\":\"%s\",\"gpu\":%s,\"cpu\":%s",
	    k->spec->name, g.device, g.json ? g.json : "{}",
	    c.json ? c.json : "{}");
	if (g.png != NULL && c.png != NULL) {
		printf(",\"png_identical\":%s", g.png_len == c.png_len &&
		    memcmp(g.png, c.png, g.png_len) == 0 ? "true" : "false");
		if (print_image_diff(&g, &c) == -1) {
			printf("}\n");
			fprintf(stderr, "sluice-kernel: the images do not "
			    "compare\n");
			goto out;
		}
	}
	printf("}\n");
	rc = 0;
out:
	kernel_result_clear(&g);
	kernel_result_clear(&c);
	return rc;
}

int
main(int argc, char *argv[])
{
	const struct kernel	*k;
	struct kernel_result	 res;
	double			 values[KERNEL_MAX_PARAMS];
	const char		*out = NULL;
	char			 msg[128], *eq, *end;
	int			 i, idx, device, want_cpu = 0, want_dev = -2;
	int			 want_vs = 0;
	int			 rc = 1;
	long			 l;

	memset(&res, 0, sizeof(res));
	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		list_kernels();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		usage();
		return 1;
	}
	if ((k = kernel_impl(argv[1])) == NULL) {
		fprintf(stderr, "sluice-kernel: unknown kernel '%s' (try -l)\n",
		    argv[1]);
		return 1;
	}
	if (k->spec->nparams > KERNEL_MAX_PARAMS)
		return 1;
	kernel_defaults(k->spec, values);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--cpu") == 0) {
			want_cpu = 1;
			continue;
		}
		if (strcmp(argv[i], "--vs-cpu") == 0) {
			want_vs = 1;
			continue;
		}
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			errno = 0;
			l = strtol(argv[++i], &end, 10);
			if (errno || *end != '\0' || end == argv[i] ||
			    l < 0 || l > 1024) {
				fprintf(stderr, "sluice-kernel: --device: "
				    "must be a device index\n");
				return 1;
			}
			want_dev = (int)l;
			continue;
		}
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i]) {
			fprintf(stderr, "sluice-kernel: '%s': expected "
			    "key=value\n", argv[i]);
			usage();
			return 1;
		}
		*eq = '\0';
		if ((idx = kernel_param_index(k->spec, argv[i])) == -1) {
			fprintf(stderr, "sluice-kernel: %s has no parameter "
			    "'%s' (try -l)\n", k->spec->name, argv[i]);
			return 1;
		}
		if (kernel_parse_param(&k->spec->params[idx], eq + 1, &values[idx],
		    msg, sizeof(msg)) == -1) {
			fprintf(stderr, "sluice-kernel: %s: %s\n", argv[i],
			    msg);
			return 1;
		}
	}
	if (want_cpu)
		device = KERNEL_CPU;
	else if (want_dev >= 0)
		device = want_dev;
	else
		device = kernel_devices_init() > 0 || want_vs ? 0 : KERNEL_CPU;
	/* With --cpu, the CPU against itself: a check of the comparison. */
	if (want_vs)
		return out != NULL ? (usage(), 1) :
		    vs_cpu(k, values, device) == 0 ? 0 : 1;
	if (kernel_dispatch(k, values, device, &res) == -1) {
		fprintf(stderr, "sluice-kernel: %s on %s: %s\n", k->spec->name,
		    res.device[0] ? res.device : "?", res.error);
		goto out;
	}
	fprintf(stderr, "sluice-kernel: %s on %s\n", k->spec->name, res.device);
	printf("%s\n", res.json ? res.json : "{}");
	if (out != NULL) {
		if (res.png == NULL) {
			fprintf(stderr, "sluice-kernel: %s makes no image\n",
			    k->spec->name);
			goto out;
		}
		if (write_file(out, res.png, res.png_len) == -1)
			goto out;
	}
	rc = 0;
out:
	kernel_result_clear(&res);
	return rc;
}

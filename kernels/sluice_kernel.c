/*
 * sluice-kernel: runs one kernel outside the server and prints its result
 * JSON; writes the PNG with -o. For users checking their GPU, benchmarks
 * and tests.
 *
 *	sluice-kernel NAME [key=value ...] [-o FILE] [--cpu] [--device N]
 *	sluice-kernel -l
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_run.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sluice-kernel NAME [key=value ...] "
	    "[-o FILE] [--cpu] [--device N]\n"
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

int
main(int argc, char *argv[])
{
	const struct kernel	*k;
	struct kernel_result	 res;
	double			 values[KERNEL_MAX_PARAMS];
	const char		*out = NULL;
	char			 msg[128], *eq, *end;
	int			 i, idx, device, want_cpu = 0, want_dev = -2;
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
		device = kernel_devices_init() > 0 ? 0 : KERNEL_CPU;
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

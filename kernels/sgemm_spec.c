/* sgemm: the size and seed of the matrices (the spec the responder reads; sgemm.c runs it). */
#include "kernel.h"
#include "sgemm.h"

static const struct kparam_spec sgemm_params[SG__MAX] = {
	[SG_N] = KPARAM_NUMBER("n", KPARAM_INT, 16, 8192, 1024, 1,
	    "Matrix size", ""),
	[SG_SEED] = KPARAM_NUMBER("seed", KPARAM_INT, 0, 4294967295.0, 1, 1,
	    "Seed", ""),
};

const struct kernel_spec kernel_spec_sgemm = {
	.name = "sgemm",
	.title = "SGEMM",
	.params = sgemm_params,
	.nparams = SG__MAX,
};

/* burn: how long a job holds its slot (the spec the responder reads; burn.c runs it). */
#include "kernel.h"
#include "burn.h"

static const struct kparam_spec burn_params[BURN__MAX] = {
	[BURN_MS] = KPARAM_NUMBER("ms", KPARAM_INT, 0, 600000, 1000, 1,
	    "Duration", "ms"),
};

const struct kernel_spec kernel_spec_burn = {
	.name = "burn",
	.title = "Burn",
	.params = burn_params,
	.nparams = BURN__MAX,
};

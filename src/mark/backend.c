/* backend.c - the backends compiled into this library, their names, and the
 * choice of one for each collection. */
#include "mark/backend.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const names[GPUGC_BACKEND_COUNT] = {
    [GPUGC_BACKEND_AUTO] = "auto",
    [GPUGC_BACKEND_CPU] = "cpu",
    [GPUGC_BACKEND_CPU_PARALLEL] = "cpu-parallel",
    [GPUGC_BACKEND_OPENCL] = "opencl",
    [GPUGC_BACKEND_CUDA] = "cuda",
};

/* AUTO's policy, whole.  For a collection of n objects AUTO takes the
 * first backend below whose threshold n reaches, that is available here,
 * and whose state opens for this heap; else the serial reference, which
 * is also what every other choice falls back to.  A device that cannot
 * serve AUTO makes its backend's state fail to open, quietly unless the
 * backend was named (gpugc__backend_named): an OpenCL device that is the
 * CPU itself (PoCL) unless GPUGC_OPENCL_DEVICE names it, since the CPU
 * backends mark faster there; a GPU the CUDA backend has no code for.
 *
 * The thresholds.  cpu-parallel: measured on 2 cores, random graphs of
 * degree 2 (parallel.c, members_for): two members beat the serial marker
 * from about 300k objects.  The GPUs: an estimate, not yet measured on a
 * GPU: a fixed ~15 launches and syncs (0.1-0.2 ms) plus 4 bytes per
 * object over PCIe, against 20-60 ns per object for the serial marker,
 * wins clearly above a few hundred thousand objects; 1M leaves those
 * sizes to cpu-parallel. */
static const struct {
    const backend_ops *ops;
    uint64_t auto_min_objects; /* 0: AUTO never picks it */
} built[] = {
#ifdef GPUGC_WITH_CUDA
    {&gpugc__backend_cuda, UINT64_C(1) << 20},
#endif
#ifdef GPUGC_WITH_OPENCL
    {&gpugc__backend_opencl, UINT64_C(1) << 20},
#endif
    {&gpugc__backend_cpu_parallel, 300000},
    {&gpugc__backend_cpu, 0}};
#define NBUILT (sizeof built / sizeof built[0])

const char *gpugc_backend_name(gpugc_backend b) {
    return (unsigned)b < GPUGC_BACKEND_COUNT ? names[b] : NULL;
}

int gpugc_backend_parse(const char *name, gpugc_backend *out) {
    if (!name || !out)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_backend_parse: %s is NULL", name ? "out" : "name");
    for (int b = 0; b < GPUGC_BACKEND_COUNT; b++) {
        if (strcmp(name, names[b]) == 0) {
            *out = (gpugc_backend)b;
            return GPUGC_OK;
        }
    }
    return GPUGC_EBACKEND;
}

static const backend_ops *find(gpugc_backend b) {
    for (size_t i = 0; i < NBUILT; i++)
        if (built[i].ops->kind == b)
            return built[i].ops;
    return NULL;
}

int gpugc_backend_available(gpugc_backend b, char *why, size_t why_size) {
    char scratch[200];
    if (!why || why_size == 0) {
        why = scratch;
        why_size = sizeof scratch;
    }
    why[0] = '\0';
    if ((unsigned)b >= GPUGC_BACKEND_COUNT) {
        snprintf(why, why_size, "%d is not a gpugc_backend", (int)b);
        return GPUGC_EINVAL;
    }
    if (b == GPUGC_BACKEND_AUTO)
        return GPUGC_OK;
    const backend_ops *ops = find(b);
    if (!ops) {
        snprintf(why, why_size, "the %s backend is not built into this library", names[b]);
        return GPUGC_ENODEV;
    }
    return ops->available ? ops->available(why, why_size) : GPUGC_OK;
}

int gpugc__backend_check(gpugc_backend want) {
    char why[200];
    int st = gpugc_backend_available(want, why, sizeof why);
    if (st != GPUGC_OK)
        gpugc__set_error(NULL, st, "gpugc_heap_new: backend %s is not available: %s", names[want], why);
    return st;
}

int gpugc__backend_open(gpugc_heap *h, const backend_ops *ops) {
    int *status = &h->be[ops->kind].status;
    if (*status == 0) {
        *status = 1;
        if (ops->create) {
            int st = ops->create(h, &h->be[ops->kind].state);
            if (st != GPUGC_OK)
                *status = st;
        }
    }
    return *status > 0 ? GPUGC_OK : *status;
}

const backend_ops *gpugc__backend_for(gpugc_heap *h, size_t nset) {
    if (h->backend != GPUGC_BACKEND_AUTO)
        return find(h->backend);
    for (size_t i = 0; i < NBUILT; i++) {
        const backend_ops *ops = built[i].ops;
        if (built[i].auto_min_objects == 0 || nset < built[i].auto_min_objects ||
            h->be[ops->kind].status < 0)
            continue;
        if (h->be[ops->kind].status == 0 &&
            gpugc_backend_available(ops->kind, NULL, 0) != GPUGC_OK) {
            h->be[ops->kind].status = GPUGC_ENODEV;
            continue;
        }
        if (gpugc__backend_open(h, ops) == GPUGC_OK)
            return ops;
    }
    return &gpugc__backend_cpu;
}

bool gpugc__backend_named(const gpugc_heap *h, const backend_ops *ops) {
    return h->backend == ops->kind;
}

void gpugc__backend_host_moving(gpugc_heap *h) {
    for (size_t i = 0; i < NBUILT; i++) {
        const backend_ops *ops = built[i].ops;
        if (h->be[ops->kind].status > 0 && ops->host_moving)
            ops->host_moving(h, h->be[ops->kind].state);
    }
}

void gpugc__backend_close_all(gpugc_heap *h) {
    for (size_t i = 0; i < NBUILT; i++) {
        const backend_ops *ops = built[i].ops;
        if (h->be[ops->kind].status > 0 && ops->destroy)
            ops->destroy(h, h->be[ops->kind].state);
        h->be[ops->kind].status = 0;
    }
}

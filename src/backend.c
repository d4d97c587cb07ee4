/* backend.c - the backends compiled into this library, their names, and the
 * choice of one for each collection. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

static const char *const names[GPUGC_BACKEND_COUNT] = {
    [GPUGC_BACKEND_AUTO] = "auto",
    [GPUGC_BACKEND_CPU] = "cpu",
    [GPUGC_BACKEND_CPU_PARALLEL] = "cpu-parallel",
    [GPUGC_BACKEND_OPENCL] = "opencl",
    [GPUGC_BACKEND_CUDA] = "cuda",
};

/* Compiled-in backends, in AUTO's order of preference: the serial
 * reference last, as what every other choice falls back to. */
static const backend_ops *const built[] = {
#ifdef GPUGC_WITH_CUDA
    &backend_cuda,
#endif
#ifdef GPUGC_WITH_OPENCL
    &backend_opencl,
#endif
    &backend_cpu_parallel,
    &backend_cpu};
#define NBUILT (sizeof built / sizeof built[0])

const char *gpugc_backend_name(gpugc_backend b) {
    return (unsigned)b < GPUGC_BACKEND_COUNT ? names[b] : NULL;
}

int gpugc_backend_parse(const char *name, gpugc_backend *out) {
    if (!name || !out)
        return set_error(NULL, GPUGC_EINVAL, "gpugc_backend_parse: %s is NULL", name ? "out" : "name");
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
        if (built[i]->kind == b)
            return built[i];
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

int backend_check(gpugc_backend want) {
    char why[200];
    int st = gpugc_backend_available(want, why, sizeof why);
    if (st != GPUGC_OK)
        set_error(NULL, st, "gpugc_heap_new: backend %s is not available: %s", names[want], why);
    return st;
}

int backend_open(gpugc_heap *h, const backend_ops *ops) {
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

const backend_ops *backend_for(gpugc_heap *h, size_t nset) {
    if (h->backend != GPUGC_BACKEND_AUTO)
        return find(h->backend);
    for (size_t i = 0; i < NBUILT; i++) {
        const backend_ops *ops = built[i];
        if (ops->auto_min_objects == 0 || nset < ops->auto_min_objects ||
            h->be[ops->kind].status < 0)
            continue;
        if (h->be[ops->kind].status == 0 &&
            gpugc_backend_available(ops->kind, NULL, 0) != GPUGC_OK) {
            h->be[ops->kind].status = GPUGC_ENODEV;
            continue;
        }
        if (backend_open(h, ops) == GPUGC_OK)
            return ops;
    }
    return &backend_cpu;
}

void backend_close_all(gpugc_heap *h) {
    for (size_t i = 0; i < NBUILT; i++) {
        const backend_ops *ops = built[i];
        if (h->be[ops->kind].status > 0 && ops->destroy)
            ops->destroy(h, h->be[ops->kind].state);
        h->be[ops->kind].status = 0;
    }
}

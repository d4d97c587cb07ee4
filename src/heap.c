/* heap.c - a heap's life (configuration, making and freeing it), types,
 * and memory figures. */

#include "heap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "error.h"
#include "ids.h"
#include "mark/backend.h"
#include "object.h"
#include "options.h"
#include "python/control.h"
#include "python/trace.h"
#include "slots.h"
#include "snapshot.h"
#include "weakref.h"

/* ---- configuration ------------------------------------------------------ */

void gpugc_config_init(gpugc_config *cfg) {
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
#define OPTION_DEFAULT(kind, field, NAME, dflt, max, doc) cfg->field = dflt;
    GPUGC_OPTIONS(OPTION_DEFAULT)
#undef OPTION_DEFAULT
    /* CPython's older generations (Modules/gcmodule.c); generation 0's is
     * gpugc's own, by measurement (gpugc.h). */
    cfg->threshold[0] = GPUGC_DEFAULT_THRESHOLD0;
    cfg->threshold[1] = 10;
    cfg->threshold[2] = 10;
#ifdef GPUGC_DEBUG
    cfg->validate = 1;
#endif
}

/* ---- heaps -------------------------------------------------------------- */

static uint32_t heap_cookie(const gpugc_heap *h) {
    static _Atomic uint32_t serial;
    uint64_t x = (uint64_t)(uintptr_t)h ^ gpugc__now_ns() ^ ((uint64_t)++serial << 32);
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    /* Low bits stay free for the size class; bit 6 keeps the cookie from
     * matching the zero written into freed headers. */
    return ((uint32_t)x & ~UINT32_C(63)) | 64u;
}

gpugc_heap *gpugc_heap_new(const gpugc_config *given) {
    gpugc_config defaults;
    if (!given) {
        gpugc_config_init(&defaults);
        given = &defaults;
    }
    gpugc_config cfg;
    char *strings;
    if (gpugc__options_resolve(given, &cfg, &strings) != GPUGC_OK)
        return NULL;
    gpugc_backend want = cfg.backend;
    if (gpugc__backend_check(want) != GPUGC_OK) {
        free(strings);
        return NULL;
    }

    gpugc_heap *h = calloc(1, sizeof *h);
    if (!h) {
        free(strings);
        gpugc__set_error(NULL, GPUGC_ENOMEM, "gpugc_heap_new: cannot allocate a heap");
        return NULL;
    }
    h->strings = strings;
    gpugc__error_handler_default_for(h);
    gpugc__output_default_for(h);
    for (int f = 0; f < GPUGC_FAULT_COUNT; f++)
        h->fault_countdown[f] = -1;
    h->cookie = heap_cookie(h);
#ifdef GPUGC_DEBUG
    h->checked = 1; /* every call checked fully: no inline path (gpugc.h) */
#endif
    h->free_ids = NO_ID;
    h->deferred_head = h->deferred_tail = NO_ID;
    h->pending = NO_ID;
    gpugc__slots_init(&h->ss);
    gpugc__pool_init(&h->pool);
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        h->gen[g].threshold = cfg.threshold[g];
    h->enabled = true;
    h->validate = cfg.validate;
    h->cfg = cfg;
    h->backend = want;
    /* An explicitly chosen backend is made now, so that a device that
     * cannot be used is an error here rather than at the first collection. */
    static const gpugc_type_desc object_type = {"object", NULL, NULL};
    if (gpugc_type_register(h, &object_type) != GPUGC_TYPE_OBJECT ||
        (want != GPUGC_BACKEND_AUTO && gpugc__backend_open(h, gpugc__backend_for(h, 0)) != GPUGC_OK)) {
        gpugc__set_error(NULL, h->err, "gpugc_heap_new: %s", h->errmsg);
        gpugc_heap_free(h);
        return NULL;
    }
    return h;
}

void gpugc_heap_free(gpugc_heap *h) {
    if (!h)
        return;
    gpugc__background_drop(h);
    /* From here on incref/decref are no-ops, so destroy callbacks that drop
     * references they hold cannot free what is about to be freed anyway. */
    h->busy |= BUSY_DYING;
    for (uint32_t id = 0; id < h->nids; id++)
        if (h->meta[id] & META_LIVE)
            gpugc__object_destroy(h, id);
    for (uint32_t id = 0; id < h->nids; id++) {
        if (!(h->meta[id] & META_LIVE))
            continue;
        obj_header *hd = (obj_header *)h->addr[id] - 1;
        uint32_t cls = hd->check ^ h->cookie;
        if (cls == 0)
            gpugc__pool_free(&h->pool, hd, 0);
    }
    gpugc__pool_release_all(&h->pool);
    gpugc__backend_close_all(h);
    for (uint32_t t = 0; t < h->ntypes; t++)
        free(h->types[t].name);
    free(h->types);
    free(h->callbacks);
    gpugc__vec_free(&h->saved);
    gpugc__weak_release_all(h);
    gpugc__trace_release(h);
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++)
        gpugc__vec_free(&h->gen[g].ids);
    gpugc__ids_free(h);
    free(h->card_slots);
    gpugc__big_free(h->slots);
    free(h->strings);
    free(h);
}

gpugc_backend gpugc_heap_backend(const gpugc_heap *h) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_heap_backend: heap is NULL");
        return GPUGC_BACKEND_AUTO;
    }
    return h->backend;
}

int gpugc_config_get(const gpugc_heap *h, gpugc_config *out) {
    if (!h || !out)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_config_get: %s is NULL", h ? "out" : "heap");
    *out = h->cfg;
    return GPUGC_OK;
}

/* ---- types -------------------------------------------------------------- */

_Static_assert(META_MAX_TYPES == 1u << 20, "gpugc.h's gpugc_type_register states the limit");

static gpugc_type type_register(gpugc_heap *h, const gpugc_type_desc *desc) {
    if (!desc) {
        gpugc__set_error(h, GPUGC_EINVAL, "gpugc_type_register: desc is NULL");
        return (gpugc_type)-1;
    }
    if (h->ntypes == META_MAX_TYPES) {
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_type_register: %u types is the limit", META_MAX_TYPES);
        return (gpugc_type)-1;
    }
    if (h->ntypes == h->types_cap) {
        type_entry *t = gpugc__array_grow(h, h->types, &h->types_cap, sizeof *t, 8, "gpugc_type_register");
        if (!t)
            return (gpugc_type)-1;
        h->types = t;
    }
    const char *name = desc->name ? desc->name : "object";
    char *copy = gpugc__heap_malloc(h, strlen(name) + 1, "gpugc_type_register");
    if (!copy)
        return (gpugc_type)-1;
    strcpy(copy, name);
    h->types[h->ntypes].name = copy;
    h->types[h->ntypes].desc = *desc;
    h->types[h->ntypes].desc.name = copy;
    return h->ntypes++;
}

gpugc_type gpugc_type_register(gpugc_heap *h, const gpugc_type_desc *desc) {
    if (gpugc__enter(h, "gpugc_type_register") != GPUGC_OK)
        return (gpugc_type)-1;
    gpugc_type r = type_register(h, desc);
    gpugc__leave(h);
    return r;
}

gpugc_type gpugc_type_of(const gpugc_heap *h, const void *obj) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_type_of: heap is NULL");
        return (gpugc_type)-1;
    }
    uint32_t id = gpugc__object_id(h, obj, "gpugc_type_of");
    return id == NO_ID ? (gpugc_type)-1 : meta_type(h->meta[id]);
}

/* ---- figures ------------------------------------------------------------ */

size_t gpugc_object_count(const gpugc_heap *h) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_object_count: heap is NULL");
        return 0;
    }
    return h->live;
}

uint64_t gpugc__heap_metadata_bytes(const gpugc_heap *h) {
    uint64_t b = gpugc__ids_bytes(h);
    b += card_words(h->slots_cap) * sizeof(uint64_t);
    b += (uint64_t)h->slots_cap * sizeof(uint32_t);
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++)
        b += h->gen[g].ids.cap * sizeof(uint32_t);
    b += (uint64_t)h->live * sizeof(obj_header);
    b += h->saved.cap * sizeof(uint32_t) + h->ncallbacks * sizeof(callback_entry);
    if (h->weak)
        b += (uint64_t)h->cap * sizeof *h->weak;
    return b + gpugc__snapshot_bytes(h);
}

int gpugc_memory_stats_get(const gpugc_heap *h, gpugc_memory_stats *out, size_t size) {
    if (!h || !out)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_memory_stats_get: %s is NULL", h ? "out" : "heap");
    gpugc_memory_stats m = {
        .arenas = h->pool.narenas,
        .arenas_peak = h->pool.arenas_peak,
        .arenas_released = h->pool.arenas_released,
        .large_objects = h->pool.large_objects,
        .large_bytes = h->pool.large_bytes,
        .metadata_bytes = gpugc__heap_metadata_bytes(h),
        .slots_used = h->ss.top - h->ss.nfree,
        .slots_free = h->ss.nfree,
    };
    copy_figures(out, size, &m, sizeof m);
    return GPUGC_OK;
}

unsigned gpugc__heap_threads(const gpugc_heap *h) {
    if (h->cfg.threads != 0)
        return h->cfg.threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > GPUGC_MAX_THREADS ? GPUGC_MAX_THREADS : (unsigned)cores;
}

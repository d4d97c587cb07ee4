/* heap.c - a heap's life: configuration, the id-indexed arrays, types,
 * generation lists, pointer checks and memory figures. */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>
#include <string.h>

/* ---- configuration ------------------------------------------------------ */

void gpugc_config_init(gpugc_config *cfg) {
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = GPUGC_BACKEND_AUTO;
    /* CPython's defaults (Modules/gcmodule.c). */
    cfg->threshold[0] = 700;
    cfg->threshold[1] = 10;
    cfg->threshold[2] = 10;
    cfg->gpu_cpu_handoff = 1;
#ifdef GPUGC_DEBUG
    cfg->validate = 1;
#endif
}

/* ---- id-indexed arrays -------------------------------------------------- */

/* Grows every id-indexed array to `cap` entries.  An array that grew before
 * another failed simply stays larger: h->cap only moves when all did. */
static bool ids_grow(gpugc_heap *h, uint32_t cap) {
#define GROW(field)                                                                 \
    do {                                                                            \
        void *p = heap_realloc(h, h->field, (size_t)cap * sizeof *h->field,         \
                               "gpugc_new (id arrays)");                            \
        if (!p)                                                                     \
            return false;                                                           \
        h->field = p;                                                               \
    } while (0)
    GROW(rc);
    GROW(slot_off);
    GROW(slot_cnt);
    GROW(meta);
    GROW(addr);
    GROW(gc_refs);
    GROW(gen_pos);
#undef GROW
    if (!bits_grow(h, &h->garbage, ((size_t)h->cap + 63) / 64, ((size_t)cap + 63) / 64,
                   "gpugc_new (bitmap)") ||
        !bits_grow(h, &h->card_ids, card_words(h->cap), card_words(cap), "gpugc_new (cards)") ||
        (h->weak && !weak_grow(h, h->cap, cap)) || (h->trace && !trace_grow(h, h->cap, cap)))
        return false;
    h->cap = cap;
    return true;
}

bool id_alloc(gpugc_heap *h, uint32_t *id) {
    if (h->free_ids != NO_ID) {
        *id = h->free_ids;
        h->free_ids = h->slot_off[*id];
        return true;
    }
    if (h->nids == h->cap) {
        if (h->cap == MAX_IDS) {
            set_error(h, GPUGC_EOVERFLOW, "gpugc_new: the heap holds %u objects, its limit", MAX_IDS);
            return false;
        }
        uint64_t cap = h->cap ? (uint64_t)h->cap * 2 : 1024;
        if (!ids_grow(h, cap > MAX_IDS ? MAX_IDS : (uint32_t)cap))
            return false;
    }
    *id = h->nids++;
    return true;
}

void id_release(gpugc_heap *h, uint32_t id) {
    dirty_id(h, id);
    h->meta[id] = 0;
    h->rc[id] = 0;
    h->addr[id] = NULL;
    h->slot_cnt[id] = 0;
    h->slot_off[id] = h->free_ids;
    h->free_ids = id;
}

/* ---- generation lists --------------------------------------------------- */

int gen_add(gpugc_heap *h, uint32_t id, uint32_t g) {
    u32vec *v = &h->gen[g].ids;
    if (vec_push(h, v, id) != GPUGC_OK)
        return GPUGC_ENOMEM;
    h->gen_pos[id] = (uint32_t)(v->n - 1);
    dirty_id(h, id);
    h->meta[id] = (h->meta[id] & ~META_GEN_MASK) | META_TRACKED | g;
    return GPUGC_OK;
}

void gen_remove(gpugc_heap *h, uint32_t id) {
    u32vec *v = &h->gen[meta_gen(h->meta[id])].ids;
    uint32_t pos = h->gen_pos[id], last = v->v[--v->n];
    v->v[pos] = last;
    h->gen_pos[last] = pos;
    dirty_id(h, id);
    h->meta[id] &= ~META_TRACKED;
}

int gen_move(gpugc_heap *h, uint32_t id, uint32_t g) {
    if (!vec_reserve(h, &h->gen[g].ids, 1, "gpugc (generation list)"))
        return GPUGC_ENOMEM;
    gen_remove(h, id);
    return gen_add(h, id, g); /* cannot fail: the room is there */
}

void gen_merge(gpugc_heap *h, uint32_t from, uint32_t to) {
    u32vec *src = &h->gen[from].ids, *dst = &h->gen[to].ids;
    size_t kept = 0;
    for (size_t k = 0; k < src->n; k++) {
        uint32_t id = src->v[k];
        u32vec *v = h->meta[id] & META_IMMORTAL ? src : dst;
        size_t pos = v == src ? kept++ : v->n++;
        v->v[pos] = id;
        h->gen_pos[id] = (uint32_t)pos;
        dirty_id(h, id);
        h->meta[id] = (h->meta[id] & ~META_GEN_MASK) | (v == src ? from : to);
    }
    src->n = kept;
}

/* ---- pointer checks ----------------------------------------------------- */

uint32_t object_id(const gpugc_heap *h, const void *obj, const char *fn) {
    if (!obj) {
        set_error(h, GPUGC_EINVAL, "%s: object is NULL", fn);
        return NO_ID;
    }
    const obj_header *hd = (const obj_header *)obj - 1;
    uint32_t id = hd->id;
    if ((hd->check ^ h->cookie) > GPUGC_SIZE_CLASSES || id >= h->nids ||
        h->addr[id] != obj || !(h->meta[id] & META_LIVE)) {
        set_error(h, GPUGC_ENOTOBJ, "%s: %p is not a live object of this heap", fn, obj);
        return NO_ID;
    }
    return id;
}

/* ---- heaps -------------------------------------------------------------- */

static uint32_t heap_cookie(const gpugc_heap *h) {
    static _Atomic uint32_t serial;
    uint64_t x = (uint64_t)(uintptr_t)h ^ now_ns() ^ ((uint64_t)++serial << 32);
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    /* Low bits stay free for the size class; bit 6 keeps the cookie from
     * matching the zero written into freed headers. */
    return ((uint32_t)x & ~UINT32_C(63)) | 64u;
}

gpugc_heap *gpugc_heap_new(const gpugc_config *cfg) {
    gpugc_config defaults;
    if (!cfg) {
        gpugc_config_init(&defaults);
        cfg = &defaults;
    }
    gpugc_backend want = cfg->backend;
    if ((unsigned)want >= GPUGC_BACKEND_COUNT) {
        set_error(NULL, GPUGC_EINVAL, "gpugc_heap_new: backend %d is not a gpugc_backend", (int)want);
        return NULL;
    }
    const char *env = getenv("GPUGC_BACKEND");
    if (env && *env && gpugc_backend_parse(env, &want) != GPUGC_OK) {
        set_error(NULL, GPUGC_EBACKEND,
                  "gpugc_heap_new: GPUGC_BACKEND=%s is not one of auto, cpu, cpu-parallel, opencl, cuda",
                  env);
        return NULL;
    }
    if (backend_check(want) != GPUGC_OK)
        return NULL;

    gpugc_heap *h = calloc(1, sizeof *h);
    if (!h) {
        set_error(NULL, GPUGC_ENOMEM, "gpugc_heap_new: cannot allocate a heap");
        return NULL;
    }
    error_handler_default_for(h);
    output_default_for(h);
    for (int f = 0; f < GPUGC_FAULT_COUNT; f++)
        h->fault_countdown[f] = -1;
    h->cookie = heap_cookie(h);
    h->free_ids = NO_ID;
    h->pending = NO_ID;
    slots_init(&h->ss);
    pool_init(&h->pool);
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        h->gen[g].threshold = cfg->threshold[g];
    h->enabled = true;
    h->validate = cfg->validate;
    h->cfg = *cfg;
    h->backend = want;
    /* An explicitly chosen backend is made now, so that a device that
     * cannot be used is an error here rather than at the first collection. */
    static const gpugc_type_desc object_type = {"object", NULL, NULL};
    if (gpugc_type_register(h, &object_type) != GPUGC_TYPE_OBJECT ||
        (want != GPUGC_BACKEND_AUTO && backend_open(h, backend_for(h, 0)) != GPUGC_OK)) {
        set_error(NULL, h->err, "gpugc_heap_new: %s", h->errmsg);
        gpugc_heap_free(h);
        return NULL;
    }
    return h;
}

void gpugc_heap_free(gpugc_heap *h) {
    if (!h)
        return;
    /* From here on incref/decref are no-ops, so destroy callbacks that drop
     * references they hold cannot free what is about to be freed anyway. */
    h->dying = true;
    for (uint32_t id = 0; id < h->nids; id++)
        if (h->meta[id] & META_LIVE)
            object_destroy(h, id);
    for (uint32_t id = 0; id < h->nids; id++) {
        if (!(h->meta[id] & META_LIVE))
            continue;
        obj_header *hd = (obj_header *)h->addr[id] - 1;
        uint32_t cls = hd->check ^ h->cookie;
        if (cls == 0)
            pool_free(&h->pool, hd, 0);
    }
    pool_release_all(&h->pool);
    backend_close_all(h);
    for (uint32_t t = 0; t < h->ntypes; t++)
        free(h->types[t].name);
    free(h->types);
    free(h->callbacks);
    vec_free(&h->saved);
    weak_release_all(h);
    trace_release(h);
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++)
        vec_free(&h->gen[g].ids);
    free(h->rc);
    free(h->slot_off);
    free(h->slot_cnt);
    free(h->meta);
    free(h->addr);
    free(h->gc_refs);
    free(h->gen_pos);
    free(h->garbage);
    free(h->card_ids);
    free(h->card_slots);
    free(h->slots);
    free(h);
}

gpugc_backend gpugc_heap_backend(const gpugc_heap *h) {
    if (!h) {
        set_error(NULL, GPUGC_EINVAL, "gpugc_heap_backend: heap is NULL");
        return GPUGC_BACKEND_AUTO;
    }
    return h->backend;
}

/* ---- types -------------------------------------------------------------- */

gpugc_type gpugc_type_register(gpugc_heap *h, const gpugc_type_desc *desc) {
    if (!h || !desc) {
        set_error(h, GPUGC_EINVAL, "gpugc_type_register: %s is NULL", h ? "desc" : "heap");
        return (gpugc_type)-1;
    }
    if (h->ntypes == META_MAX_TYPES) {
        set_error(h, GPUGC_EOVERFLOW, "gpugc_type_register: %u types is the limit", META_MAX_TYPES);
        return (gpugc_type)-1;
    }
    if (h->ntypes == h->types_cap) {
        type_entry *t = array_grow(h, h->types, &h->types_cap, sizeof *t, 8, "gpugc_type_register");
        if (!t)
            return (gpugc_type)-1;
        h->types = t;
    }
    const char *name = desc->name ? desc->name : "object";
    char *copy = heap_malloc(h, strlen(name) + 1, "gpugc_type_register");
    if (!copy)
        return (gpugc_type)-1;
    strcpy(copy, name);
    h->types[h->ntypes].name = copy;
    h->types[h->ntypes].desc = *desc;
    h->types[h->ntypes].desc.name = copy;
    return h->ntypes++;
}

gpugc_type gpugc_type_of(const gpugc_heap *h, const void *obj) {
    if (!h) {
        set_error(NULL, GPUGC_EINVAL, "gpugc_type_of: heap is NULL");
        return (gpugc_type)-1;
    }
    uint32_t id = object_id(h, obj, "gpugc_type_of");
    return id == NO_ID ? (gpugc_type)-1 : meta_type(h->meta[id]);
}

/* ---- figures ------------------------------------------------------------ */

size_t gpugc_object_count(const gpugc_heap *h) {
    if (!h) {
        set_error(NULL, GPUGC_EINVAL, "gpugc_object_count: heap is NULL");
        return 0;
    }
    return h->live;
}

uint64_t heap_metadata_bytes(const gpugc_heap *h) {
    uint64_t per_id = 6 * sizeof(uint32_t) + sizeof(void *); /* rc, off, cnt,
                                             meta, gc_refs, gen_pos, addr */
    uint64_t b = (uint64_t)h->cap * per_id + ((uint64_t)h->cap + 63) / 64 * 8;
    b += (card_words(h->cap) + card_words(h->slots_cap)) * sizeof(uint64_t);
    b += (uint64_t)h->slots_cap * sizeof(uint32_t);
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++)
        b += h->gen[g].ids.cap * sizeof(uint32_t);
    b += (uint64_t)h->live * sizeof(obj_header);
    b += h->saved.cap * sizeof(uint32_t) + h->ncallbacks * sizeof(callback_entry);
    if (h->weak)
        b += (uint64_t)h->cap * sizeof *h->weak;
    return b;
}

int gpugc_memory_stats_get(const gpugc_heap *h, gpugc_memory_stats *out) {
    if (!h || !out)
        return set_error(h, GPUGC_EINVAL, "gpugc_memory_stats_get: %s is NULL", h ? "out" : "heap");
    memset(out, 0, sizeof *out);
    out->arenas = h->pool.narenas;
    out->arenas_peak = h->pool.arenas_peak;
    out->arenas_released = h->pool.arenas_released;
    out->large_objects = h->pool.large_objects;
    out->large_bytes = h->pool.large_bytes;
    out->metadata_bytes = heap_metadata_bytes(h);
    out->slots_free = h->ss.nfree;
    out->slots_used = h->ss.top - h->ss.nfree;
    return GPUGC_OK;
}

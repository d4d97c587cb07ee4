/* gen.c - generation lists: a vector of ids per generation, each id at its
 * place gen_pos[id], the generation also in meta (the mark reads it). */
#include "gen.h"

#include "error.h"

int gpugc__gen_add(gpugc_heap *h, uint32_t id, uint32_t g) {
    u32vec *v = &h->gen[g].ids;
    if (gpugc__vec_push(h, v, id) != GPUGC_OK)
        return GPUGC_ENOMEM;
    h->gen_pos[id] = (uint32_t)(v->n - 1);
    dirty_id(h, id);
    h->meta[id] = (h->meta[id] & ~META_GEN_MASK) | META_TRACKED | g;
    return GPUGC_OK;
}

void gpugc__gen_remove(gpugc_heap *h, uint32_t id) {
    u32vec *v = &h->gen[meta_gen(h->meta[id])].ids;
    uint32_t pos = h->gen_pos[id], last = v->v[--v->n];
    v->v[pos] = last;
    h->gen_pos[last] = pos;
    dirty_id(h, id);
    h->meta[id] &= ~META_TRACKED;
}

int gpugc__gen_move(gpugc_heap *h, uint32_t id, uint32_t g) {
    if (!gpugc__vec_reserve(h, &h->gen[g].ids, 1, "gpugc (generation list)"))
        return GPUGC_ENOMEM;
    gpugc__gen_remove(h, id);
    return gpugc__gen_add(h, id, g); /* cannot fail: the room is there */
}

void gpugc__gen_move_tail(gpugc_heap *h, uint32_t from, uint32_t to, size_t count) {
    u32vec *src = &h->gen[from].ids, *dst = &h->gen[to].ids;
    GPUGC_ASSERT(count <= src->n && dst->n + count <= dst->cap);
    for (size_t k = src->n - count; k < src->n; k++) {
        uint32_t id = src->v[k];
        h->gen_pos[id] = (uint32_t)dst->n;
        dst->v[dst->n++] = id;
        dirty_id(h, id);
        h->meta[id] = (h->meta[id] & ~META_GEN_MASK) | to;
    }
    src->n -= count;
}

void gpugc__gen_merge(gpugc_heap *h, uint32_t from, uint32_t to) {
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

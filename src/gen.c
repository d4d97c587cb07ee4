/* gen.c - generation lists (gen.h says how they are kept): listing,
 * compacting, and moving members between generations in bulk. */
#include "gen.h"

#include "error.h"

/* Generation g's list no longer holds id's entry. */
static inline void unlist(gpugc_heap *h, uint32_t id, uint32_t g) {
    dirty_id(h, id);
    h->meta[id] &= ~meta_listed(g);
}

bool gpugc__gen_room(gpugc_heap *h, uint32_t g) {
    generation *gen = &h->gen[g];
    if (gen_stale(gen))
        gpugc__gen_compact(h, g);
    return gpugc__vec_room(h, &gen->ids);
}

void gpugc__gen_compact(gpugc_heap *h, uint32_t g) {
    u32vec *v = &h->gen[g].ids;
    if (v->n == h->gen[g].members)
        return; /* each member has one entry: none is stale */
    size_t kept = 0;
    for (size_t k = 0; k < v->n; k++) {
        if (gen_listed(h, g, k))
            v->v[kept++] = v->v[k];
        else
            unlist(h, v->v[k], g);
    }
    v->n = kept;
    GPUGC_ASSERT(kept == h->gen[g].members);
}

/* Makes g the generation of id (of another one), listed in g's list, for
 * which there is room: its entry there if the list still holds one, else
 * a new one at the end.  `dropped`: the listed bits of the lists the
 * caller drops id's entry from.  The members counts are the caller's (a
 * bulk move changes them once, not per member). */
static inline void append(gpugc_heap *h, uint32_t id, uint32_t g, uint32_t dropped) {
    u32vec *v = &h->gen[g].ids;
    uint32_t m = h->meta[id];
    GPUGC_ASSERT(v->n < v->cap && meta_gen(m) != g);
    if (!(m & meta_listed(g)))
        v->v[v->n++] = id;
    dirty_id(h, id);
    h->meta[id] = (m & ~(META_GEN_MASK | dropped)) | meta_listed(g) | g;
}

void gpugc__gen_join(gpugc_heap *h, uint32_t id, uint32_t g) {
    h->gen[meta_gen(h->meta[id])].members--;
    h->gen[g].members++;
    append(h, id, g, 0);
}

int gpugc__gen_move(gpugc_heap *h, uint32_t id, uint32_t g) {
    if (!gpugc__vec_reserve(h, &h->gen[g].ids, 1, "gpugc (generation list)"))
        return GPUGC_ENOMEM;
    gpugc__gen_join(h, id, g);
    return GPUGC_OK;
}

void gpugc__gen_move_tail(gpugc_heap *h, uint32_t from, uint32_t to, size_t count) {
    u32vec *src = &h->gen[from].ids;
    GPUGC_ASSERT(count <= src->n && h->gen[to].ids.n + count <= h->gen[to].ids.cap);
    for (size_t k = src->n - count; k < src->n; k++) {
        GPUGC_ASSERT(gen_listed(h, from, k));
        append(h, src->v[k], to, meta_listed(from));
    }
    src->n -= count;
    h->gen[from].members -= count;
    h->gen[to].members += count;
}

void gpugc__gen_merge(gpugc_heap *h, uint32_t from, uint32_t to) {
    u32vec *src = &h->gen[from].ids;
    size_t kept = 0, moved = 0;
    for (size_t k = 0; k < src->n; k++) {
        uint32_t id = src->v[k];
        if (!gen_listed(h, from, k)) {
            unlist(h, id, from);
        } else if (h->meta[id] & META_IMMORTAL) { /* stays, the list compacted */
            src->v[kept++] = id;
        } else {
            append(h, id, to, meta_listed(from));
            moved++;
        }
    }
    src->n = kept;
    h->gen[from].members -= moved;
    h->gen[to].members += moved;
}

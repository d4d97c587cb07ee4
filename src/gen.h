/* gen.h - generation lists: which tracked objects each generation holds.
 *
 * A list is kept lazily, so that joining is a store and leaving costs
 * nothing: an object leaving a generation (freed, untracked, moved) leaves
 * its entry behind, stale.  A list holds at most one entry per id, and the
 * id's meta says which lists hold one (meta_listed, kept while the id is
 * dead too).  Entry k of generation g's list is a member iff gen_listed(h,
 * g, k): it names a tracked id whose meta says g.  An id that rejoins a
 * generation whose list still holds its entry takes that entry back (a
 * freed id reused at once, the common case, lists nothing new), so joining
 * reads nothing but the meta word it writes.  A list is compacted (stale
 * entries dropped) when it is more than half stale as it grows, and before
 * a collection or a walk reads it exactly. */
#ifndef GPUGC_GEN_H
#define GPUGC_GEN_H

#include "heap.h"

static inline bool gen_listed(const gpugc_heap *h, uint32_t g, size_t k) {
    uint32_t m = h->meta[h->gen[g].ids.v[k]];
    return (m & META_TRACKED) && meta_gen(m) == g;
}

/* The meta bit saying that generation g's list holds an entry for the id. */
static inline uint32_t meta_listed(uint32_t g) { return 1u << (META_LISTED_SHIFT + g); }

/* A list this much longer than twice its members is compacted before it
 * grows: each compaction then drops at least as many stale entries as it
 * keeps members, so its cost is paid by the leaves and joins before it. */
#define GEN_SLACK 64

static inline bool gen_stale(const generation *gen) {
    return gen->ids.n >= 2 * gen->members + GEN_SLACK;
}

/* Makes room for one more entry in generation g's list, compacting it
 * first when it is that stale (slow path of gen_enlist); false (reported)
 * when it cannot grow. */
bool gpugc__gen_room(gpugc_heap *h, uint32_t g);

/* Counts untracked id as a member of generation g, with an entry in its
 * list; its meta is the caller's to set (META_TRACKED and g), before
 * anything reads the list.  GPUGC_ENOMEM (reported) changes nothing. */
static inline int gpugc__gen_enlist(gpugc_heap *h, uint32_t id, uint32_t g) {
    generation *gen = &h->gen[g];
    if (!(h->meta[id] & meta_listed(g))) {
        u32vec *v = &gen->ids;
        if ((v->n == v->cap || gen_stale(gen)) && !gpugc__gen_room(h, g))
            return GPUGC_ENOMEM;
        v->v[v->n++] = id;
        dirty_id(h, id);
        h->meta[id] |= meta_listed(g); /* compacting the list left it alone */
    }
    gen->members++;
    return GPUGC_OK;
}

/* Makes untracked live id a member of generation g; GPUGC_ENOMEM
 * (reported) changes nothing. */
static inline int gpugc__gen_add(gpugc_heap *h, uint32_t id, uint32_t g) {
    if (gpugc__gen_enlist(h, id, g) != GPUGC_OK)
        return GPUGC_ENOMEM;
    dirty_id(h, id);
    h->meta[id] = (h->meta[id] & ~META_GEN_MASK) | META_TRACKED | g;
    return GPUGC_OK;
}

/* Tracked id leaves its generation (its entry goes stale). */
static inline void gpugc__gen_remove(gpugc_heap *h, uint32_t id) {
    h->gen[meta_gen(h->meta[id])].members--;
    dirty_id(h, id);
    h->meta[id] &= ~META_TRACKED;
}

/* Moves tracked id to the end of generation g (another than its own),
 * for which gpugc__vec_reserve made room; its old entry goes stale. */
void gpugc__gen_join(gpugc_heap *h, uint32_t id, uint32_t g);
/* After: generation g's list holds its members alone, ids.n == members. */
void gpugc__gen_compact(gpugc_heap *h, uint32_t g);
/* Moves tracked id to generation g (another than its own); GPUGC_ENOMEM
 * (reported) changes nothing. */
int gpugc__gen_move(gpugc_heap *h, uint32_t id, uint32_t g);
/* Moves every member of generation `from` but the immortal ones to
 * generation `to`, for which gpugc__vec_reserve made room for `from`'s
 * members: each to the end of its list, in order, unless that list still
 * holds the member's entry (never so in a list compacted just before);
 * `from` is left compacted. */
void gpugc__gen_merge(gpugc_heap *h, uint32_t from, uint32_t to);
/* Moves the last `count` entries of generation `from`, all members, to the
 * end of generation `to`, in order, for which there is room: undoes a
 * gen_merge of `to` into `from`, compacted just before, whose room `to`
 * kept. */
void gpugc__gen_move_tail(gpugc_heap *h, uint32_t from, uint32_t to, size_t count);
/* The generation an object joins when it becomes tracked. */
static inline uint32_t gen_home(uint32_t meta) {
    return meta & META_IMMORTAL ? PERMANENT_GEN : 0;
}

#endif /* GPUGC_GEN_H */

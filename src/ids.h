/* ids.h - the id-indexed arrays: handing out and taking back object ids,
 * growing every array indexed by them together. */
#ifndef GPUGC_IDS_H
#define GPUGC_IDS_H

#include "heap.h"

/* A never-used id (slow path of gpugc__id_alloc). */
uint32_t gpugc__id_fresh(gpugc_heap *h);

/* An id for a new object: the last one freed, else a fresh one, growing
 * the id arrays (and every registered side array) when needed; NO_ID
 * (reported) when it cannot.  Returned, not stored through a pointer, so
 * that the caller's id can live in a register across the slow path. */
static inline uint32_t gpugc__id_alloc(gpugc_heap *h) {
    uint32_t id = h->free_ids;
    if (id == NO_ID)
        return gpugc__id_fresh(h);
    h->free_ids = h->slot_off[id];
    return id;
}

/* True when id was in the set of the pending background collection,
 * whose marks may name it (collect.c). */
bool gpugc__background_member(const gpugc_heap *h, uint32_t id);

/* Takes back a dead object's id: its entries are cleared (but the meta
 * bits saying which generation lists hold it, gen.h) and it heads the free
 * list, to be reused by the next allocation; one of the set of a
 * pending background collection waits on the deferred list instead,
 * which joins the free list after its sweep (gpugc__ids_undefer). */
static inline void gpugc__id_release(gpugc_heap *h, uint32_t id) {
    dirty_id(h, id);
    h->meta[id] &= META_LISTED_MASK;
    rc_reset(h, id, 0);
    h->addr[id] = NULL;
    h->slot_cnt[id] = 0;
    if (h->bg && gpugc__background_member(h, id)) {
        if (h->deferred_head == NO_ID)
            h->deferred_tail = id;
        h->slot_off[id] = h->deferred_head;
        h->deferred_head = id;
        return;
    }
    h->slot_off[id] = h->free_ids;
    h->free_ids = id;
}

/* The deferred ids join the free list. */
void gpugc__ids_undefer(gpugc_heap *h);
/* Registers (on) or drops (off) a side array's grow hook.  At most
 * ID_GROW_HOOKS are registered at once; registering one twice is one. */
void gpugc__id_hook(gpugc_heap *h, id_grow_hook fn, bool on);
/* Bytes the id arrays and the bitmaps over ids take (memory figures). */
uint64_t gpugc__ids_bytes(const gpugc_heap *h);
/* Frees the id arrays (gpugc_heap_free). */
void gpugc__ids_free(gpugc_heap *h);

#endif /* GPUGC_IDS_H */

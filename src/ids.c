/* ids.c - the id-indexed arrays: one list of them, grown, counted and freed
 * together; ids handed out from a free list threaded through slot_off. */
#include "ids.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mark/backend.h"
#include "snapshot.h"

/* Every id-indexed array of gpugc_heap, each of capacity h->cap. */
#define ID_ARRAYS(X) X(rc) X(slot_off) X(slot_cnt) X(meta) X(addr) X(gc_refs)

/* Grows every id-indexed array, the bitmaps over ids and the registered
 * side arrays to `cap` entries.  An array that grew before another failed
 * simply stays larger: h->cap only moves when all did. */
static bool ids_grow(gpugc_heap *h, uint32_t cap) {
    /* A background start's copy reads these four: it must be done before
     * one of them moves. */
    size_t bytes = (size_t)cap * sizeof(uint32_t);
    if (!(gpugc__big_stays(h->rc, bytes) && gpugc__big_stays(h->meta, bytes) &&
          gpugc__big_stays(h->slot_off, bytes) && gpugc__big_stays(h->slot_cnt, bytes)))
        gpugc__snapshot_copy_wait(h);
    gpugc__backend_host_moving(h);
#define GROW(field)                                                                        \
    {                                                                                      \
        void *p = gpugc__big_grow(h, h->field, (size_t)h->cap * sizeof *h->field,          \
                                  (size_t)cap * sizeof *h->field,                          \
                                  "gpugc_new (id arrays)");                                \
        if (!p)                                                                            \
            return false;                                                                  \
        h->field = p;                                                                      \
    }
    ID_ARRAYS(GROW)
#undef GROW
    uint64_t *garbage = gpugc__big_grow(h, h->garbage, ((size_t)h->cap + 63) / 64 * 8,
                                        ((size_t)cap + 63) / 64 * 8, "gpugc_new (bitmap)");
    if (garbage)
        h->garbage = garbage;
    if (!garbage ||
        !gpugc__bits_grow(h, &h->card_ids, card_words(h->cap), card_words(cap),
                          "gpugc_new (cards)") ||
        (h->hcard_ids && !gpugc__bits_grow(h, &h->hcard_ids, card_words(h->cap), card_words(cap),
                                           "gpugc_new (host cards)")))
        return false;
    for (int k = 0; k < ID_GROW_HOOKS; k++)
        if (h->id_hooks[k] && !h->id_hooks[k](h, h->cap, cap))
            return false;
    h->cap = cap;
    return true;
}

uint32_t gpugc__id_fresh(gpugc_heap *h) {
    if (h->nids == h->cap) {
        if (h->cap == MAX_IDS) {
            gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_new: the heap holds %u objects, its limit",
                             MAX_IDS);
            return NO_ID;
        }
        uint64_t cap = h->cap ? (uint64_t)h->cap * 2 : 1024;
        if (!ids_grow(h, cap > MAX_IDS ? MAX_IDS : (uint32_t)cap))
            return NO_ID;
    }
    return h->nids++;
}

void gpugc__ids_undefer(gpugc_heap *h) {
    if (h->deferred_head == NO_ID)
        return;
    dirty_id(h, h->deferred_tail);
    h->slot_off[h->deferred_tail] = h->free_ids;
    h->free_ids = h->deferred_head;
    h->deferred_head = h->deferred_tail = NO_ID;
}

void gpugc__id_hook(gpugc_heap *h, id_grow_hook fn, bool on) {
    int k, empty = ID_GROW_HOOKS;
    for (k = ID_GROW_HOOKS - 1; k >= 0; k--) {
        if (h->id_hooks[k] == fn)
            h->id_hooks[k] = NULL;
        if (!h->id_hooks[k])
            empty = k;
    }
    GPUGC_ASSERT(!on || empty < ID_GROW_HOOKS);
    if (on && empty < ID_GROW_HOOKS)
        h->id_hooks[empty] = fn;
}

uint64_t gpugc__ids_bytes(const gpugc_heap *h) {
    uint64_t per_id = 0;
#define SIZE(field) per_id += sizeof *h->field;
    ID_ARRAYS(SIZE)
#undef SIZE
    return (uint64_t)h->cap * per_id + ((uint64_t)h->cap + 63) / 64 * 8 +
           card_words(h->cap) * sizeof(uint64_t);
}

void gpugc__ids_free(gpugc_heap *h) {
#define FREE(field) gpugc__big_free(h->field);
    ID_ARRAYS(FREE)
#undef FREE
    gpugc__big_free(h->garbage);
    free(h->card_ids);
}

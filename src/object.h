/* object.h - objects and their references: the pointer check, counting,
 * the release cascade, and freeing an object's memory. */
#ifndef GPUGC_OBJECT_H
#define GPUGC_OBJECT_H

#include "heap.h"

/* The id of obj after checking that it is a live object of h; NO_ID after
 * reporting GPUGC_ENOTOBJ (or GPUGC_EINVAL for NULL) on behalf of `fn`. */
uint32_t gpugc__object_id(const gpugc_heap *h, const void *obj, const char *fn);

/* Adds one count to id, unless it is immortal (its count never moves);
 * false when the count is at GPUGC_MAX_REFCOUNT (the caller reports). */
static inline bool count_up(gpugc_heap *h, uint32_t id) {
    uint32_t c = h->rc[id];
    if (c < GPUGC_MAX_REFCOUNT) {
        rc_store(h, id, c + 1);
        return true;
    }
    return c == IMMORTAL_RC;
}

/* Drops one reference to id; an id reaching zero joins the pending list.
 * Runs no callback, so it is safe while the heap is in mid-change. */
void gpugc__drop_ref(gpugc_heap *h, uint32_t id);
/* Frees the pending ids (finalize, destroy, drop their slots' references,
 * free), cascading, unless a release is already running further up. */
void gpugc__release_pending(gpugc_heap *h);
/* Runs id's finalizer if its type has one and it never ran (PEP 442: once
 * per object, ever); true if it ran. */
bool gpugc__object_finalize(gpugc_heap *h, uint32_t id);
/* Drops the references slots[off, off + n) hold, but not those to ids
 * whose bit is set in `keep` (NULL: none is kept).  Runs no callback. */
void gpugc__drop_slot_refs(gpugc_heap *h, uint32_t off, uint32_t n, const uint64_t *keep);
/* Runs the type's destroy callback, if any. */
void gpugc__object_destroy(gpugc_heap *h, uint32_t id);
/* Frees a dead object's memory (payload, slot range, id) without touching
 * what its slots reference. */
void gpugc__object_free(gpugc_heap *h, uint32_t id);

#endif /* GPUGC_OBJECT_H */

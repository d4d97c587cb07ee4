/* collect.h - what the rest of the library asks of the cycle collector. */
#ifndef GPUGC_COLLECT_H
#define GPUGC_COLLECT_H

#include "heap.h"

/* Runs the automatic collection CPython would run at this allocation. */
void gpugc__maybe_collect(gpugc_heap *h);
/* Whether gpugc__maybe_collect has anything to look at (a collection due,
 * or one pending in the background): the one test an allocation makes
 * inline. */
static inline bool collect_due(const gpugc_heap *h) {
    return h->bg || h->gen[0].count > h->gen[0].threshold;
}
/* For a call that needs a settled heap: finishes a pending background
 * collection first.  GPUGC_OK, or GPUGC_EBUSY (reported on behalf of fn)
 * when one is pending and the heap is in a callback. */
int gpugc__settle(gpugc_heap *h, const char *fn);
/* gpugc_heap_free's: waits for a pending mark and drops it unswept, and
 * frees the snapshot. */
void gpugc__background_drop(gpugc_heap *h);

#endif /* GPUGC_COLLECT_H */

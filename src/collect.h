/* collect.h - what the rest of the library asks of the cycle collector. */
#ifndef GPUGC_COLLECT_H
#define GPUGC_COLLECT_H

#include "heap.h"

/* Runs the automatic collection CPython would run at this allocation. */
void gpugc__maybe_collect(gpugc_heap *h);
/* Whether gpugc__maybe_collect has anything to look at: the one test an
 * allocation makes inline. */
static inline bool collect_due(const gpugc_heap *h) {
    return h->gen[0].count > h->gen[0].threshold;
}

#endif /* GPUGC_COLLECT_H */

/* slots.h - ranges of the heap's slot array (slots.c says how free ranges
 * are kept). */
#ifndef GPUGC_SLOTS_H
#define GPUGC_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

void gpugc__slots_init(slot_space *s);
/* The slow paths of the two below: a large range, a growing array. */
bool gpugc__slots_alloc_slow(gpugc_heap *h, uint32_t n, uint32_t *off);
void gpugc__slots_release_slow(gpugc_heap *h, uint32_t off, uint32_t n);

/* The offset of a fresh range of n > 0 slots, all NO_ID; false when the
 * slot array cannot grow.  A small range comes off its stack, or off the
 * top while there is room, inline. */
static inline bool gpugc__slots_alloc(gpugc_heap *h, uint32_t n, uint32_t *off) {
    slot_space *s = &h->ss;
    uint32_t o;
    if (n > SLOT_SMALL)
        return gpugc__slots_alloc_slow(h, n, off);
    if ((o = s->small[n]) != NO_ID) {
        s->small[n] = h->slots[o];
        s->nfree -= n;
    } else if ((uint64_t)s->top + n <= h->slots_cap) {
        o = s->top;
        s->top += n;
    } else {
        return gpugc__slots_alloc_slow(h, n, off);
    }
    dirty_slots(h, o, n);
    for (uint32_t i = 0; i < n; i++)
        h->slots[o + i] = NO_ID;
    *off = o;
    return true;
}

/* Takes back slots[off, off + n): the top comes down, a small range joins
 * its stack. */
static inline void gpugc__slots_release(gpugc_heap *h, uint32_t off, uint32_t n) {
    slot_space *s = &h->ss;
    if (n == 0)
        return;
    if (off + n == s->top) {
        s->top = off;
    } else if (n <= SLOT_SMALL) {
        s->nfree += n;
        touch_slots(h, off, 1);
        h->slots[off] = s->small[n];
        s->small[n] = off;
    } else {
        gpugc__slots_release_slow(h, off, n);
    }
}
/* The slot part of gpugc_validate.  Before: `owned` (a bitmap over the
 * slots below the top) marks the ranges of live objects, `used` slots.
 * Checks that the free ranges overlap neither them nor each other and
 * that used and free ranges make up the array below the top. */
int gpugc__slots_check(gpugc_heap *h, uint64_t *owned, uint64_t used);
/* Marks slots[off, off+n) in owned; false if one already was. */
bool gpugc__slots_claim(uint64_t *owned, uint32_t off, uint32_t n);

#endif /* GPUGC_SLOTS_H */

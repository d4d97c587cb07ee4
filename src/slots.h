/* slots.h - ranges of the heap's slot array (slots.c says how free ranges
 * are kept). */
#ifndef GPUGC_SLOTS_H
#define GPUGC_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gpugc.h"

/* Free ranges are linked through the slot array itself, so releasing never
 * allocates: slots[off] holds the next free range's offset (NO_ID ends the
 * list); a large range keeps its length in slots[off + 1]. */
#define SLOT_SMALL 64

typedef struct slot_space {
    uint32_t top;                  /* slots[top..] never handed out        */
    uint64_t nfree;                /* slots in free ranges                 */
    uint32_t small[SLOT_SMALL + 1]; /* small[n]: stack of free n-ranges    */
    uint32_t large;                /* ranges above SLOT_SMALL, first fit   */
} slot_space;

void gpugc__slots_init(slot_space *s);
/* The offset of a fresh range of n > 0 slots, all NO_ID; false when the
 * slot array cannot grow. */
bool gpugc__slots_alloc(gpugc_heap *h, uint32_t n, uint32_t *off);
void gpugc__slots_release(gpugc_heap *h, uint32_t off, uint32_t n);
/* The slot part of gpugc_validate.  Before: `owned` (a bitmap over the
 * slots below the top) marks the ranges of live objects, `used` slots.
 * Checks that the free ranges overlap neither them nor each other and
 * that used and free ranges make up the array below the top. */
int gpugc__slots_check(gpugc_heap *h, uint64_t *owned, uint64_t used);
/* Marks slots[off, off+n) in owned; false if one already was. */
bool gpugc__slots_claim(uint64_t *owned, uint32_t off, uint32_t n);

#endif /* GPUGC_SLOTS_H */

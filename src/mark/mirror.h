/* mirror.h - the device mirror's sync format, independent of any GPU API.
 *
 * A device backend keeps copies of meta, slot_off, slot_cnt (the id group)
 * and slots (the slot group) in device memory (DESIGN.md section 1).  After
 * a full upload it clears the heap's card bitmaps; from then on every write
 * to those arrays sets a card's bit (heap.h), and before each device
 * mark the backend packs the dirty cards of each group into a staging
 * buffer, uploads it in one copy per part and lets a scatter kernel
 * (kernels/scatter.cl) put each card in place (or, when many are dirty,
 * uploads the group whole: mark/device.c).
 *
 * Staging format of one group of narrays arrays with ncards dirty cards:
 *   cards[k]   the index of the k-th dirty card, in increasing order
 *   data       narrays blocks of ncards * CARD_SIZE words, one per array in
 *              the order given: block a holds array a's entries
 *              [cards[k] * CARD_SIZE, + CARD_SIZE) for k = 0, 1, ...
 *              (entries at or past the array's length are zero; the scatter
 *              kernel skips them)
 */
#ifndef GPUGC_MIRROR_H
#define GPUGC_MIRROR_H

#include "heap.h"


#define MIRROR_MAX_ARRAYS 3

typedef struct mirror_stage {
    uint32_t *cards;
    uint32_t *data;
    size_t ncards;   /* dirty cards packed by the last gpugc__mirror_pack        */
    size_t cap;      /* cards the two buffers have room for               */
    /* Where the buffers come from (pinned memory, for fast copies):
     * alloc(ctx, bytes) gives NULL when it has none. */
    void *(*alloc)(void *ctx, size_t bytes);
    void (*free)(void *ctx, void *p);
    void *ctx;
} mirror_stage;

/* The dirty cards of entries [0, n): the bits set in `cards`. */
size_t gpugc__mirror_dirty(const uint64_t *cards, uint64_t n);

/* Before: bits of `cards` set for the cards of entries [0, n) of every
 * array that changed since the device last copied them, `dirty` of them
 * (gpugc__mirror_dirty).
 * After:  *st holds those cards (format above) and their bits are clear.
 * GPUGC_OK, or GPUGC_ENOMEM (reported) with the bits left as they were. */
int gpugc__mirror_pack(gpugc_heap *h, mirror_stage *st, uint64_t *cards, uint64_t n,
                       size_t dirty, const uint32_t *const arrays[], unsigned narrays);

/* Clears the card bits of entries [0, n): after a full upload. */
void gpugc__mirror_clear(uint64_t *cards, uint64_t n);

void gpugc__mirror_stage_free(mirror_stage *st);

#endif /* GPUGC_MIRROR_H */

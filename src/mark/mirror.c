/* mirror.c - packs the dirty cards of mirrored arrays for a device upload
 * (format in mirror.h).  Shared by the device backends; no GPU API here. */
#include "mark/mirror.h"

#include <string.h>

#include "error.h"

size_t gpugc__mirror_dirty(const uint64_t *cards, uint64_t n) {
    size_t words = card_words(n), dirty = 0;
    for (size_t w = 0; w < words; w++)
        dirty += (size_t)__builtin_popcountll(cards[w]);
    return dirty;
}

int gpugc__mirror_pack(gpugc_heap *h, mirror_stage *st, uint64_t *cards, uint64_t n,
                       size_t dirty, const uint32_t *const arrays[], unsigned narrays) {
    size_t words = card_words(n);
    if (dirty > st->cap) {
        /* grown geometrically: a heap whose dirty cards creep up
         * reallocates (pinned memory, slow to get) a few times only */
        size_t cap = st->cap * 2 > dirty ? st->cap * 2 : dirty;
        st->free(st->ctx, st->cards);
        st->free(st->ctx, st->data);
        st->cap = 0;
        st->cards = st->alloc(st->ctx, cap * sizeof *st->cards);
        st->data = st->alloc(st->ctx, cap * MIRROR_MAX_ARRAYS * CARD_SIZE * sizeof *st->data);
        if (!st->cards || !st->data)
            return gpugc__set_error(h, GPUGC_ENOMEM,
                                    "gpugc_collect: no memory to stage %zu dirty cards", dirty);
        st->cap = cap;
    }
    st->ncards = dirty;
    size_t k = 0;
    for (size_t w = 0; w < words; w++) {
        for (uint64_t b = cards[w]; b; b &= b - 1) {
            uint32_t card = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(b));
            uint64_t first = (uint64_t)card << CARD_SHIFT;
            size_t len = n - first < CARD_SIZE ? (size_t)(n - first) : CARD_SIZE;
            st->cards[k] = card;
            for (unsigned a = 0; a < narrays; a++) {
                uint32_t *to = st->data + (a * dirty + k) * CARD_SIZE;
                memcpy(to, arrays[a] + first, len * sizeof *to);
                memset(to + len, 0, (CARD_SIZE - len) * sizeof *to);
            }
            k++;
        }
        cards[w] = 0;
    }
    return GPUGC_OK;
}

void gpugc__mirror_clear(uint64_t *cards, uint64_t n) {
    memset(cards, 0, card_words(n) * sizeof *cards);
}

void gpugc__mirror_stage_free(mirror_stage *st) {
    st->free(st->ctx, st->cards);
    st->free(st->ctx, st->data);
    st->cards = st->data = NULL;
    st->ncards = st->cap = 0;
}

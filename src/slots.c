/* slots.c - ranges of the heap's slot array.
 *
 * Each object's references are one contiguous range of h->slots.  Freed
 * ranges are kept for reuse, linked through their own first slots: exact-size
 * stacks for up to SLOT_SMALL slots (the common case: most objects have a
 * handful of references), a first-fit list with splitting for larger ones.  A range freed at the top of the
 * array lowers the top instead.  Ranges are never moved, so an object's
 * slot_off is stable for its life (the device mirror relies on it).
 */

#include "slots.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heap.h"
#include "snapshot.h"

/* Grows h->slots to hold at least `need` entries. */
static bool slots_grow(gpugc_heap *h, uint64_t need) {
    if (need > MAX_IDS) {
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc: more than %u reference slots in one heap", MAX_IDS);
        return false;
    }
    uint64_t cap = h->slots_cap ? h->slots_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > MAX_IDS)
        cap = MAX_IDS;
    if (!gpugc__big_stays(h->slots, cap * sizeof *h->slots))
        gpugc__snapshot_copy_wait(h); /* a background start's copy reads them */
    if (!gpugc__bits_grow(h, &h->card_slots, card_words(h->slots_cap), card_words(cap), "gpugc (slot cards)") ||
        (h->hcard_slots && !gpugc__bits_grow(h, &h->hcard_slots, card_words(h->slots_cap),
                                             card_words(cap), "gpugc (host slot cards)")))
        return false;
    uint32_t *s = gpugc__big_grow(h, h->slots, (size_t)h->slots_cap * sizeof *s, cap * sizeof *s,
                                  "gpugc (slot array)");
    if (!s)
        return false;
    h->slots = s;
    h->slots_cap = (uint32_t)cap;
    return true;
}

void gpugc__slots_init(slot_space *s) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i <= SLOT_SMALL; i++)
        s->small[i] = NO_ID;
    s->large = NO_ID;
}

/* Unlinks a free range of at least n slots; *got receives its length. */
static bool take_free(gpugc_heap *h, uint32_t n, uint32_t *off, uint32_t *got) {
    slot_space *s = &h->ss;
    if (n <= SLOT_SMALL) {
        if (s->small[n] == NO_ID)
            return false;
        *off = s->small[n];
        s->small[n] = h->slots[*off];
        *got = n;
        return true;
    }
    for (uint32_t *link = &s->large; *link != NO_ID; link = &h->slots[*link]) {
        uint32_t o = *link;
        if (h->slots[o + 1] >= n) {
            *got = h->slots[o + 1];
            if (link != &s->large)
                touch_slots(h, (uint32_t)(link - h->slots), 1);
            *link = h->slots[o];
            *off = o;
            return true;
        }
    }
    return false;
}

bool gpugc__slots_alloc_slow(gpugc_heap *h, uint32_t n, uint32_t *off) {
    slot_space *s = &h->ss;
    uint32_t got;
    if (take_free(h, n, off, &got)) {
        s->nfree -= got;
        gpugc__slots_release(h, *off + n, got - n);
    } else {
        uint64_t end = (uint64_t)s->top + n;
        if (end > h->slots_cap && !slots_grow(h, end))
            return false;
        *off = s->top;
        s->top = (uint32_t)end;
    }
    dirty_slots(h, *off, n);
    for (uint32_t i = 0; i < n; i++)
        h->slots[*off + i] = NO_ID;
    return true;
}

void gpugc__slots_release_slow(gpugc_heap *h, uint32_t off, uint32_t n) {
    slot_space *s = &h->ss;
    s->nfree += n;
    touch_slots(h, off, 2);
    h->slots[off] = s->large;
    h->slots[off + 1] = n;
    s->large = off;
}

bool gpugc__slots_claim(uint64_t *owned, uint32_t off, uint32_t n) {
    for (uint32_t k = off; k < off + n; k++) {
        if (bit_get(owned, k))
            return false;
        bit_set(owned, k);
    }
    return true;
}

int gpugc__slots_check(gpugc_heap *h, uint64_t *owned, uint64_t used) {
    uint32_t top = h->ss.top;
    uint64_t free_slots = 0;
    for (uint32_t n = 1; n <= SLOT_SMALL + 1; n++) {
        uint32_t off = n <= SLOT_SMALL ? h->ss.small[n] : h->ss.large;
        for (; off != NO_ID; off = h->slots[off]) {
            uint32_t len = n <= SLOT_SMALL ? n : h->slots[off + 1];
            if ((uint64_t)off + len > top || !gpugc__slots_claim(owned, off, len))
                return gpugc__set_error(h, GPUGC_ECORRUPT,
                                        "gpugc_validate: free slot range [%u, +%u) overlaps "
                                        "another or passes the top %u",
                                        off, len, top);
            free_slots += len;
        }
    }
    if (free_slots != h->ss.nfree || used + free_slots != top)
        return gpugc__set_error(h, GPUGC_ECORRUPT,
                                "gpugc_validate: %llu used and %llu free slots below the top %u "
                                "(%llu counted free)",
                                (unsigned long long)used, (unsigned long long)free_slots, top,
                                (unsigned long long)h->ss.nfree);
    return GPUGC_OK;
}

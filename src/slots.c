/* slots.c - ranges of the heap's slot array, and small vectors.
 *
 * Each object's references are one contiguous range of h->slots.  Freed
 * ranges are kept for reuse, linked through their own first slots: exact-size
 * stacks for up to SLOT_SMALL slots (the common case: most objects have a
 * handful of references), a first-fit list with splitting for larger ones.  A range freed at the top of the
 * array lowers the top instead.  Ranges are never moved, so an object's
 * slot_off is stable for its life (the device mirror relies on it).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void *array_grow(gpugc_heap *h, void *p, size_t *cap, size_t elem, size_t first, const char *what) {
    size_t n = *cap ? *cap * 2 : first;
    void *q = heap_realloc(h, p, n * elem, what);
    if (q)
        *cap = n;
    return q;
}

int vec_push(gpugc_heap *h, u32vec *v, uint32_t x) {
    if (v->n == v->cap) {
        uint32_t *nv = array_grow(h, v->v, &v->cap, sizeof *nv, 16, "gpugc (vector)");
        if (!nv)
            return GPUGC_ENOMEM;
        v->v = nv;
    }
    v->v[v->n++] = x;
    return GPUGC_OK;
}

bool vec_reserve(gpugc_heap *h, u32vec *v, size_t extra, const char *what) {
    if (v->n + extra <= v->cap)
        return true;
    /* Geometric, so that entries added one at a time cost amortized O(1). */
    size_t cap = v->n + extra > 2 * v->cap ? v->n + extra : 2 * v->cap;
    uint32_t *nv = heap_realloc(h, v->v, cap * sizeof *nv, what);
    if (!nv)
        return false;
    v->v = nv;
    v->cap = cap;
    return true;
}

bool bits_grow(gpugc_heap *h, uint64_t **bits, size_t old_words, size_t words, const char *what) {
    uint64_t *b = heap_realloc(h, *bits, words * sizeof *b, what);
    if (!b)
        return false;
    memset(b + old_words, 0, (words - old_words) * sizeof *b);
    *bits = b;
    return true;
}

void vec_free(u32vec *v) {
    free(v->v);
    memset(v, 0, sizeof *v);
}

/* Grows h->slots to hold at least `need` entries. */
static bool slots_grow(gpugc_heap *h, uint64_t need) {
    if (need > MAX_IDS) {
        set_error(h, GPUGC_EOVERFLOW, "gpugc: more than %u reference slots in one heap", MAX_IDS);
        return false;
    }
    uint64_t cap = h->slots_cap ? h->slots_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > MAX_IDS)
        cap = MAX_IDS;
    if (!bits_grow(h, &h->card_slots, card_words(h->slots_cap), card_words(cap), "gpugc (slot cards)"))
        return false;
    uint32_t *s = heap_realloc(h, h->slots, cap * sizeof *s, "gpugc (slot array)");
    if (!s)
        return false;
    h->slots = s;
    h->slots_cap = (uint32_t)cap;
    return true;
}

void slots_init(slot_space *s) {
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
            *link = h->slots[o];
            *off = o;
            return true;
        }
    }
    return false;
}

bool slots_alloc(gpugc_heap *h, uint32_t n, uint32_t *off) {
    slot_space *s = &h->ss;
    uint32_t got;
    if (take_free(h, n, off, &got)) {
        s->nfree -= got;
        slots_release(h, *off + n, got - n);
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

void slots_release(gpugc_heap *h, uint32_t off, uint32_t n) {
    slot_space *s = &h->ss;
    if (n == 0)
        return;
    if (off + n == s->top) {
        s->top = off;
        return;
    }
    s->nfree += n;
    uint32_t *head = n <= SLOT_SMALL ? &s->small[n] : &s->large;
    h->slots[off] = *head;
    if (n > SLOT_SMALL)
        h->slots[off + 1] = n;
    *head = off;
}

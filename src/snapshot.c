/* snapshot.c - the host's copy of the heap for background collections
 * (snapshot.h): taking it by cards, and the shadow heap that marks it. */
#include "snapshot.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Grows an array of the snapshot from `old` to `n` entries of `elem`
 * bytes, the new ones zeroed with `zero` (which also makes the system
 * provide their pages now).  h NULL: the collector thread, preparing a
 * later start, which reports nothing (that start will, if it must grow). */
static bool grow(gpugc_heap *h, void **p, size_t old, size_t n, size_t elem, bool zero) {
    void *q = h ? gpugc__heap_realloc(h, *p, n * elem + 1, "gpugc_collect_start (snapshot)")
                : realloc(*p, n * elem + 1);
    if (!q)
        return false;
    if (zero)
        memset((char *)q + old * elem, 0, (n - old) * elem);
    *p = q;
    return true;
}

/* Room for cap ids and slots_cap slots, the new words of the bitmaps zero
 * (the arrays' new entries are left to gpugc__snapshot_prepare).
 * `meta_aside`: meta stays where it is, which the program's thread reads
 * while a collection is pending (gpugc__background_member), and the
 * larger copy waits in meta_next. */
static bool room(gpugc_heap *h, snapshot *s, uint32_t cap, uint32_t slots_cap, bool meta_aside) {
    if (s->cap < cap) {
        void **ids[] = {(void **)&s->rc, (void **)&s->slot_off, (void **)&s->slot_cnt,
                        (void **)&s->gc_refs};
        for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
            if (!grow(h, ids[k], s->cap, cap, sizeof(uint32_t), false))
                return false;
        if (meta_aside) {
            if (!(s->meta_next = malloc((size_t)cap * sizeof(uint32_t) + 1)))
                return false;
            memcpy(s->meta_next, s->meta, (size_t)s->cap * sizeof(uint32_t));
            memset(s->meta_next + s->cap, 0, (size_t)(cap - s->cap) * sizeof(uint32_t));
        } else if (!grow(h, (void **)&s->meta, s->cap, cap, sizeof(uint32_t), false)) {
            return false;
        }
        if (!grow(h, (void **)&s->garbage, ((size_t)s->cap + 63) / 64, ((size_t)cap + 63) / 64,
                  sizeof(uint64_t), true) ||
            !grow(h, (void **)&s->card_ids, card_words(s->cap), card_words(cap), sizeof(uint64_t),
                  true))
            return false;
        s->cap = cap;
    }
    if (s->slots_cap < slots_cap) {
        if (!grow(h, (void **)&s->slots, s->slots_cap, slots_cap, sizeof(uint32_t), false) ||
            !grow(h, (void **)&s->card_slots, card_words(s->slots_cap), card_words(slots_cap),
                  sizeof(uint64_t), true))
            return false;
        s->slots_cap = slots_cap;
    }
    return true;
}

/* Makes room for h's capacities; false (reported) when memory is short. */
static bool fit(gpugc_heap *h, snapshot *s) {
    if (!room(h, s, h->cap, h->slots_cap, false))
        return false;
    if (!h->hcard_ids &&
        (!gpugc__bits_grow(h, &h->hcard_ids, 0, card_words(h->cap), "gpugc_collect_start (cards)") ||
         !gpugc__bits_grow(h, &h->hcard_slots, 0, card_words(h->slots_cap),
                           "gpugc_collect_start (cards)")))
        return false;
    return true;
}

void gpugc__snapshot_prepare(snapshot *s, uint32_t nids, uint32_t top) {
    /* The heap doubles its arrays when they are full (ids.c, slots.c). */
    uint32_t cap = s->cap, slots_cap = s->slots_cap;
    if (nids > cap - cap / 4)
        cap = cap > MAX_IDS / 2 ? MAX_IDS : 2 * cap;
    if (top > slots_cap - slots_cap / 4)
        slots_cap = slots_cap > MAX_IDS / 2 ? MAX_IDS : 2 * slots_cap;
    room(NULL, s, cap, slots_cap, true);
    /* Entries no copy wrote yet (what was just grown, the room a start
     * made past its ids) would fault page by page in the next start's
     * copy: 15 MB of them cost one start at 16M ids 40 ms here.  Their
     * pages are made now; meta's only without a larger meta aside (which
     * the program's thread reads below the set's ids, never here). */
    if (s->touched < s->cap) {
        size_t from = nids > s->touched ? nids : s->touched, n = s->cap - from;
        uint32_t *const tail[] = {s->rc, s->slot_off, s->slot_cnt, s->gc_refs,
                                  s->meta_next ? NULL : s->meta};
        for (size_t a = 0; a < sizeof tail / sizeof tail[0]; a++)
            if (tail[a])
                memset(tail[a] + from, 0, n * sizeof(uint32_t));
        s->touched = s->cap;
    }
    if (s->slots_touched < s->slots_cap) {
        size_t from = top > s->slots_touched ? top : s->slots_touched;
        memset(s->slots + from, 0, (s->slots_cap - from) * sizeof(uint32_t));
        s->slots_touched = s->slots_cap;
    }
}

void gpugc__snapshot_adopt(gpugc_heap *h) {
    snapshot *s = h->snap;
    if (s->meta_next) {
        free(s->meta);
        s->meta = s->meta_next;
        s->meta_next = NULL;
    }
    gpugc__snapshot_count(h);
}

/* How many dirty cards copy_cards asks for ahead: a program's writes
 * scatter over the heap, so each card is a cache miss in each array, its
 * copy's line another, and in turn they would cost the copy about two
 * misses per card. */
#define CARDS_AHEAD 16
/* Card words the collector thread claims at once (512 cards): what the
 * program may wait for when it changes a card of a claimed word. */
#define CLAIM_WORDS 8

/* The arrays a card of kind k names: the id arrays copied (CARDS_IDS), or
 * the slot array (CARDS_SLOTS); how many entries of them are copied. */
static unsigned card_arrays(const snapshot *s, int k, uint32_t *to[], const uint32_t *from[],
                            uint64_t *n) {
    if (k == CARDS_SLOTS) {
        to[0] = s->slots;
        from[0] = s->from_slots;
        *n = s->take_top;
        return 1;
    }
    to[0] = s->meta, to[1] = s->slot_off, to[2] = s->slot_cnt;
    from[0] = s->from_meta, from[1] = s->from_slot_off, from[2] = s->from_slot_cnt;
    *n = s->take_nids;
    return 3;
}

static void copy_card(uint64_t first, uint64_t n, uint32_t *const to[], const uint32_t *const from[],
                      unsigned narrays) {
    if (first >= n)
        return;
    size_t len = n - first < CARD_SIZE ? (size_t)(n - first) : CARD_SIZE;
    for (unsigned a = 0; a < narrays; a++)
        memcpy(to[a] + first, from[a] + first, len * sizeof(uint32_t));
}

/* Copies the entries [0, n) of the arrays whose cards are set in words
 * [w0, w1), taking each word (zero after; cards past n name nothing yet).
 * The cards found wait in a ring while their lines are fetched. */
static void copy_cards(uint64_t *cards, size_t w0, size_t w1, uint64_t n, uint32_t *const to[],
                       const uint32_t *const from[], unsigned narrays) {
    uint64_t ring[CARDS_AHEAD];
    size_t found = 0;
    for (size_t w = w0; w < w1; w++) {
        for (uint64_t b = __atomic_exchange_n(&cards[w], 0, __ATOMIC_SEQ_CST); b; b &= b - 1) {
            uint64_t first = ((uint64_t)w * 64 + (unsigned)__builtin_ctzll(b)) << CARD_SHIFT;
            if (first >= n)
                continue;
            for (unsigned a = 0; a < narrays; a++) {
                PREFETCH(from[a] + first);
                PREFETCH_WRITE(to[a] + first);
            }
            if (found >= CARDS_AHEAD)
                copy_card(ring[found % CARDS_AHEAD], n, to, from, narrays);
            ring[found++ % CARDS_AHEAD] = first;
        }
    }
    for (size_t k = found > CARDS_AHEAD ? found - CARDS_AHEAD : 0; k < found; k++)
        copy_card(ring[k % CARDS_AHEAD], n, to, from, narrays);
}

/* Share `part` of `parts` of [0, n). */
static void share(size_t n, unsigned part, unsigned parts, size_t *lo, size_t *hi) {
    *lo = n / parts * part + (part < n % parts ? part : n % parts);
    *hi = *lo + n / parts + (part < n % parts);
}

/* Share `part` of `parts` of the card words of an array with n entries in
 * use and room for cap: the words of the entries in use are shared, and
 * the last share also has the words past them, whose cards name nothing
 * yet. */
static void card_share(size_t n, size_t cap, unsigned part, unsigned parts, size_t *lo,
                       size_t *hi) {
    share(card_words(n), part, parts, lo, hi);
    if (part == parts - 1)
        *hi = card_words(cap);
}

/* The pending cards of kind k grown to the host cards' `words`. */
static bool pend_fit(gpugc_heap *h, snapshot *s, int k, size_t words) {
    if (s->pend_words[k] < words) {
        if (!gpugc__bits_grow(h, &s->pend[k], s->pend_words[k], words,
                              "gpugc_collect_start (cards)"))
            return false;
        s->pend_words[k] = words;
    }
    return true;
}

/* The host cards of kind k become the snapshot's pending ones, and the
 * pending ones, all zero since the last copy, h's. */
static void pend(snapshot *s, int k, uint64_t **cards) {
    uint64_t *was = *cards;
    *cards = s->pend[k];
    s->pend[k] = was;
}

int gpugc__snapshot_take(gpugc_heap *h) {
    if (!h->snap && !(h->snap = calloc(1, sizeof *h->snap)))
        return gpugc__set_error(h, GPUGC_ENOMEM, "gpugc_collect_start: no memory for a snapshot");
    snapshot *s = h->snap;
    if (!fit(h, s))
        return GPUGC_ENOMEM;
    if (s->kept_cap < h->nids) {
        if (!gpugc__bits_grow(h, &s->kept, ((size_t)s->kept_cap + 63) / 64,
                              ((size_t)h->cap + 63) / 64, "gpugc_collect_start (counts)"))
            return GPUGC_ENOMEM;
        s->kept_cap = h->cap;
    }
    /* The first take copies everything in the pause; from then on every
     * change is carded, and the cards are copied beside the program. */
    s->take_whole = !(h->mirrors & MIRROR_HOST);
    if (!s->take_whole) {
        if (!pend_fit(h, s, CARDS_IDS, card_words(h->cap)) ||
            !pend_fit(h, s, CARDS_SLOTS, card_words(h->slots_cap)))
            return GPUGC_ENOMEM;
        pend(s, CARDS_IDS, &h->hcard_ids);
        pend(s, CARDS_SLOTS, &h->hcard_slots);
    }
    s->take_nids = h->nids;
    s->take_top = h->ss.top;
    s->from_meta = h->meta, s->from_slot_off = h->slot_off, s->from_slot_cnt = h->slot_cnt;
    s->from_slots = h->slots, s->from_rc = h->rc;
    h->mirrors |= MIRROR_HOST;
    for (int k = 0; k < 2; k++) {
        atomic_store_explicit(&s->claimed[k], 0, memory_order_relaxed);
        atomic_store_explicit(&s->done[k], 0, memory_order_relaxed);
    }
    gpugc__snapshot_count(h);
    return GPUGC_OK;
}

/* memcpy of share `part` of `parts` of n entries of `elem` bytes. */
static void copy_share(void *to, const void *from, size_t n, size_t elem, unsigned part,
                       unsigned parts) {
    size_t lo, hi;
    share(n, part, parts, &lo, &hi);
    memcpy((char *)to + lo * elem, (const char *)from + lo * elem, (hi - lo) * elem);
}

/* Moves share `part` of `parts` of card words [0, words) from `from`,
 * cleared, to `to`. */
static void move_cards(uint64_t *to, uint64_t *from, size_t words, unsigned part,
                       unsigned parts) {
    size_t lo, hi;
    share(words, part, parts, &lo, &hi);
    memcpy(to + lo, from + lo, (hi - lo) * sizeof *to);
    memset(from + lo, 0, (hi - lo) * sizeof *from);
}

void gpugc__snapshot_copy(gpugc_heap *h, unsigned part, unsigned parts) {
    snapshot *s = h->snap;
    if (s->take_whole) {
        uint32_t *const to[] = {s->meta, s->slot_off, s->slot_cnt};
        const uint32_t *const from[] = {h->meta, h->slot_off, h->slot_cnt};
        size_t nids = s->take_nids, top = s->take_top, lo, hi;
        for (unsigned a = 0; a < 3; a++)
            copy_share(to[a], from[a], nids, sizeof(uint32_t), part, parts);
        copy_share(s->slots, h->slots, top, sizeof(uint32_t), part, parts);
        card_share(nids, h->cap, part, parts, &lo, &hi);
        memset(h->hcard_ids + lo, 0, (hi - lo) * sizeof(uint64_t));
        card_share(top, h->slots_cap, part, parts, &lo, &hi);
        memset(h->hcard_slots + lo, 0, (hi - lo) * sizeof(uint64_t));
    }
    /* The device's cards go with the snapshot its mark will copy from. */
    move_cards(s->card_ids, h->card_ids, card_words(h->cap), part, parts);
    move_cards(s->card_slots, h->card_slots, card_words(h->slots_cap), part, parts);
}

/* ---- the copy beside the program ------------------------------------------ *
 *
 * The cards a later start found set are copied by the collector thread, a
 * few words at a time: it says which words it claims (claimed) before it
 * takes them, and which it has copied (done) after.  The program, before
 * it changes a card, takes the card's bit itself if it is still set and
 * copies that card; if the bit is gone and the card's word is claimed, it
 * waits for that word to be done.  `inflight` counts the program's own
 * copies, which the thread waits out before it reads the snapshot.
 *
 * An increment must stay one add, so the counts are not carded: 4 bytes an
 * id to copy at every start, which the thread also does beside the
 * program.  The program logs a count before its first change (release),
 * then stores the change (release): a copy that read a changed count thus
 * sees its log entry, which overwrites it. */

/* The pending card words of kind k the copy takes. */
static size_t pending_words(const snapshot *s, int k) {
    return s->take_whole ? 0 : s->pend_words[k];
}

void gpugc__snapshot_before(gpugc_heap *h, int k, uint64_t card) {
    snapshot *s = h->snap;
    size_t w = card / 64;
    if (atomic_load_explicit(&s->copied, memory_order_acquire)) {
        h->busy &= ~BUSY_COPYING;
        return;
    }
    if (w >= pending_words(s, k) || atomic_load_explicit(&s->done[k], memory_order_acquire) > w)
        return;
    atomic_fetch_add_explicit(&s->inflight, 1, memory_order_seq_cst);
    uint64_t bit = UINT64_C(1) << (card % 64);
    if (__atomic_fetch_and(&s->pend[k][w], ~bit, __ATOMIC_SEQ_CST) & bit) {
        uint32_t *to[3];
        const uint32_t *from[3];
        uint64_t n;
        unsigned narrays = card_arrays(s, k, to, from, &n);
        copy_card(card << CARD_SHIFT, n, to, from, narrays);
    } else if (atomic_load_explicit(&s->claimed[k], memory_order_seq_cst) > w) {
        while (atomic_load_explicit(&s->done[k], memory_order_acquire) <= w)
            sched_yield();
    }
    atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_release);
}

void gpugc__snapshot_copy_rest(snapshot *s) {
    for (int k = 0; k < 2; k++) {
        uint32_t *to[3];
        const uint32_t *from[3];
        uint64_t n;
        unsigned narrays = card_arrays(s, k, to, from, &n);
        size_t words = pending_words(s, k);
        for (size_t w = 0; w < words; w += CLAIM_WORDS) {
            size_t end = w + CLAIM_WORDS < words ? w + CLAIM_WORDS : words;
            atomic_store_explicit(&s->claimed[k], end, memory_order_seq_cst);
            copy_cards(s->pend[k], w, end, n, to, from, narrays);
            atomic_store_explicit(&s->done[k], end, memory_order_release);
        }
        for (size_t w = 0; w < words; w++)
            GPUGC_ASSERT(__atomic_load_n(&s->pend[k][w], __ATOMIC_RELAXED) == 0);
    }
    while (atomic_load_explicit(&s->inflight, memory_order_acquire))
        sched_yield();
    for (uint32_t i = 0; i < s->take_nids; i++)
        s->rc[i] = __atomic_load_n(&s->from_rc[i], __ATOMIC_RELAXED);
    atomic_thread_fence(memory_order_acquire);
    for (kept_counts *c = atomic_load_explicit(&s->log, memory_order_acquire); c;
         c = atomic_load_explicit(&c->next, memory_order_acquire))
        for (uint32_t k = 0, n = atomic_load_explicit(&c->n, memory_order_acquire); k < n; k++)
            s->rc[c->id[k]] = c->rc[k];
    atomic_store_explicit(&s->copied, 1, memory_order_release);
}

void gpugc__snapshot_copy_wait(gpugc_heap *h) {
    if (!(h->busy & BUSY_COPYING))
        return;
    while (!atomic_load_explicit(&h->snap->copied, memory_order_acquire))
        sched_yield();
    h->busy &= ~BUSY_COPYING;
}

/* Logs id's count; false when no chunk can be had. */
static bool keep(gpugc_heap *h, snapshot *s, uint32_t id) {
    kept_counts *t = s->log_tail;
    uint32_t n = t ? atomic_load_explicit(&t->n, memory_order_relaxed) : KEPT_CHUNK;
    if (n == KEPT_CHUNK) {
        kept_counts *c = gpugc__fault_fires(h, GPUGC_FAULT_ALLOC) ? NULL : malloc(sizeof *c);
        if (!c)
            return false;
        atomic_init(&c->next, NULL);
        atomic_init(&c->n, 0);
        atomic_store_explicit(t ? &t->next : &s->log, c, memory_order_release);
        s->log_tail = t = c;
        n = 0;
    }
    t->id[n] = id;
    t->rc[n] = h->rc[id];
    atomic_store_explicit(&t->n, n + 1, memory_order_release);
    return true;
}

void gpugc__snapshot_keep(gpugc_heap *h, uint32_t id, uint32_t v) {
    snapshot *s = h->snap;
    if (atomic_load_explicit(&s->copied, memory_order_acquire)) {
        h->busy &= ~BUSY_COPYING;
    } else if (id < s->take_nids && !bit_get(s->kept, id)) {
        if (keep(h, s, id))
            bit_set(s->kept, id);
        else
            gpugc__snapshot_copy_wait(h);
    }
    __atomic_store_n(&h->rc[id], v, __ATOMIC_RELEASE);
}

void gpugc__snapshot_copy_reset(gpugc_heap *h) {
    snapshot *s = h->snap;
    GPUGC_ASSERT(!atomic_load_explicit(&s->inflight, memory_order_relaxed));
    h->busy &= ~BUSY_COPYING;
    kept_counts *c = atomic_load_explicit(&s->log, memory_order_relaxed);
    while (c) {
        kept_counts *next = atomic_load_explicit(&c->next, memory_order_relaxed);
        for (uint32_t k = 0; k < atomic_load_explicit(&c->n, memory_order_relaxed); k++)
            bit_clear(s->kept, c->id[k]);
        free(c);
        c = next;
    }
    atomic_store_explicit(&s->log, NULL, memory_order_relaxed);
    s->log_tail = NULL;
    atomic_store_explicit(&s->copied, 0, memory_order_relaxed);
}

void gpugc__snapshot_return_cards(gpugc_heap *h) {
    snapshot *s = h->snap;
    /* Only the words the start handed over can be set (the snapshot may
     * have grown past the heap since). */
    for (size_t w = 0; w < card_words(s->cap < h->cap ? s->cap : h->cap); w++) {
        h->card_ids[w] |= s->card_ids[w];
        s->card_ids[w] = 0;
    }
    for (size_t w = 0; w < card_words(s->slots_cap < h->slots_cap ? s->slots_cap : h->slots_cap);
         w++) {
        h->card_slots[w] |= s->card_slots[w];
        s->card_slots[w] = 0;
    }
}

void gpugc__snapshot_shadow(const gpugc_heap *h, gpugc_heap *shadow) {
    const snapshot *s = h->snap;
    *shadow = *h;
    shadow->rc = s->rc;
    shadow->meta = s->meta;
    shadow->slot_off = s->slot_off;
    shadow->slot_cnt = s->slot_cnt;
    shadow->slots = s->slots;
    shadow->gc_refs = s->gc_refs;
    shadow->garbage = s->garbage;
    shadow->card_ids = s->card_ids;
    shadow->card_slots = s->card_slots;
    shadow->hcard_ids = shadow->hcard_slots = NULL;
    shadow->mirrors &= ~MIRROR_HOST;
    shadow->snap = NULL;
    shadow->bg = NULL;
    shadow->busy = BUSY_COLLECTING | BUSY_MARKING;
    shadow->pending = NO_ID;
}

void gpugc__snapshot_count(gpugc_heap *h) {
    snapshot *s = h->snap;
    s->bytes = (uint64_t)s->cap * 5 * sizeof(uint32_t) + ((uint64_t)s->cap + 63) / 64 * 8 +
               (uint64_t)s->slots_cap * sizeof(uint32_t) +
               2 * (card_words(s->cap) + card_words(s->slots_cap)) * sizeof(uint64_t) +
               ((uint64_t)s->kept_cap + 63) / 64 * 8 +
               (s->pend_words[CARDS_IDS] + s->pend_words[CARDS_SLOTS]) * sizeof(uint64_t);
}

uint64_t gpugc__snapshot_bytes(const gpugc_heap *h) {
    return h->snap ? h->snap->bytes : 0;
}

void gpugc__snapshot_free(gpugc_heap *h) {
    snapshot *s = h->snap;
    if (s) {
        gpugc__snapshot_copy_reset(h);
        free(s->kept);
        free(s->pend[CARDS_IDS]);
        free(s->pend[CARDS_SLOTS]);
        free(s->rc);
        free(s->meta);
        free(s->meta_next);
        free(s->slot_off);
        free(s->slot_cnt);
        free(s->slots);
        free(s->gc_refs);
        free(s->garbage);
        free(s->card_ids);
        free(s->card_slots);
        free(s);
    }
    free(h->hcard_ids);
    free(h->hcard_slots);
    h->snap = NULL;
    h->hcard_ids = h->hcard_slots = NULL;
}

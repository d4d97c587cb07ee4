/* validate.c - the heap validator: re-derives every invariant listed in
 * heap.h from the arrays and reports the first that does not hold; the
 * slot space, the pools and the weak references check their own parts.
 * Runs after every collection when the heap's `validate` is set (the
 * default in debug builds); tests call it after every step. */

#include "heap.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gen.h"
#include "slots.h"
#include "weakref.h"

#define FAIL(...) \
    do { \
        status = gpugc__set_error(h, GPUGC_ECORRUPT, "gpugc_validate: " __VA_ARGS__); \
        goto out; \
    } while (0)

/* Each generation's list holds ids handed out, each at most once, and
 * exactly those whose meta has the list's bit.  `seen`: a bitmap over the
 * ids, left dirty. */
static int lists_check(gpugc_heap *h, uint64_t *seen) {
    int status = GPUGC_OK;
    size_t words = ((size_t)h->nids + 63) / 64;
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++) {
        memset(seen, 0, words * sizeof *seen);
        const u32vec *v = &h->gen[g].ids;
        for (size_t k = 0; k < v->n; k++) {
            uint32_t id = v->v[k];
            if (id >= h->nids || bit_get(seen, id) || !(h->meta[id] & meta_listed(g)))
                FAIL("generation list %u: entry %zu, id %u, is out of range, twice there or "
                     "not flagged in its meta", g, k, id);
            bit_set(seen, id);
        }
        for (uint32_t id = 0; id < h->nids; id++)
            if ((h->meta[id] & meta_listed(g)) && !bit_get(seen, id))
                FAIL("id %u: its meta says generation list %u holds it, which it does not", id, g);
    }
out:
    return status;
}

static int validate(gpugc_heap *h) {
    int status = GPUGC_OK;
    uint32_t top = h->ss.top;
    uint32_t *incoming = calloc(h->nids + 1u, sizeof *incoming);
    uint64_t *owned = calloc(top / 64 + 1u, sizeof *owned);
    uint64_t *seen = calloc(h->nids / 64 + 1u, sizeof *seen);
    if (!incoming || !owned || !seen)
        FAIL("cannot allocate its scratch");

    size_t live = 0, tracked = 0;
    uint64_t used_slots = 0;
    for (uint32_t id = 0; id < h->nids; id++) {
        uint32_t m = h->meta[id];
        if (!(m & META_LIVE)) {
            if ((m & ~META_LISTED_MASK) || h->addr[id])
                FAIL("dead id %u: meta %#x says more than which lists hold it, or it has an "
                     "address", id, m);
            continue;
        }
        live++;
        const obj_header *hd = (const obj_header *)h->addr[id] - 1;
        if (hd->id != id || (hd->check ^ h->cookie) > GPUGC_SIZE_CLASSES)
            FAIL("object %u: payload header does not name it", id);
        bool immortal = m & META_IMMORTAL;
        if (immortal != (h->rc[id] == IMMORTAL_RC))
            FAIL("object %u: immortal flag disagrees with count %u", id, h->rc[id]);
        if (h->rc[id] == 0 || (!immortal && h->rc[id] > GPUGC_MAX_REFCOUNT))
            FAIL("object %u: count %u out of range", id, h->rc[id]);
        if (meta_type(m) >= h->ntypes)
            FAIL("object %u: type %u unknown", id, meta_type(m));
        uint32_t off = h->slot_off[id], n = h->slot_cnt[id];
        if (!(m & META_TRACKED) != (n == 0 || (m & META_UNTRACKED)))
            FAIL("object %u: tracked flag disagrees with %u slots and the untrack request", id, n);
        if (m & META_TRACKED) {
            tracked++;
            uint32_t g = meta_gen(m);
            if (!(m & meta_listed(g)))
                FAIL("object %u: not in generation list %u", id, g);
            if (immortal && g != PERMANENT_GEN)
                FAIL("object %u: immortal but in generation %u", id, g);
        }
        if (n) {
            if ((uint64_t)off + n > top || !gpugc__slots_claim(owned, off, n))
                FAIL("object %u: slot range [%u, +%u) overlaps another or passes the top %u", id,
                     off, n, top);
            used_slots += n;
        }
        for (uint32_t k = 0; k < n; k++) {
            uint32_t t = h->slots[off + k];
            if (t == NO_ID)
                continue;
            if (t >= h->nids || !(h->meta[t] & META_LIVE))
                FAIL("object %u: slot %u names dead id %u", id, k, t);
            incoming[t]++;
        }
    }
    if (live != h->live)
        FAIL("%zu live ids but %zu objects counted", live, h->live);
    for (size_t k = 0; k < h->saved.n; k++) {
        uint32_t t = h->saved.v[k];
        if (t >= h->nids || !(h->meta[t] & META_LIVE))
            FAIL("garbage list holds dead id %u", t);
        incoming[t]++; /* the list's count */
    }
    size_t listed = 0;
    for (uint32_t g = 0; g <= PERMANENT_GEN; g++) {
        size_t members = 0;
        for (size_t k = 0; k < h->gen[g].ids.n; k++)
            members += gen_listed(h, g, k);
        if (members != h->gen[g].members)
            FAIL("generation %u lists %zu members but counts %zu", g, members, h->gen[g].members);
        listed += members;
    }
    if (listed != tracked)
        FAIL("generation lists hold %zu members for %zu tracked objects", listed, tracked);
    if ((status = lists_check(h, seen)) != GPUGC_OK)
        goto out;
    for (uint32_t id = 0; id < h->nids; id++)
        if (incoming[id] > h->rc[id])
            FAIL("object %u: %u slots (and the garbage list) reference it but its count is %u", id,
                 incoming[id], h->rc[id]);

    size_t dead = 0;
    for (uint32_t id = h->free_ids; id != NO_ID; id = h->slot_off[id]) {
        if (id >= h->nids || (h->meta[id] & META_LIVE) || ++dead > h->nids)
            FAIL("free id list holds %u, which is live or out of range", id);
    }
    for (uint32_t id = h->deferred_head; id != NO_ID; id = h->slot_off[id]) {
        if (id >= h->nids || (h->meta[id] & META_LIVE) || ++dead > h->nids)
            FAIL("deferred id list holds %u, which is live or out of range", id);
    }
    if (dead + live != h->nids)
        FAIL("%zu free and %zu live ids of %u handed out", dead, live, h->nids);

    if ((status = gpugc__slots_check(h, owned, used_slots)) != GPUGC_OK)
        goto out;
    if ((status = gpugc__weak_check(h)) != GPUGC_OK)
        goto out;
    for (size_t w = 0; w < ((size_t)h->cap + 63) / 64; w++)
        if (h->garbage[w])
            FAIL("garbage bitmap not clear outside a collection (word %zu)", w);

    status = gpugc__pool_check(h);
out:
    free(incoming);
    free(owned);
    free(seen);
    return status;
}

int gpugc_validate(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_validate");
    if (refused != GPUGC_OK)
        return refused;
    int r = validate(h);
    gpugc__leave(h);
    return r;
}

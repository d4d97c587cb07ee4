/* object.c - objects and references: the pointer checks, allocation,
 * reference counting with an iterative release cascade, and the slot
 * calls. */
#include "object.h"

#include <string.h>

#include "collect.h"
#include "error.h"
#include "gen.h"
#include "ids.h"
#include "python/trace.h"
#include "slots.h"
#include "weakref.h"

/* Why obj was refused, reported on behalf of fn: NO_ID.  Out of line, so
 * that the checks before it stay a few instructions. */
static GPUGC_COLD uint32_t not_object(const gpugc_heap *h, const void *obj, const char *fn) {
    if (!obj)
        gpugc__set_error(h, GPUGC_EINVAL, "%s: object is NULL", fn);
    else
        gpugc__set_error(h, GPUGC_ENOTOBJ, "%s: %p is not a live object of this heap", fn, obj);
    return NO_ID;
}

/* The id in obj's header if the header is one of this heap's, a block of
 * its pools or a large block of its own (one load and one compare), and
 * `full` adds that the id is live and names this payload (a dead id's
 * address is NULL); else NO_ID, reported on behalf of fn. */
static inline uint32_t header_id(const gpugc_heap *h, const void *obj, bool full, const char *fn) {
    const obj_header *hd;
    uint32_t id;
    if (obj && ((hd = (const obj_header *)obj - 1)->check ^ h->cookie) <= GPUGC_SIZE_CLASSES &&
        (id = hd->id) < h->nids &&
        (!full || h->addr[id] == obj))
        return id;
    return not_object(h, obj, fn);
}

uint32_t gpugc__object_id(const gpugc_heap *h, const void *obj, const char *fn) {
    return header_id(h, obj, true, fn);
}

/* counted_id's refusals, and its one case that passes after a second look
 * (a sweep is destroying garbage, and obj is not of it). */
static GPUGC_COLD uint32_t counted_slow(const gpugc_heap *h, const void *obj, uint32_t id,
                                        bool drop, const char *fn) {
    if (id == NO_ID)
        return NO_ID;
    if (h->rc[id] == 0) {
        if (drop)
            gpugc__set_error(h, GPUGC_EUNDERFLOW, "%s: the count of %p is zero already", fn, obj);
        else
            gpugc__set_error(h, GPUGC_ENOTOBJ, "%s: object %p is dead (its count is zero)", fn,
                             obj);
        return NO_ID;
    }
    if (bit_get(h->garbage, id)) {
        gpugc__set_error(h, GPUGC_EBUSY, "%s: object %p is garbage the sweep is freeing", fn, obj);
        return NO_ID;
    }
    return id;
}

/* The id of an object the caller is taking or dropping a reference to:
 * alive, with a count above zero (an object whose count reached zero is
 * being released: it takes no new reference, ENOTOBJ, and has none left
 * to drop, EUNDERFLOW), and not garbage that the sweep is destroying (a
 * reference taken now would dangle).  Release builds check the header and
 * count only; debug builds also check the payload address. */
static inline uint32_t counted_id(const gpugc_heap *h, const void *obj, bool drop, const char *fn) {
#ifdef GPUGC_DEBUG
    uint32_t id = header_id(h, obj, true, fn);
#else
    uint32_t id = header_id(h, obj, false, fn);
#endif
    if (id != NO_ID && h->rc[id] != 0 && !(h->busy & BUSY_FREEING))
        return id;
    return counted_slow(h, obj, id, drop, fn);
}

/* ---- allocation --------------------------------------------------------- */

void *gpugc_new(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size) {
    return gpugc_new_at(h, t, nrefs, size, NULL, 0);
}

static void *new_at(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size, const char *file,
                    int line) {
    if (t >= h->ntypes) {
        gpugc__set_error(h, GPUGC_ETYPE, "gpugc_new: type %u was never registered", t);
        return NULL;
    }
    if (nrefs > GPUGC_MAX_REFS) {
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_new: %u slots is more than %u", nrefs, GPUGC_MAX_REFS);
        return NULL;
    }
    if (collect_due(h))
        gpugc__maybe_collect(h);

    /* Take every resource first; give back what was taken if one fails.
     * The trace site goes first: a collection's callbacks (above) may have
     * started or stopped tracing. */
    uint32_t site = 0;
    if (h->trace && !(site = gpugc__trace_site_of(h, file, line)))
        return NULL;
    uint32_t id = gpugc__id_alloc(h), off = 0;
    if (id == NO_ID)
        return NULL;
    if (nrefs && !gpugc__slots_alloc(h, nrefs, &off)) {
        gpugc__id_release(h, id);
        return NULL;
    }
    uint32_t cls = gpugc__size_class(size);
    obj_header *hd = gpugc__pool_alloc(h, &h->pool, size);
    if (!hd) {
        gpugc__slots_release(h, off, nrefs);
        gpugc__id_release(h, id);
        return NULL;
    }
    uint32_t meta = META_LIVE | (t << META_TYPE_SHIFT);
    if (nrefs) {
        if (gpugc__gen_enlist(h, id, 0) != GPUGC_OK) {
            gpugc__pool_free(&h->pool, hd, cls);
            gpugc__slots_release(h, off, nrefs);
            gpugc__id_release(h, id);
            return NULL;
        }
        meta |= META_TRACKED; /* in generation 0 */
        h->gen[0].count++;
    }
    hd->id = id;
    hd->check = h->cookie ^ cls;
    h->addr[id] = hd + 1;
    rc_reset(h, id, 1);
    dirty_id(h, id);
    h->meta[id] = (h->meta[id] & META_LISTED_MASK) | meta;
    h->slot_off[id] = off;
    h->slot_cnt[id] = nrefs;
    h->live++;
    if (site)
        gpugc__trace_alloc(h, id, site, size);
    return hd + 1;
}

/* ---- reference counting ------------------------------------------------- */

static void incref(gpugc_heap *h, void *obj) {
    if (h->busy & BUSY_DYING)
        return;
    uint32_t id = counted_id(h, obj, false, "gpugc_incref");
    if (id == NO_ID)
        return;
    if (!count_up(h, id))
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_incref: count of %p is at its limit %u", obj,
                  GPUGC_MAX_REFCOUNT);
}

static void decref(gpugc_heap *h, void *obj) {
    if (h->busy & BUSY_DYING)
        return;
    uint32_t id = counted_id(h, obj, true, "gpugc_decref");
    if (id == NO_ID)
        return;
    gpugc__drop_ref(h, id);
    gpugc__release_pending(h);
}

size_t gpugc_refcount(const gpugc_heap *h, const void *obj) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_refcount: heap is NULL");
        return 0;
    }
    uint32_t id = gpugc__object_id(h, obj, "gpugc_refcount");
    return id == NO_ID ? 0 : h->rc[id];
}

void gpugc__drop_ref(gpugc_heap *h, uint32_t id) {
    uint32_t c = h->rc[id];
    if (c == IMMORTAL_RC)
        return;
    rc_store(h, id, c - 1);
    if (c == 1) {
        h->gc_refs[id] = h->pending;
        h->pending = id;
        PREFETCH(&h->addr[id]); /* release_pending reads it, then its header */
    }
}

typedef void (*finalizer)(gpugc_heap *h, void *obj);

/* id's finalizer if its type has one that never ran on it (PEP 442: once
 * per object, ever), else NULL. */
static finalizer finalizer_due(const gpugc_heap *h, uint32_t id) {
    finalizer finalize = h->types[meta_type(h->meta[id])].desc.finalize;
    return h->meta[id] & META_FINALIZED ? NULL : finalize;
}

static void finalize_run(gpugc_heap *h, uint32_t id, finalizer finalize) {
    dirty_id(h, id);
    h->meta[id] |= META_FINALIZED;
    finalize(h, h->addr[id]);
}

bool gpugc__object_finalize(gpugc_heap *h, uint32_t id) {
    finalizer finalize = finalizer_due(h, id);
    if (finalize)
        finalize_run(h, id, finalize);
    return finalize != NULL;
}

void gpugc__drop_slot_refs(gpugc_heap *h, uint32_t off, uint32_t n, const uint64_t *keep) {
    /* Dropping a count moves no array, so the slots' address is read once
     * (the compiler cannot know that of the snapshot call in rc_store). */
    const uint32_t *s = h->slots + off;
    for (uint32_t k = 0; k < n; k++)
        if (s[k] != NO_ID && !(keep && bit_get(keep, s[k])))
            gpugc__drop_ref(h, s[k]);
}

void gpugc__object_destroy(gpugc_heap *h, uint32_t id) {
    void (*destroy)(gpugc_heap *, void *) = h->types[meta_type(h->meta[id])].desc.destroy;
    if (destroy)
        destroy(h, h->addr[id]);
}

/* gpugc__object_free, inline in the release cascade. */
static inline void object_free(gpugc_heap *h, uint32_t id) {
    /* What the id's entries say is read before id_release clears them. */
    obj_header *hd = (obj_header *)h->addr[id] - 1;
    uint32_t m = h->meta[id], off = h->slot_off[id], n = h->slot_cnt[id];
    if (m & META_TRACKED) {
        /* It leaves its generation; id_release below clears its meta. */
        h->gen[meta_gen(m)].members--;
        if (h->gen[0].count > 0)
            h->gen[0].count--;
    }
    if (h->trace)
        gpugc__trace_free(h, id);
    gpugc__id_release(h, id);
    gpugc__slots_release(h, off, n);
    gpugc__pool_free(&h->pool, hd, hd->check ^ h->cookie);
    h->live--;
}

void gpugc__object_free(gpugc_heap *h, uint32_t id) {
    object_free(h, id);
}

/* The program code a dying object's release runs, in order: its finalizer
 * (once, ever), the callbacks of its weak references, its destructor.
 * False when the finalizer resurrected it (or dropped the count it lent,
 * leaving it pending again): it is not freed now.  Each step looks the
 * type up anew: the one before ran program code, which may register
 * types. */
static GPUGC_NOINLINE bool release_hooks(gpugc_heap *h, uint32_t id) {
    finalizer finalize = finalizer_due(h, id);
    if (finalize) {
        /* As CPython does: the finalizer runs with a borrowed count of
         * one.  If it leaves more, the object was resurrected; if none,
         * it dropped the borrowed count and is pending again. */
        rc_store(h, id, 1);
        finalize_run(h, id, finalize);
        uint32_t left = h->rc[id];
        if (left != 1) {
            if (left)
                rc_store(h, id, left - 1);
            return false;
        }
        rc_store(h, id, 0);
    }
    if (h->weak && h->weak[id])
        gpugc__weak_clear(h, &id, 1);
    gpugc__object_destroy(h, id);
    return true;
}

/* Before: every pending id has count zero and is alive.
 * After:  the pending list is empty; every object whose count reached zero
 *         on the way has been finalized (once, ever), destroyed and freed,
 *         unless its finalizer resurrected it.
 * The list is a stack threaded through the ids, so a chain of any length
 * is released with constant C stack.  An object whose type has no
 * finalizer or destructor and which has no weak reference runs no program
 * code: the loop frees it without leaving. */
void gpugc__release_pending(gpugc_heap *h) {
    if (h->busy & BUSY_RELEASING)
        return;
    h->busy |= BUSY_RELEASING;
    while (h->pending != NO_ID) {
        uint32_t id = h->pending;
        h->pending = h->gc_refs[id];
        /* The next one's header (a cascade's objects are scattered): it
         * arrives while this one is freed. */
        if (h->pending != NO_ID)
            PREFETCH((const obj_header *)h->addr[h->pending] - 1);
        const gpugc_type_desc *d = &h->types[meta_type(h->meta[id])].desc;
        if ((d->finalize || d->destroy || (h->weak && h->weak[id])) && !release_hooks(h, id))
            continue;
        gpugc__drop_slot_refs(h, h->slot_off[id], h->slot_cnt[id], NULL);
        object_free(h, id);
    }
    h->busy &= ~BUSY_RELEASING;
}

/* ---- slots -------------------------------------------------------------- */

/* gpugc_set_ref, and with `give` gpugc_give_ref (fn): the slot takes a new
 * reference to target, or the caller's. */
static int set_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target, bool give,
                   const char *fn) {
    uint32_t id = gpugc__object_id(h, obj, fn);
    if (id == NO_ID)
        return h->err;
    if (slot >= h->slot_cnt[id])
        return gpugc__set_error(h, GPUGC_ERANGE, "%s: slot %u of an object with %u slots", fn, slot,
                                h->slot_cnt[id]);
    uint32_t tid = NO_ID, at = h->slot_off[id] + slot, old = h->slots[at];
    if (target) {
        if ((tid = counted_id(h, target, false, fn)) == NO_ID)
            return h->err;
        /* Given the target it holds, the slot keeps its count and the
         * caller's goes: with one count only, the caller had none. */
        if (give && tid == old && h->rc[tid] == 1)
            return gpugc__set_error(h, GPUGC_EUNDERFLOW,
                                    "%s: the slot holds the target's only count, none is the caller's",
                                    fn);
        if (!give && !count_up(h, tid))
            return gpugc__set_error(h, GPUGC_EOVERFLOW, "%s: count of the target is at its limit", fn);
    }
    dirty_slots(h, at, 1);
    h->slots[at] = tid;
    if (old != NO_ID) {
        gpugc__drop_ref(h, old);
        gpugc__release_pending(h);
    }
    return GPUGC_OK;
}

void *gpugc_get_ref(const gpugc_heap *h, const void *obj, uint32_t slot) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_get_ref: heap is NULL");
        return NULL;
    }
    uint32_t id = gpugc__object_id(h, obj, "gpugc_get_ref");
    if (id == NO_ID)
        return NULL;
    if (slot >= h->slot_cnt[id]) {
        gpugc__set_error(h, GPUGC_ERANGE, "gpugc_get_ref: slot %u of an object with %u slots", slot,
                  h->slot_cnt[id]);
        return NULL;
    }
    uint32_t t = h->slots[h->slot_off[id] + slot];
    return t == NO_ID ? NULL : h->addr[t];
}

uint32_t gpugc_nrefs(const gpugc_heap *h, const void *obj) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_nrefs: heap is NULL");
        return 0;
    }
    uint32_t id = gpugc__object_id(h, obj, "gpugc_nrefs");
    return id == NO_ID ? 0 : h->slot_cnt[id];
}

static int resize_refs(gpugc_heap *h, void *obj, uint32_t nrefs) {
    uint32_t id = gpugc__object_id(h, obj, "gpugc_resize_refs");
    if (id == NO_ID)
        return h->err;
    if (nrefs > GPUGC_MAX_REFS)
        return gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_resize_refs: %u slots is more than %u", nrefs,
                         GPUGC_MAX_REFS);
    uint32_t old = h->slot_cnt[id], off = h->slot_off[id];
    if (nrefs > old) {
        uint32_t noff;
        if (!gpugc__slots_alloc(h, nrefs, &noff))
            return h->err;
        if (old == 0 && !(h->meta[id] & META_UNTRACKED) &&
            gpugc__gen_add(h, id, gen_home(h->meta[id])) != GPUGC_OK) {
            gpugc__slots_release(h, noff, nrefs);
            return h->err;
        }
        memcpy(h->slots + noff, h->slots + off, old * sizeof *h->slots);
        gpugc__slots_release(h, off, old);
        dirty_id(h, id);
        h->slot_off[id] = noff;
        h->slot_cnt[id] = nrefs;
        return GPUGC_OK;
    }
    /* Shrinking: settle the object first, then run the releases, so that
     * callbacks they trigger see it in its final shape. */
    gpugc__drop_slot_refs(h, off + nrefs, old - nrefs, NULL);
    gpugc__slots_release(h, off + nrefs, old - nrefs);
    dirty_id(h, id);
    h->slot_cnt[id] = nrefs;
    if (nrefs == 0 && old > 0) {
        if (h->meta[id] & META_TRACKED)
            gpugc__gen_remove(h, id);
        h->slot_off[id] = 0;
    }
    gpugc__release_pending(h);
    return GPUGC_OK;
}

/* ---- immortal objects (PEP 683) ----------------------------------------- */

static int make_immortal(gpugc_heap *h, void *obj) {
    uint32_t id = counted_id(h, obj, false, "gpugc_make_immortal");
    if (id == NO_ID)
        return h->err;
    if (heap_busy(h))
        return gpugc__set_error(h, GPUGC_EBUSY,
                         "gpugc_make_immortal: called from a callback while the heap is collecting or releasing");
    if (h->meta[id] & META_IMMORTAL)
        return GPUGC_OK;
    /* The permanent generation keeps it out of every collection's set. */
    if ((h->meta[id] & META_TRACKED) && meta_gen(h->meta[id]) != PERMANENT_GEN &&
        gpugc__gen_move(h, id, PERMANENT_GEN) != GPUGC_OK)
        return h->err;
    dirty_id(h, id);
    h->meta[id] |= META_IMMORTAL;
    rc_store(h, id, IMMORTAL_RC);
    return GPUGC_OK;
}

int gpugc_make_immortal(gpugc_heap *h, void *obj) {
    int refused = gpugc__enter(h, "gpugc_make_immortal");
    if (refused != GPUGC_OK)
        return refused;
    int r = make_immortal(h, obj);
    gpugc__leave(h);
    return r;
}

/* ---- the entry points that change the heap -------------------------------- */

/* Each checks its heap argument and the threading contract, then runs. */

void *gpugc_new_at(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size, const char *file,
                   int line) {
    if (gpugc__enter(h, "gpugc_new") != GPUGC_OK)
        return NULL;
    void *p = new_at(h, t, nrefs, size, file, line);
    gpugc__leave(h);
    return p;
}

void gpugc_incref(gpugc_heap *h, void *obj) {
    if (gpugc__enter(h, "gpugc_incref") != GPUGC_OK)
        return;
    incref(h, obj);
    gpugc__leave(h);
}

void gpugc_decref(gpugc_heap *h, void *obj) {
    if (gpugc__enter(h, "gpugc_decref") != GPUGC_OK)
        return;
    decref(h, obj);
    gpugc__leave(h);
}

int gpugc_set_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target) {
    int refused = gpugc__enter(h, "gpugc_set_ref");
    if (refused != GPUGC_OK)
        return refused;
    int st = set_ref(h, obj, slot, target, false, "gpugc_set_ref");
    gpugc__leave(h);
    return st;
}

int gpugc_give_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target) {
    int refused = gpugc__enter(h, "gpugc_give_ref");
    if (refused != GPUGC_OK)
        return refused;
    int st = set_ref(h, obj, slot, target, true, "gpugc_give_ref");
    gpugc__leave(h);
    return st;
}

int gpugc_resize_refs(gpugc_heap *h, void *obj, uint32_t nrefs) {
    int refused = gpugc__enter(h, "gpugc_resize_refs");
    if (refused != GPUGC_OK)
        return refused;
    int st = resize_refs(h, obj, nrefs);
    gpugc__leave(h);
    return st;
}

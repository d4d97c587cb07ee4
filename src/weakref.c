/* weakref.c - weak references: a registry on the host side, outside the
 * id-indexed arrays the mark phase reads.
 *
 * h->weak[id] heads the list of live weak references to id (the array is
 * made with the first weak reference, and grows with the id arrays), and
 * h->weakrefs lists every weak reference of the heap, dead ones included,
 * so that gpugc_heap_free can release them.  An object dies in one of two
 * places, and both clear its weak references before its memory can be
 * reused: gpugc__release_pending (by reference count, after its finalizer, as
 * CPython does) and the sweep (every weak reference to the whole
 * unreachable set is cleared before any callback or finalizer runs, as
 * CPython's handle_weakrefs does; an object a callback or finalizer then
 * resurrects keeps none).
 */
#include "weakref.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ids.h"
#include "object.h"

#define WEAKREF_MAGIC 0x7765616bu /* "weak"; zeroed when freed */

struct gpugc_weakref {
    uint32_t magic;
    uint32_t id;                  /* referent; NO_ID once it died         */
    uint32_t list;                /* the id whose list holds it, or NO_ID */
    gpugc_heap *heap;
    gpugc_weakref_cb cb;
    void *data;
    gpugc_weakref *next, *prev;   /* in h->weak[list]                     */
    gpugc_weakref *all_next, *all_prev; /* in h->weakrefs                 */
};

/* The id hook of h->weak, registered when the first weak reference makes
 * the array. */
static bool weak_grow(gpugc_heap *h, uint32_t old_cap, uint32_t cap) {
    gpugc_weakref **w = gpugc__heap_realloc(h, h->weak, (size_t)cap * sizeof *w, "gpugc (weak lists)");
    if (!w)
        return false;
    memset(w + old_cap, 0, (size_t)(cap - old_cap) * sizeof *w);
    h->weak = w;
    return true;
}

/* Takes w off its referent's list, or off gpugc__weak_clear's ring of callbacks
 * to run (never at its head: the ring's sentinel is). */
static void weak_unlink(gpugc_heap *h, gpugc_weakref *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        h->weak[w->list] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->list = NO_ID;
}

/* w->list of a cleared weak reference whose callback is still to run: no
 * id is this large. */
#define WEAK_CALLING (NO_ID - 1u)
_Static_assert(WEAK_CALLING >= MAX_IDS, "WEAK_CALLING is no id");

/* Before: ids[0..n) are dying together (one whose count is zero, or the
 * unreachable garbage of a sweep); none takes a new weak reference.
 * After:  none has a weak reference left; every one of them read NULL
 *         before the first callback ran, as CPython's handle_weakrefs
 *         does, so no callback can reach any of the dying through a weak
 *         reference; then each callback ran once.  Returns how many ran.
 * The references waiting for their callback sit on a ring around `calls`,
 * with list WEAK_CALLING: a callback that frees one of them (or its own)
 * unlinks it from there, and its callback then never runs.  Callbacks may
 * make new weak references to other objects and drop references; w is not
 * touched after its own callback returns. */
size_t gpugc__weak_clear(gpugc_heap *h, const uint32_t *ids, size_t n) {
    gpugc_weakref calls = {0};
    calls.next = calls.prev = &calls;
    for (size_t k = 0; k < n; k++) {
        gpugc_weakref *w;
        while ((w = h->weak[ids[k]])) {
            weak_unlink(h, w);
            w->id = NO_ID;
            if (w->cb) {
                w->list = WEAK_CALLING;
                w->prev = calls.prev;
                w->next = &calls;
                calls.prev->next = w;
                calls.prev = w;
            }
        }
    }
    size_t ran = 0;
    while (calls.next != &calls) {
        gpugc_weakref *w = calls.next;
        weak_unlink(h, w);
        w->cb(h, w, w->data);
        ran++;
    }
    return ran;
}

void gpugc__weak_release_all(gpugc_heap *h) {
    while (h->weakrefs) {
        gpugc_weakref *w = h->weakrefs;
        h->weakrefs = w->all_next;
        w->magic = 0;
        free(w);
    }
    free(h->weak);
}

/* w after checking that it is a weak reference of h. */
static bool weak_check(gpugc_heap *h, const gpugc_weakref *w, const char *fn) {
    if (!w) {
        gpugc__set_error(h, GPUGC_EINVAL, "%s: weak reference is NULL", fn);
        return false;
    }
    if (w->magic != WEAKREF_MAGIC || w->heap != h) {
        gpugc__set_error(h, GPUGC_EINVAL, "%s: %p is not a weak reference of this heap", fn, (const void *)w);
        return false;
    }
    return true;
}

static gpugc_weakref *weakref_new(gpugc_heap *h, void *obj, gpugc_weakref_cb cb, void *data) {
    uint32_t id = gpugc__object_id(h, obj, "gpugc_weakref_new");
    if (id == NO_ID)
        return NULL;
    /* Dying objects take no new weak reference: one whose count reached
     * zero, or garbage a running sweep is about to free. */
    if (h->rc[id] == 0 || (h->busy & BUSY_DYING) ||
        ((h->busy & BUSY_COLLECTING) && bit_get(h->garbage, id))) {
        gpugc__set_error(h, GPUGC_EBUSY, "gpugc_weakref_new: %p is being freed", obj);
        return NULL;
    }
    if (!h->weak) {
        if (!weak_grow(h, 0, h->cap))
            return NULL;
        gpugc__id_hook(h, weak_grow, true);
    }
    gpugc_weakref *w = gpugc__heap_malloc(h, sizeof *w, "gpugc_weakref_new");
    if (!w)
        return NULL;
    *w = (gpugc_weakref){WEAKREF_MAGIC, id, id, h, cb, data, h->weak[id], NULL, h->weakrefs, NULL};
    if (w->next)
        w->next->prev = w;
    h->weak[id] = w;
    if (h->weakrefs)
        h->weakrefs->all_prev = w;
    h->weakrefs = w;
    return w;
}

gpugc_weakref *gpugc_weakref_new(gpugc_heap *h, void *obj, gpugc_weakref_cb cb, void *data) {
    if (gpugc__enter(h, "gpugc_weakref_new") != GPUGC_OK)
        return NULL;
    gpugc_weakref *r = weakref_new(h, obj, cb, data);
    gpugc__leave(h);
    return r;
}

static void *weakref_get(gpugc_heap *h, gpugc_weakref *w) {
    /* A referent whose count reached zero waits on the pending list to be
     * freed (its weak references are cleared when its turn comes): it is
     * dead already, and a new count would not save it. */
    if (!weak_check(h, w, "gpugc_weakref_get") || w->id == NO_ID || h->rc[w->id] == 0)
        return NULL;
    if (!count_up(h, w->id)) {
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_weakref_get: count of the referent is at its limit");
        return NULL;
    }
    return h->addr[w->id];
}

void *gpugc_weakref_get(gpugc_heap *h, gpugc_weakref *w) {
    if (gpugc__enter(h, "gpugc_weakref_get") != GPUGC_OK)
        return NULL;
    void *r = weakref_get(h, w);
    gpugc__leave(h);
    return r;
}

size_t gpugc_weakref_count(const gpugc_heap *h, const void *obj) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_weakref_count: heap is NULL");
        return 0;
    }
    uint32_t id = gpugc__object_id(h, obj, "gpugc_weakref_count");
    size_t n = 0;
    if (id != NO_ID && h->weak)
        for (const gpugc_weakref *w = h->weak[id]; w; w = w->next)
            n++;
    return n;
}

static void weakref_free(gpugc_heap *h, gpugc_weakref *w) {
    if (!w)
        return;
    if (!weak_check(h, w, "gpugc_weakref_free"))
        return;
    if (w->list != NO_ID)
        weak_unlink(h, w);
    if (w->all_prev)
        w->all_prev->all_next = w->all_next;
    else
        h->weakrefs = w->all_next;
    if (w->all_next)
        w->all_next->all_prev = w->all_prev;
    w->magic = 0;
    free(w);
}

void gpugc_weakref_free(gpugc_heap *h, gpugc_weakref *w) {
    if (gpugc__enter(h, "gpugc_weakref_free") != GPUGC_OK)
        return;
    weakref_free(h, w);
    gpugc__leave(h);
}

int gpugc__weak_check(const gpugc_heap *h) {
    for (uint32_t id = 0; h->weak && id < h->nids; id++)
        for (const gpugc_weakref *w = h->weak[id]; w; w = w->next)
            if (!(h->meta[id] & META_LIVE) || w->list != id || w->id != id ||
                (w->next && w->next->prev != w))
                return gpugc__set_error(h, GPUGC_ECORRUPT,
                                 "gpugc_validate: weak reference list of id %u is broken", id);
    for (const gpugc_weakref *w = h->weakrefs; w; w = w->all_next)
        if (w->magic != WEAKREF_MAGIC || w->heap != h || (w->id != NO_ID && w->list != w->id))
            return gpugc__set_error(h, GPUGC_ECORRUPT, "gpugc_validate: weak reference %p is broken",
                             (const void *)w);
    return GPUGC_OK;
}

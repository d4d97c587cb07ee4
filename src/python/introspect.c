/* introspect.c - looking at the heap from a program, as CPython's gc module
 * allows: walks over objects, referrers and referents, whether an object
 * is tracked (with the calls that change it) or finalized, and the garbage
 * list that GPUGC_DEBUG_SAVEALL fills. */
#include "heap.h"

#include <stdlib.h>

#include "collect.h"
#include "error.h"
#include "gen.h"
#include "object.h"

_Static_assert(GPUGC_PERMANENT_GENERATION == PERMANENT_GEN, "one permanent generation");

/* A walk hands objects to user code.  From a callback of a sweep it would
 * hand out garbage whose memory may be about to go: refused, so that no
 * walk ever gives out an object being freed. */
static int walk_refused(const gpugc_heap *h, const char *fn) {
    if ((h->busy & BUSY_DYING) || (h->busy & (BUSY_COLLECTING | BUSY_CALLBACKS)) == BUSY_COLLECTING)
        return gpugc__set_error(h, GPUGC_EBUSY, "%s: called from a callback during a collection's sweep", fn);
    return GPUGC_OK;
}

/* Appends id to a walk's snapshot, unless its count already reached zero
 * (it is being released and takes no new references). */
static int snapshot_add(gpugc_heap *h, u32vec *v, uint32_t id) {
    if (h->rc[id] == 0)
        return GPUGC_OK;
    if (h->rc[id] == GPUGC_MAX_REFCOUNT) {
        gpugc__vec_free(v);
        return gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc: count of an object to visit is at its limit");
    }
    int st = gpugc__vec_push(h, v, id);
    if (st != GPUGC_OK)
        gpugc__vec_free(v);
    return st;
}

/* Before: v holds live ids with counts above zero (and below the limit).
 * Visits them in order with one extra count each, so that nothing the
 * visitor does frees one before its turn; afterwards drops those counts
 * (releasing what only they kept alive) and frees v. */
static int visit_snapshot(gpugc_heap *h, u32vec *v, gpugc_visit visit, void *data) {
    for (size_t k = 0; k < v->n; k++)
        count_up(h, v->v[k]); /* below the limit: snapshot_add saw to it */
    int rv = GPUGC_OK;
    for (size_t k = 0; k < v->n && rv == GPUGC_OK; k++)
        rv = visit(h, h->addr[v->v[k]], data);
    for (size_t k = 0; k < v->n; k++)
        gpugc__drop_ref(h, v->v[k]);
    gpugc__vec_free(v);
    gpugc__release_pending(h);
    return rv;
}

static int get_objects(gpugc_heap *h, int generation, gpugc_visit visit, void *data) {
    if (!visit)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_objects: visit is NULL");
    if (generation < -1 || generation > (int)PERMANENT_GEN)
        return gpugc__set_error(h, GPUGC_EINVAL,
                         "gpugc_get_objects: generation %d is not -1, 0, 1, 2 or 3", generation);
    if (walk_refused(h, "gpugc_get_objects") != GPUGC_OK)
        return h->err;
    u32vec v = {0};
    uint32_t lo = generation < 0 ? 0 : (uint32_t)generation;
    uint32_t hi = generation < 0 ? PERMANENT_GEN : (uint32_t)generation;
    for (uint32_t g = lo; g <= hi; g++)
        for (size_t k = 0; k < h->gen[g].ids.n; k++)
            if (gen_listed(h, g, k) && snapshot_add(h, &v, h->gen[g].ids.v[k]) != GPUGC_OK)
                return h->err;
    return visit_snapshot(h, &v, visit, data);
}

int gpugc_get_objects(gpugc_heap *h, int generation, gpugc_visit visit, void *data) {
    int refused = gpugc__enter(h, "gpugc_get_objects");
    if (refused != GPUGC_OK)
        return refused;
    int r = gpugc__settle(h, "gpugc_get_objects");
    if (r == GPUGC_OK)
        r = get_objects(h, generation, visit, data);
    gpugc__leave(h);
    return r;
}

static int get_referrers(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data) {
    if (!visit)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_referrers: visit is NULL");
    uint32_t target = gpugc__object_id(h, obj, "gpugc_get_referrers");
    if (target == NO_ID)
        return h->err;
    if (walk_refused(h, "gpugc_get_referrers") != GPUGC_OK)
        return h->err;
    u32vec v = {0};
    for (uint32_t id = 0; id < h->nids; id++) {
        if (!(h->meta[id] & META_LIVE))
            continue;
        const uint32_t *s = h->slots + h->slot_off[id];
        for (uint32_t e = 0, n = h->slot_cnt[id]; e < n; e++) {
            if (s[e] == target) {
                if (snapshot_add(h, &v, id) != GPUGC_OK)
                    return h->err;
                break;
            }
        }
    }
    return visit_snapshot(h, &v, visit, data);
}

int gpugc_get_referrers(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data) {
    int refused = gpugc__enter(h, "gpugc_get_referrers");
    if (refused != GPUGC_OK)
        return refused;
    int r = gpugc__settle(h, "gpugc_get_referrers");
    if (r == GPUGC_OK)
        r = get_referrers(h, obj, visit, data);
    gpugc__leave(h);
    return r;
}

static int get_referents(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data) {
    if (!visit)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_referents: visit is NULL");
    uint32_t id = gpugc__object_id(h, obj, "gpugc_get_referents");
    if (id == NO_ID)
        return h->err;
    if (walk_refused(h, "gpugc_get_referents") != GPUGC_OK)
        return h->err;
    u32vec v = {0};
    const uint32_t *s = h->slots + h->slot_off[id];
    for (uint32_t e = 0, n = h->slot_cnt[id]; e < n; e++)
        if (s[e] != NO_ID && snapshot_add(h, &v, s[e]) != GPUGC_OK)
            return h->err;
    return visit_snapshot(h, &v, visit, data);
}

int gpugc_get_referents(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data) {
    int refused = gpugc__enter(h, "gpugc_get_referents");
    if (refused != GPUGC_OK)
        return refused;
    int r = get_referents(h, obj, visit, data);
    gpugc__leave(h);
    return r;
}

/* ---- tracking and finalization flags ------------------------------------ */

/* meta & bit of obj: 1 or 0, or the error of the pointer check. */
static int meta_flag(const gpugc_heap *h, const void *obj, uint32_t bit, const char *fn) {
    if (!h)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "%s: heap is NULL", fn);
    uint32_t id = gpugc__object_id(h, obj, fn);
    return id == NO_ID ? h->err : (h->meta[id] & bit) != 0;
}

int gpugc_is_tracked(const gpugc_heap *h, const void *obj) {
    return meta_flag(h, obj, META_TRACKED, "gpugc_is_tracked");
}

int gpugc_is_finalized(const gpugc_heap *h, const void *obj) {
    return meta_flag(h, obj, META_FINALIZED, "gpugc_is_finalized");
}

static int untrack(gpugc_heap *h, void *obj) {
    uint32_t id = gpugc__object_id(h, obj, "gpugc_untrack");
    if (id == NO_ID)
        return h->err;
    if (h->meta[id] & META_TRACKED)
        gpugc__gen_remove(h, id);
    dirty_id(h, id);
    h->meta[id] |= META_UNTRACKED;
    return GPUGC_OK;
}

int gpugc_untrack(gpugc_heap *h, void *obj) {
    int refused = gpugc__enter(h, "gpugc_untrack");
    if (refused != GPUGC_OK)
        return refused;
    int r = untrack(h, obj);
    gpugc__leave(h);
    return r;
}

static int track(gpugc_heap *h, void *obj) {
    uint32_t id = gpugc__object_id(h, obj, "gpugc_track");
    if (id == NO_ID)
        return h->err;
    if (!(h->meta[id] & META_UNTRACKED))
        return GPUGC_OK;
    if (h->slot_cnt[id] > 0 && gpugc__gen_add(h, id, gen_home(h->meta[id])) != GPUGC_OK)
        return h->err;
    dirty_id(h, id);
    h->meta[id] &= ~META_UNTRACKED;
    return GPUGC_OK;
}

int gpugc_track(gpugc_heap *h, void *obj) {
    int refused = gpugc__enter(h, "gpugc_track");
    if (refused != GPUGC_OK)
        return refused;
    int r = track(h, obj);
    gpugc__leave(h);
    return r;
}

/* ---- the garbage list (GPUGC_DEBUG_SAVEALL) ----------------------------- */

static int garbage(gpugc_heap *h, gpugc_visit visit, void *data) {
    if (!visit)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_garbage: visit is NULL");
    if (walk_refused(h, "gpugc_garbage") != GPUGC_OK)
        return h->err;
    u32vec v = {0};
    for (size_t k = 0; k < h->saved.n; k++)
        if (snapshot_add(h, &v, h->saved.v[k]) != GPUGC_OK)
            return h->err;
    return visit_snapshot(h, &v, visit, data);
}

int gpugc_garbage(gpugc_heap *h, gpugc_visit visit, void *data) {
    int refused = gpugc__enter(h, "gpugc_garbage");
    if (refused != GPUGC_OK)
        return refused;
    int r = gpugc__settle(h, "gpugc_garbage");
    if (r == GPUGC_OK)
        r = garbage(h, visit, data);
    gpugc__leave(h);
    return r;
}

size_t gpugc_garbage_count(const gpugc_heap *h) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_garbage_count: heap is NULL");
        return 0;
    }
    return h->saved.n;
}

static int garbage_clear(gpugc_heap *h) {
    /* The list keeps its room: a sweep in progress may have reserved it. */
    size_t n = h->saved.n;
    h->saved.n = 0;
    for (size_t k = 0; k < n; k++)
        gpugc__drop_ref(h, h->saved.v[k]);
    gpugc__release_pending(h);
    return GPUGC_OK;
}

int gpugc_garbage_clear(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_garbage_clear");
    if (refused != GPUGC_OK)
        return refused;
    int r = gpugc__settle(h, "gpugc_garbage_clear");
    if (r == GPUGC_OK)
        r = garbage_clear(h);
    gpugc__leave(h);
    return r;
}

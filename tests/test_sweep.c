/* test_sweep.c - program code run by a collection's sweep must never let a
 * live object be freed: the regression suite of the sweep's safety rules.
 *
 * The rules are CPython's (Modules/gcmodule.c, PEP 442), in its order:
 *   1. every weak reference to the whole unreachable set is cleared before
 *      any weak-reference callback runs (handle_weakrefs), so no callback
 *      can reach garbage through a weak reference, its own or another's;
 *   2. then finalizers run, at most once per object ever, and find the
 *      weak references to the garbage cleared too;
 *   3. then reachability among the garbage is computed again: whatever a
 *      callback or finalizer made reachable (a live slot, a C reference)
 *      survives with everything it reaches.  gpugc_collect still counts it
 *      as found; gpugc_last_collection counts it as resurrected;
 *   4. the rest is destroyed and freed; while the destroy callbacks run no
 *      new reference to that garbage can be taken (GPUGC_EBUSY), though
 *      references to live objects can, and an object may clear its slots;
 *   5. introspection (get_objects, get_referrers, get_referents, garbage)
 *      is refused (GPUGC_EBUSY) from anything the sweep runs, and works
 *      from a collection callback, where it sees live objects only;
 *   and outside collections, an object dying by reference count takes no
 *   new reference from its weak-reference callbacks (GPUGC_ENOTOBJ).
 *
 * Each case checks CPython's outcome exactly: what callbacks read, what
 * survives (object counts, exact reference counts, slots), what
 * gpugc_collect returns, gpugc_last_collection's unreachable, collected
 * and resurrected figures, gpugc_validate after every collection, and that
 * the error handler saw exactly the errors a case causes (none elsewhere).
 * Everything is freed at the end of each case (the suites run under ASan,
 * UBSan and valgrind, which catch a use after free).
 *
 * Automatic collection is off (heap_manual).  Every heap runs on whatever
 * backend GPUGC_BACKEND selects, so the same binary checks each backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

#include "error_count.h"

/* ---- the fixture ----------------------------------------------------------
 * Type callbacks carry no user data, so what they record lives here; each
 * case starts with it cleared.  Objects carry a tag (an int payload) that
 * indexes the per-object records. */

#define MAX_TAGS 16
#define KEEP_TAG (MAX_TAGS - 1)

enum { WALKS = 4 }; /* get_objects, get_referrers, get_referents, garbage */
enum { IN_WEAKREF_CB, IN_FINALIZER, IN_DESTROY, IN_STOP, CONTEXTS };
enum { TRY_INCREF, TRY_SET_REF, TRY_DECREF, TRY_WEAK_OTHER, TRY_WEAK_SELF, TRIES };

/* What a walk saw: the objects visited, with their counts when they were
 * among the case's known live objects (0 otherwise). */
typedef struct seen {
    void *obj[MAX_TAGS];
    size_t rc[MAX_TAGS];
    int n;
} seen;

static struct {
    gpugc_heap *h;
    gpugc_type node; /* destroy logged; no finalizer */
    gpugc_type fin;  /* finalize and destroy logged */
    void *keep;      /* live, one slot, held from C: where callbacks resurrect */
    void *target;    /* what keeper_finalize stores in keep's slot */
    void *live[MAX_TAGS]; /* the objects a walk may visit */
    int nlive;

    gpugc_weakref *w[MAX_TAGS]; /* the case's weak references, freed at the end */
    int nw;

    uint64_t seq; /* event order */
    int fin_runs[MAX_TAGS], des_runs[MAX_TAGS], cb_runs[MAX_TAGS];
    uint64_t fin_seq[MAX_TAGS], des_seq[MAX_TAGS], cb_seq[MAX_TAGS];
    void *read[MAX_TAGS][MAX_TAGS]; /* read[t][i]: S.w[i] in callback or finalizer t */

    int runs;       /* runs of the case's one special callback */
    int status;     /* and the status of what it tried */
    int tries[MAX_TAGS][TRIES]; /* grabby_destroy, by tag */
    int walk_status[CONTEXTS][WALKS];
    seen walk_seen[CONTEXTS][WALKS];
    void *got;      /* a reference a callback took, for the case to drop */
    size_t rc_before, rc_after;
} S;

static int tag_of(const void *obj) {
    int t;
    memcpy(&t, obj, sizeof t);
    return t;
}

static void *tag_data(int tag) {
    return (void *)(intptr_t)tag;
}

static void log_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    int t = tag_of(obj);
    S.fin_runs[t]++;
    S.fin_seq[t] = ++S.seq;
}

static void log_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    int t = tag_of(obj);
    S.des_runs[t]++;
    S.des_seq[t] = ++S.seq;
}

/* Reads every weak reference of the case into S.read[tag], dropping the
 * references it got. */
static void read_all_weakrefs(gpugc_heap *h, int tag) {
    for (int i = 0; i < S.nw; i++) {
        void *p = S.w[i] ? gpugc_weakref_get(h, S.w[i]) : NULL;
        S.read[tag][i] = p;
        if (p)
            gpugc_decref(h, p);
    }
}

static gpugc_type type(const char *name, void (*finalize)(gpugc_heap *, void *),
                       void (*destroy)(gpugc_heap *, void *)) {
    gpugc_type_desc d = {name, finalize, destroy};
    gpugc_type t = gpugc_type_register(S.h, &d);
    assert_int_not_equal(t, (gpugc_type)-1);
    return t;
}

static void *obj(gpugc_type t, uint32_t nrefs, int tag) {
    void *p = gpugc_new(S.h, t, nrefs, sizeof tag);
    assert_non_null(p);
    memcpy(p, &tag, sizeof tag);
    return p;
}

static void link_to(void *from, uint32_t slot, void *to) {
    assert_int_equal(gpugc_set_ref(S.h, from, slot, to), GPUGC_OK);
}

/* a <-> b: two one-slot objects of type t, still held from C. */
static void pair(gpugc_type t, int ta, int tb, void **a, void **b) {
    *a = obj(t, 1, ta);
    *b = obj(t, 1, tb);
    link_to(*a, 0, *b);
    link_to(*b, 0, *a);
}

/* An object whose only reference is its own slot, once dropped. */
static void *self_loop(gpugc_type t, int tag) {
    void *p = obj(t, 1, tag);
    link_to(p, 0, p);
    return p;
}

static void drop(void *p) {
    gpugc_decref(S.h, p);
}

static gpugc_weakref *weak(void *referent, gpugc_weakref_cb cb, void *data) {
    assert_true(S.nw < MAX_TAGS);
    gpugc_weakref *w = gpugc_weakref_new(S.h, referent, cb, data);
    assert_non_null(w);
    S.w[S.nw++] = w;
    return w;
}

/* gpugc_collect(h, 2) finds `found` unreachable objects, of which it frees
 * `collected` and `resurrected` survive; the heap is valid afterwards. */
static void collect_expect(int64_t found, uint64_t collected, uint64_t resurrected) {
    assert_int_equal(gpugc_collect(S.h, 2), found);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(S.h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.unreachable, found);
    assert_int_equal(st.collected, collected);
    assert_int_equal(st.resurrected, resurrected);
    assert_int_equal(gpugc_validate(S.h), GPUGC_OK);
}

static int open_fixture(void **state) {
    setup(state); /* error_count.h: every error from here on is counted */
    memset(&S, 0, sizeof S);
    S.h = heap_manual();
    S.node = type("node", NULL, log_destroy);
    S.fin = type("fin", log_finalize, log_destroy);
    S.keep = obj(S.node, 1, KEEP_TAG);
    return 0;
}

static int close_fixture(void **state) {
    for (int i = 0; i < S.nw; i++)
        gpugc_weakref_free(S.h, S.w[i]);
    gpugc_heap_free(S.h);
    return teardown(state);
}

/* ---- weak-reference callbacks -------------------------------------------- */

/* data is the tag of the weak reference: it records its run and what every
 * weak reference of the case reads. */
static void record_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    int tag = (int)(intptr_t)data;
    S.cb_runs[tag]++;
    S.cb_seq[tag] = ++S.seq;
    read_all_weakrefs(h, tag);
}

/* Resurrects data (garbage) by storing it in keep's slot. */
static void store_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    S.runs++;
    S.status = gpugc_set_ref(h, S.keep, 0, data);
}

/* Resurrects data (garbage) by taking a C reference to it. */
static void incref_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    S.runs++;
    gpugc_incref(h, data);
    S.got = data;
}

/* 1. The callback of one member of a cycle reads both members' weak
 * references: both are cleared already, whichever callback runs first. */
static void test_weakref_callback_cannot_get_other_garbage(void **state) {
    (void)state;
    void *a, *b;
    pair(S.node, 0, 1, &a, &b);
    weak(a, record_cb, tag_data(0));
    weak(b, record_cb, tag_data(1));
    drop(a);
    drop(b);
    collect_expect(2, 2, 0);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(S.cb_runs[t], 1);
        assert_null(S.read[t][0]);
        assert_null(S.read[t][1]);
        assert_int_equal(S.des_runs[t], 1);
    }
    assert_int_equal(gpugc_object_count(S.h), 1); /* keep */
    assert_int_equal(errors, 0);
}

/* 2. A callback (no finalizer anywhere) stores b, garbage, in a live slot:
 * b survives, and a with it (b references a).  Once keep lets go they are
 * garbage again, and the next collection frees them and nothing else. */
static void test_weakref_callback_stores_garbage_in_live_slot(void **state) {
    (void)state;
    void *a, *b;
    pair(S.node, 0, 1, &a, &b);
    gpugc_weakref *wa = weak(a, store_cb, b);
    drop(a);
    drop(b);
    collect_expect(2, 0, 2);
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.status, GPUGC_OK);
    assert_int_equal(gpugc_object_count(S.h), 3);
    assert_ptr_equal(gpugc_get_ref(S.h, S.keep, 0), b);
    assert_ptr_equal(gpugc_get_ref(S.h, a, 0), b);
    assert_ptr_equal(gpugc_get_ref(S.h, b, 0), a);
    assert_int_equal(gpugc_refcount(S.h, b), 2); /* keep's slot and a's */
    assert_int_equal(gpugc_refcount(S.h, a), 1); /* b's slot */
    assert_int_equal(S.des_runs[0] + S.des_runs[1], 0);
    assert_null(gpugc_weakref_get(S.h, wa)); /* cleared for good, as in CPython */

    void *x = obj(S.node, 1, 2);
    assert_ptr_not_equal(x, a);
    assert_ptr_not_equal(x, b);
    link_to(S.keep, 0, NULL);
    assert_int_equal(gpugc_object_count(S.h), 4); /* a cycle: not freed by count */
    collect_expect(2, 2, 0);
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.des_runs[0], 1);
    assert_int_equal(S.des_runs[1], 1);
    assert_int_equal(S.des_runs[2], 0);
    assert_int_equal(gpugc_object_count(S.h), 2); /* keep and x */
    assert_int_equal(gpugc_refcount(S.h, x), 1);
    assert_null(gpugc_get_ref(S.h, x, 0));
    drop(x);
    assert_int_equal(errors, 0);
}

/* 2'. The same with a C reference taken by the callback. */
static void test_weakref_callback_resurrects_with_c_reference(void **state) {
    (void)state;
    void *a, *b;
    pair(S.node, 0, 1, &a, &b);
    weak(a, incref_cb, b);
    drop(a);
    drop(b);
    collect_expect(2, 0, 2);
    assert_int_equal(S.runs, 1);
    assert_ptr_equal(S.got, b);
    assert_int_equal(gpugc_object_count(S.h), 3);
    assert_int_equal(gpugc_refcount(S.h, b), 2); /* the callback's and a's slot */
    assert_int_equal(gpugc_refcount(S.h, a), 1);
    assert_ptr_equal(gpugc_get_ref(S.h, a, 0), b);
    assert_ptr_equal(gpugc_get_ref(S.h, b, 0), a);

    drop(S.got);
    assert_int_equal(gpugc_object_count(S.h), 3);
    collect_expect(2, 2, 0);
    assert_int_equal(S.des_runs[0], 1);
    assert_int_equal(S.des_runs[1], 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(errors, 0);
}

/* 2''. Resurrecting through a weak reference to other garbage cannot
 * work: it reads NULL, so nothing is stored and both are freed. */
static void resurrect_through_weak_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    S.runs++;
    void *p = gpugc_weakref_get(h, data);
    S.got = p;
    if (p) {
        S.status = gpugc_set_ref(h, S.keep, 0, p);
        gpugc_decref(h, p);
    }
}

static void test_weakref_callback_cannot_resurrect_through_weakref(void **state) {
    (void)state;
    void *a, *b;
    pair(S.node, 0, 1, &a, &b);
    gpugc_weakref *wb = weak(b, NULL, NULL);
    weak(a, resurrect_through_weak_cb, wb);
    drop(a);
    drop(b);
    collect_expect(2, 2, 0);
    assert_int_equal(S.runs, 1);
    assert_null(S.got);
    assert_null(gpugc_get_ref(S.h, S.keep, 0));
    assert_int_equal(gpugc_refcount(S.h, S.keep), 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(errors, 0);
}

/* ---- resurrection keeps all it reaches ----------------------------------- */

/* a -> b -> c -> a and c -> d, d reached only from the cycle (its one slot
 * is empty, but makes it tracked: it is in the set and found as garbage);
 * c is of type c_type, the others nodes.  Tags 0..3. */
static void chain(gpugc_type c_type, void *o[4]) {
    o[0] = obj(S.node, 1, 0);
    o[1] = obj(S.node, 1, 1);
    o[2] = obj(c_type, 2, 2);
    o[3] = obj(S.node, 1, 3);
    link_to(o[0], 0, o[1]);
    link_to(o[1], 0, o[2]);
    link_to(o[2], 0, o[0]);
    link_to(o[2], 1, o[3]);
}

/* All four alive with exact counts, a or b (`held`) also held by keep;
 * then keep lets go and one collection frees the four. */
static void expect_chain_survives_then_dies(void *o[4], int held) {
    assert_int_equal(gpugc_object_count(S.h), 5);
    assert_ptr_equal(gpugc_get_ref(S.h, S.keep, 0), o[held]);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(gpugc_refcount(S.h, o[k]), 1 + (k == held));
        assert_int_equal(S.des_runs[k], 0);
    }
    assert_ptr_equal(gpugc_get_ref(S.h, o[0], 0), o[1]);
    assert_ptr_equal(gpugc_get_ref(S.h, o[1], 0), o[2]);
    assert_ptr_equal(gpugc_get_ref(S.h, o[2], 0), o[0]);
    assert_ptr_equal(gpugc_get_ref(S.h, o[2], 1), o[3]);

    link_to(S.keep, 0, NULL);
    collect_expect(4, 4, 0);
    for (int k = 0; k < 4; k++)
        assert_int_equal(S.des_runs[k], 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
}

/* 3. A callback on d (the tail) stores a into a live slot: the whole
 * chain, d included, survives. */
static void test_resurrected_chain_survives_with_all_it_reaches(void **state) {
    (void)state;
    void *o[4];
    chain(S.node, o);
    weak(o[3], store_cb, o[0]);
    for (int k = 0; k < 4; k++)
        drop(o[k]);
    collect_expect(4, 0, 4);
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.status, GPUGC_OK);
    expect_chain_survives_then_dies(o, 0);
    assert_int_equal(S.runs, 1);
    assert_int_equal(errors, 0);
}

/* Resurrects S.target by storing it in keep's slot. */
static void keeper_finalize(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    S.status = gpugc_set_ref(h, S.keep, 0, S.target);
}

/* 3'. The same through c's finalizer storing b; it runs once, ever. */
static void test_finalizer_resurrects_chain_with_all_it_reaches(void **state) {
    (void)state;
    void *o[4];
    chain(type("keeper", keeper_finalize, log_destroy), o);
    S.target = o[1];
    for (int k = 0; k < 4; k++)
        drop(o[k]);
    collect_expect(4, 0, 4);
    assert_int_equal(S.fin_runs[2], 1);
    assert_int_equal(S.status, GPUGC_OK);
    assert_int_equal(gpugc_is_finalized(S.h, o[2]), 1);
    expect_chain_survives_then_dies(o, 1);
    assert_int_equal(S.fin_runs[2], 1); /* PEP 442: not again */
    assert_int_equal(errors, 0);
}

/* ---- finalizers ---------------------------------------------------------- */

/* Reads the case's weak references into S.read[tag of obj]. */
static void reading_finalize(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    read_all_weakrefs(h, tag_of(obj));
}

/* 4. A finalizer reads a weak reference (with no callback) to other
 * garbage of its collection: cleared already, NULL. */
static void test_finalizer_gets_weakref_to_garbage(void **state) {
    (void)state;
    void *a = obj(type("reader", reading_finalize, log_destroy), 1, 0);
    void *b = obj(S.node, 1, 1);
    link_to(a, 0, b);
    link_to(b, 0, a);
    weak(b, NULL, NULL);
    drop(a);
    drop(b);
    collect_expect(2, 2, 0);
    assert_int_equal(S.fin_runs[0], 1);
    assert_null(S.read[0][0]);
    assert_int_equal(S.des_runs[0], 1);
    assert_int_equal(S.des_runs[1], 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(errors, 0);
}

/* 5. A callback reads a weak reference to a live object: it gets it, with
 * a new count, which the case drops afterwards. */
static void get_live_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    S.runs++;
    S.rc_before = gpugc_refcount(h, S.target);
    S.got = gpugc_weakref_get(h, data);
    S.rc_after = gpugc_refcount(h, S.target);
}

static void test_weakref_callback_gets_live_object(void **state) {
    (void)state;
    S.target = obj(S.node, 1, 1);
    gpugc_weakref *wl = weak(S.target, NULL, NULL);
    void *g = self_loop(S.node, 0);
    weak(g, get_live_cb, wl);
    drop(g);
    collect_expect(1, 1, 0);
    assert_int_equal(S.runs, 1);
    assert_ptr_equal(S.got, S.target);
    assert_int_equal(S.rc_before, 1);
    assert_int_equal(S.rc_after, 2);
    assert_int_equal(gpugc_refcount(S.h, S.target), 2);
    drop(S.got);
    assert_int_equal(gpugc_refcount(S.h, S.target), 1);
    assert_int_equal(S.des_runs[0], 1);
    assert_int_equal(S.des_runs[1], 0);
    assert_int_equal(gpugc_object_count(S.h), 2);
    drop(S.target);
    assert_int_equal(S.des_runs[1], 1);
    assert_int_equal(errors, 0);
}

/* ---- destroy callbacks --------------------------------------------------- */

/* The status a weak reference to obj would be made with now (one made
 * is freed at once). */
static int weakref_status(gpugc_heap *h, void *obj) {
    gpugc_clear_error(h);
    gpugc_weakref *w = gpugc_weakref_new(h, obj, NULL, NULL);
    gpugc_weakref_free(h, w);
    return w ? GPUGC_OK : gpugc_last_error(h);
}

/* Tries to take references to the other member of its cycle, and to
 * itself, while the sweep destroys them. */
static void grabby_destroy(gpugc_heap *h, void *obj) {
    log_destroy(h, obj);
    int *r = S.tries[tag_of(obj)];
    void *other = gpugc_get_ref(h, obj, 0); /* slots stay readable */
    gpugc_clear_error(h);
    gpugc_incref(h, other);
    r[TRY_INCREF] = gpugc_last_error(h);
    r[TRY_SET_REF] = gpugc_set_ref(h, S.keep, 0, other);
    gpugc_clear_error(h);
    gpugc_decref(h, other);
    r[TRY_DECREF] = gpugc_last_error(h);
    r[TRY_WEAK_OTHER] = weakref_status(h, other);
    r[TRY_WEAK_SELF] = weakref_status(h, obj);
}

/* 6. Every attempt is refused with GPUGC_EBUSY and changes nothing. */
static void test_destroy_cannot_take_references(void **state) {
    (void)state;
    void *a, *b;
    pair(type("grabby", NULL, grabby_destroy), 0, 1, &a, &b);
    drop(a);
    drop(b);
    collect_expect(2, 2, 0);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(S.des_runs[t], 1);
        for (int k = 0; k < TRIES; k++)
            assert_int_equal(S.tries[t][k], GPUGC_EBUSY);
    }
    assert_int_equal(errors, 2 * TRIES);
    assert_int_equal(last_status, GPUGC_EBUSY);
    assert_null(gpugc_get_ref(S.h, S.keep, 0));
    assert_int_equal(gpugc_refcount(S.h, S.keep), 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
}

/* Clears its own slots (slot 1 held the only reference to S.live[0], which
 * dies at once) and stores one live object into another's slot. */
static void tidy_destroy(gpugc_heap *h, void *obj) {
    log_destroy(h, obj);
    int *r = S.tries[tag_of(obj)];
    r[0] = gpugc_set_ref(h, obj, 0, NULL);
    r[1] = gpugc_set_ref(h, obj, 1, NULL);
    r[2] = gpugc_set_ref(h, S.keep, 0, S.target);
}

/* 6'. What a destroy callback may still do. */
static void test_destroy_may_touch_live_objects(void **state) {
    (void)state;
    void *a = obj(type("tidy", NULL, tidy_destroy), 2, 0);
    void *b = obj(S.node, 1, 1);
    void *only_from_a = obj(S.node, 0, 2); /* no slot: untracked, not in the set */
    S.target = obj(S.node, 0, 3);
    link_to(a, 0, b);
    link_to(b, 0, a);
    link_to(a, 1, only_from_a);
    drop(a);
    drop(b);
    drop(only_from_a);
    collect_expect(2, 2, 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(S.tries[0][k], GPUGC_OK);
    assert_int_equal(S.des_runs[0], 1);
    assert_int_equal(S.des_runs[1], 1);
    assert_int_equal(S.des_runs[2], 1); /* freed by its count, in a's destroy */
    assert_int_equal(S.des_runs[3], 0);
    assert_ptr_equal(gpugc_get_ref(S.h, S.keep, 0), S.target);
    assert_int_equal(gpugc_refcount(S.h, S.target), 2);
    assert_int_equal(gpugc_refcount(S.h, S.keep), 1);
    assert_int_equal(gpugc_object_count(S.h), 2);
    link_to(S.keep, 0, NULL);
    drop(S.target);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(gpugc_validate(S.h), GPUGC_OK);
    assert_int_equal(errors, 0);
}

/* ---- introspection ------------------------------------------------------- */

/* Records what it visits, and the count of those known to be alive. */
static int note_visit(gpugc_heap *h, void *obj, void *data) {
    seen *s = data;
    if (s->n < MAX_TAGS) {
        s->obj[s->n] = obj;
        for (int i = 0; i < S.nlive; i++)
            if (S.live[i] == obj)
                s->rc[s->n] = gpugc_refcount(h, obj);
    }
    s->n++;
    return 0;
}

static int seen_count(const seen *s, const void *obj) {
    int c = 0;
    for (int i = 0; i < s->n && i < MAX_TAGS; i++)
        c += s->obj[i] == obj;
    return c;
}

/* Calls each walk once, on keep where it takes an object. */
static void walk_all(gpugc_heap *h, int ctx) {
    int *st = S.walk_status[ctx];
    seen *s = S.walk_seen[ctx];
    st[0] = gpugc_get_objects(h, -1, note_visit, &s[0]);
    st[1] = gpugc_get_referrers(h, S.keep, note_visit, &s[1]);
    st[2] = gpugc_get_referents(h, S.keep, note_visit, &s[2]);
    st[3] = gpugc_garbage(h, note_visit, &s[3]);
}

static void walk_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    (void)data;
    walk_all(h, IN_WEAKREF_CB);
}

static void walk_finalize(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    walk_all(h, IN_FINALIZER);
}

static void walk_destroy(gpugc_heap *h, void *obj) {
    log_destroy(h, obj);
    walk_all(h, IN_DESTROY);
}

static void walk_at_stop(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info,
                         void *data) {
    (void)info;
    (void)data;
    if (phase == GPUGC_PHASE_STOP) {
        S.runs++;
        walk_all(h, IN_STOP);
    }
}

/* 7. Refused from a weak-reference callback of garbage, a finalizer and a
 * destroy run by the sweep, never calling the visitor; allowed from the
 * collection callback at STOP, where only live objects are visited. */
static void test_introspection_refused_mid_sweep(void **state) {
    (void)state;
    void *k2 = obj(S.node, 1, 4); /* keep <-> k2, held from C through keep */
    link_to(S.keep, 0, k2);
    link_to(k2, 0, S.keep);
    drop(k2);
    S.live[S.nlive++] = S.keep;
    S.live[S.nlive++] = k2;

    void *g[3] = {self_loop(S.node, 0), self_loop(type("walk_fin", walk_finalize, NULL), 1),
                  self_loop(type("walk_des", NULL, walk_destroy), 2)};
    weak(g[0], walk_cb, NULL);
    assert_int_equal(gpugc_callback_add(S.h, walk_at_stop, NULL), GPUGC_OK);
    for (int k = 0; k < 3; k++)
        drop(g[k]);
    collect_expect(3, 3, 0);

    for (int ctx = IN_WEAKREF_CB; ctx <= IN_DESTROY; ctx++)
        for (int k = 0; k < WALKS; k++) {
            assert_int_equal(S.walk_status[ctx][k], GPUGC_EBUSY);
            assert_int_equal(S.walk_seen[ctx][k].n, 0);
        }
    assert_int_equal(errors, 3 * WALKS);
    assert_int_equal(last_status, GPUGC_EBUSY);
    assert_int_equal(S.fin_runs[1], 1);
    assert_int_equal(S.des_runs[0] + S.des_runs[2], 2);
    assert_int_equal(gpugc_object_count(S.h), 2);

    assert_int_equal(S.runs, 1);
    for (int k = 0; k < WALKS; k++)
        assert_int_equal(S.walk_status[IN_STOP][k], GPUGC_OK);
    seen *s = S.walk_seen[IN_STOP];
    assert_int_equal(s[0].n, 2); /* the tracked live objects, nothing freed */
    assert_int_equal(seen_count(&s[0], S.keep), 1);
    assert_int_equal(seen_count(&s[0], k2), 1);
    for (int i = 0; i < s[0].n; i++)
        assert_true(s[0].rc[i] >= 1);
    assert_int_equal(s[1].n, 1); /* referrers of keep */
    assert_ptr_equal(s[1].obj[0], k2);
    assert_int_equal(s[2].n, 1); /* referents of keep */
    assert_ptr_equal(s[2].obj[0], k2);
    assert_int_equal(s[3].n, 0); /* the garbage list is empty */
    assert_int_equal(gpugc_callback_remove(S.h, walk_at_stop, NULL), GPUGC_OK);
    link_to(S.keep, 0, NULL);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(errors, 3 * WALKS);
}

/* ---- callbacks among themselves ------------------------------------------ */

/* Frees every other weak reference of the case: their callbacks are
 * pending, and must now never run. */
static void free_others_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    S.runs++;
    S.cb_runs[(int)(intptr_t)data]++;
    for (int i = 0; i < S.nw; i++)
        if (S.w[i] && S.w[i] != w) {
            gpugc_weakref_free(h, S.w[i]);
            S.w[i] = NULL;
        }
}

/* 8. Three garbage objects, each with a callback; the first to run frees
 * the other two weak references, whose callbacks then never run. */
static void test_weakref_freed_by_earlier_callback_never_runs(void **state) {
    (void)state;
    void *o[3] = {obj(S.node, 1, 0), obj(S.node, 1, 1), obj(S.node, 1, 2)};
    for (int k = 0; k < 3; k++) {
        link_to(o[k], 0, o[(k + 1) % 3]);
        weak(o[k], free_others_cb, tag_data(k));
    }
    for (int k = 0; k < 3; k++)
        drop(o[k]);
    collect_expect(3, 3, 0);
    assert_int_equal(S.runs, 1);
    int left = 0;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(S.cb_runs[k], S.w[k] != NULL); /* only the survivor ran */
        left += S.w[k] != NULL;
        assert_int_equal(S.des_runs[k], 1);
    }
    assert_int_equal(left, 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(errors, 0);
}

/* 9. A cycle of three finalized objects, each with a recording callback,
 * plus a weak reference without callback to one of them and one to a live
 * object: at every callback, the first included, each weak reference to
 * the garbage reads NULL and the live one its referent; every callback
 * runs once, all before the first finalizer; every finalizer before the
 * first destroy. */
static void test_callback_count_and_order(void **state) {
    (void)state;
    void *live = obj(S.node, 0, 3);
    void *o[3] = {obj(S.fin, 1, 0), obj(S.fin, 1, 1), obj(S.fin, 1, 2)};
    for (int k = 0; k < 3; k++) {
        link_to(o[k], 0, o[(k + 1) % 3]);
        weak(o[k], record_cb, tag_data(k)); /* S.w[0..2] */
    }
    weak(o[1], NULL, NULL); /* S.w[3] */
    weak(live, NULL, NULL); /* S.w[4] */
    for (int k = 0; k < 3; k++)
        drop(o[k]);
    collect_expect(3, 3, 0);

    uint64_t last_cb = 0, first_fin = UINT64_MAX, last_fin = 0, first_des = UINT64_MAX;
    for (int t = 0; t < 3; t++) {
        assert_int_equal(S.cb_runs[t], 1);
        assert_int_equal(S.fin_runs[t], 1);
        assert_int_equal(S.des_runs[t], 1);
        for (int i = 0; i < 4; i++)
            assert_null(S.read[t][i]);
        assert_ptr_equal(S.read[t][4], live);
        last_cb = S.cb_seq[t] > last_cb ? S.cb_seq[t] : last_cb;
        first_fin = S.fin_seq[t] < first_fin ? S.fin_seq[t] : first_fin;
        last_fin = S.fin_seq[t] > last_fin ? S.fin_seq[t] : last_fin;
        first_des = S.des_seq[t] < first_des ? S.des_seq[t] : first_des;
    }
    assert_true(last_cb < first_fin);
    assert_true(last_fin < first_des);
    assert_int_equal(gpugc_refcount(S.h, live), 1);
    assert_int_equal(gpugc_object_count(S.h), 2);
    drop(live);
    assert_int_equal(errors, 0);
}

/* ---- the garbage list ---------------------------------------------------- */

/* 10. Under GPUGC_DEBUG_SAVEALL a callback resurrects p <-> q, while
 * r <-> s (its callback does nothing) goes to the garbage list; after
 * clearing both, a collection without SAVEALL frees all four. */
static void test_saveall_with_resurrection(void **state) {
    (void)state;
    void *p, *q, *r, *s;
    pair(S.node, 0, 1, &p, &q);
    pair(S.node, 2, 3, &r, &s);
    weak(p, store_cb, p);
    weak(r, record_cb, tag_data(2));
    drop(p);
    drop(q);
    drop(r);
    drop(s);
    assert_int_equal(gpugc_set_debug(S.h, GPUGC_DEBUG_SAVEALL), GPUGC_OK);
    collect_expect(4, 0, 2);
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.cb_runs[2], 1);
    assert_int_equal(gpugc_garbage_count(S.h), 2);
    seen g = {0};
    assert_int_equal(gpugc_garbage(S.h, note_visit, &g), GPUGC_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(seen_count(&g, r), 1);
    assert_int_equal(seen_count(&g, s), 1);
    assert_ptr_equal(gpugc_get_ref(S.h, S.keep, 0), p);
    assert_int_equal(gpugc_refcount(S.h, p), 2); /* q's slot and keep's */
    assert_int_equal(gpugc_refcount(S.h, q), 1);
    assert_int_equal(gpugc_refcount(S.h, r), 2); /* s's slot and the list */
    assert_int_equal(gpugc_refcount(S.h, s), 2);
    for (int t = 0; t < 4; t++)
        assert_int_equal(S.des_runs[t], 0);
    assert_int_equal(gpugc_object_count(S.h), 5);

    assert_int_equal(gpugc_garbage_clear(S.h), GPUGC_OK);
    link_to(S.keep, 0, NULL);
    assert_int_equal(gpugc_set_debug(S.h, 0), GPUGC_OK);
    collect_expect(4, 4, 0);
    for (int t = 0; t < 4; t++)
        assert_int_equal(S.des_runs[t], 1);
    assert_int_equal(gpugc_garbage_count(S.h), 0);
    assert_int_equal(gpugc_object_count(S.h), 1); /* keep */
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.cb_runs[2], 1);
    assert_int_equal(errors, 0);
}

/* ---- death by reference count -------------------------------------------- */

/* data is the dying object: every new reference to it is refused. */
static void grab_dying_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    int *r = S.tries[0];
    S.runs++;
    S.rc_before = gpugc_refcount(h, data);
    gpugc_clear_error(h);
    gpugc_incref(h, data);
    r[TRY_INCREF] = gpugc_last_error(h);
    r[TRY_SET_REF] = gpugc_set_ref(h, S.keep, 0, data);
    r[TRY_WEAK_SELF] = weakref_status(h, data);
}

/* 11. Outside any collection: an object dying by its count takes no
 * reference from its weak-reference callback, and is freed. */
static void test_refcount_death_callback(void **state) {
    (void)state;
    void *o = obj(S.node, 0, 0);
    weak(o, grab_dying_cb, o);
    drop(o);
    assert_int_equal(S.runs, 1);
    assert_int_equal(S.rc_before, 0);
    assert_int_equal(S.tries[0][TRY_INCREF], GPUGC_ENOTOBJ);
    assert_int_equal(S.tries[0][TRY_SET_REF], GPUGC_ENOTOBJ);
    assert_int_equal(S.tries[0][TRY_WEAK_SELF], GPUGC_EBUSY);
    assert_int_equal(S.des_runs[0], 1);
    assert_null(gpugc_get_ref(S.h, S.keep, 0));
    assert_int_equal(gpugc_refcount(S.h, S.keep), 1);
    assert_int_equal(gpugc_object_count(S.h), 1);
    assert_int_equal(gpugc_validate(S.h), GPUGC_OK);
    assert_int_equal(errors, 3);
}

/* 16. An error handler called while a collection marks (its backend
 * failed, or the mark did) may not change the heap, from which the marks
 * are being computed: a collection, a slot store and a decref from it are
 * refused with GPUGC_EBUSY and change nothing; the collection then ends as
 * it would have (on the CPU after a fallback, or failed, freeing nothing). */
static struct {
    int acted, collect_status, set_status, decref_status;
    void *held;
} M;

static void meddling_handler(gpugc_heap *h, int status, const char *message, void *data) {
    count_error(h, status, message, data);
    if (status != GPUGC_EFAULT || M.acted++)
        return;
    M.collect_status = (int)gpugc_collect(h, 0);
    M.set_status = gpugc_set_ref(h, S.keep, 0, NULL);
    gpugc_decref(h, M.held);
    M.decref_status = gpugc_last_error(h);
}

static void test_error_handler_refused_while_marking(void **state) {
    (void)state;
    memset(&M, 0, sizeof M);
    void *a, *b;
    pair(S.node, 0, 1, &a, &b);
    drop(a);
    drop(b);
    M.held = obj(S.node, 1, 2);
    link_to(S.keep, 0, M.held);
    size_t rc = gpugc_refcount(S.h, M.held);
    gpugc_set_error_handler(S.h, meddling_handler, NULL);
    assert_int_equal(gpugc_inject_fault(S.h, GPUGC_FAULT_MARK, 0), GPUGC_OK);
    int64_t found = gpugc_collect(S.h, 2);
    gpugc_set_error_handler(S.h, count_error, NULL);
    assert_int_equal(M.acted, 1);
    assert_int_equal(M.collect_status, GPUGC_EBUSY);
    assert_int_equal(M.set_status, GPUGC_EBUSY);
    assert_int_equal(M.decref_status, GPUGC_EBUSY);
    assert_int_equal(gpugc_refcount(S.h, M.held), rc);
    assert_ptr_equal(gpugc_get_ref(S.h, S.keep, 0), M.held);
    /* The serial reference (cpu, or AUTO's choice for a set this small)
     * has no fallback: the collection fails; any other backend falls back. */
    if (found == GPUGC_EFAULT) {
        assert_int_equal(gpugc_object_count(S.h), 4);
        assert_int_equal(gpugc_collect(S.h, 2), 2);
    } else {
        gpugc_collection_stats st;
        assert_int_equal(found, 2);
        assert_int_equal(gpugc_last_collection(S.h, &st, sizeof st), GPUGC_OK);
        assert_int_equal(st.fallback, 1);
    }
    assert_int_equal(gpugc_object_count(S.h), 2); /* keep and held */
    assert_int_equal(gpugc_validate(S.h), GPUGC_OK);
    drop(M.held);
}

int main(void) {
    int gate = backend_gate();
    if (gate)
        return gate;
#undef CASE
#define CASE(f) cmocka_unit_test_setup_teardown(f, open_fixture, close_fixture)
    const struct CMUnitTest tests[] = {
        CASE(test_weakref_callback_cannot_get_other_garbage),
        CASE(test_weakref_callback_stores_garbage_in_live_slot),
        CASE(test_weakref_callback_resurrects_with_c_reference),
        CASE(test_weakref_callback_cannot_resurrect_through_weakref),
        CASE(test_resurrected_chain_survives_with_all_it_reaches),
        CASE(test_finalizer_resurrects_chain_with_all_it_reaches),
        CASE(test_finalizer_gets_weakref_to_garbage),
        CASE(test_weakref_callback_gets_live_object),
        CASE(test_destroy_cannot_take_references),
        CASE(test_destroy_may_touch_live_objects),
        CASE(test_introspection_refused_mid_sweep),
        CASE(test_weakref_freed_by_earlier_callback_never_runs),
        CASE(test_callback_count_and_order),
        CASE(test_saveall_with_resurrection),
        CASE(test_refcount_death_callback),
        CASE(test_error_handler_refused_while_marking),
    };
#undef CASE
    return cmocka_run_group_tests(tests, NULL, NULL);
}

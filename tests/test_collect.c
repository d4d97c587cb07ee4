/* test_collect.c - focused cases of the cycle collector.
 *
 * Each case builds a small graph by hand and checks what gpugc_collect finds
 * and frees: a two-object cycle (the seed example), cycles held from C and
 * the generation they are promoted to, references from garbage to live,
 * untracked and older objects, self-loops, a 100,000-object ring, garbage
 * reachable only from garbage, finalizers that resurrect (PEP 442: at most
 * one finalize per object, exactly one destroy) or change the graph during
 * the sweep, automatic collection and its thresholds, gpugc_collect from
 * inside callbacks (GPUGC_EBUSY), the figures of gpugc_last_collection, and
 * gpugc_heap_free with live cycles.
 *
 * Every heap runs on whatever backend GPUGC_BACKEND selects, so the same
 * binary checks each backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

/* ---- callbacks: type descriptors carry no user data, so what they record
 * lives in one file-level struct that each test's setup clears. ----------- */

/* Every object of these tests carries a tag (its payload, a uint32_t) that
 * indexes the per-object records below. */
#define MAX_TAGS 100016
#define RING_SIZE 100000

static struct {
    gpugc_heap *h;
    gpugc_type logged;      /* finalize and destroy are recorded           */
    gpugc_type keep_in_slot; /* finalize also stores obj into keeper slot 0 */
    gpugc_type keep_in_c;   /* finalize also increfs obj into `kept`       */
    gpugc_type busy;        /* callbacks also call gpugc_collect           */
    gpugc_type mutator;     /* finalize reshapes obj, allocates objects    */

    uint32_t finalized[MAX_TAGS], destroyed[MAX_TAGS];
    uint64_t fin_seq[MAX_TAGS], des_seq[MAX_TAGS]; /* when, in event order */
    uint64_t seq;
    uint64_t nfinalized, ndestroyed;

    void *keeper;           /* live object that keep_in_slot writes into   */
    void *kept;             /* the reference keep_in_c took                */
    int64_t inner_collect[4]; /* what gpugc_collect returned inside callbacks */
    int ninner;

    int errors, busy_errors; /* reports to the error handler */
} T;

static uint32_t tag_of(const void *obj) {
    uint32_t tag;
    memcpy(&tag, obj, sizeof tag);
    return tag;
}

static void log_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    uint32_t t = tag_of(obj);
    T.finalized[t]++;
    T.fin_seq[t] = ++T.seq;
    T.nfinalized++;
}

static void log_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    uint32_t t = tag_of(obj);
    T.destroyed[t]++;
    T.des_seq[t] = ++T.seq;
    T.ndestroyed++;
}

/* Resurrects obj by storing a new reference to it in a live object. */
static void finalize_keep_in_slot(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    gpugc_set_ref(h, T.keeper, 0, obj);
}

/* Resurrects obj by taking a C reference, as a finalizer that hands its
 * object to a global would. */
static void finalize_keep_in_c(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    gpugc_incref(h, obj);
    T.kept = obj;
}

static void record_inner_collect(gpugc_heap *h) {
    if (T.ninner < 4)
        T.inner_collect[T.ninner++] = gpugc_collect(h, 2);
}

static void finalize_busy(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    record_inner_collect(h);
}

static void destroy_busy(gpugc_heap *h, void *obj) {
    log_destroy(h, obj);
    record_inner_collect(h);
}

/* Allocates during the sweep, enough to make the heap's id-indexed arrays
 * grow under the collector. */
#define MUTATOR_ALLOCS 5000

/* Reshapes its own object under the collector: shrinking to no slots drops
 * its references and untracks it, growing one slot back tracks it again,
 * and that slot takes a new reference to the keeper.  Then it leaves garbage
 * self-loops behind. */
static void finalize_mutator(gpugc_heap *h, void *obj) {
    log_finalize(h, obj);
    gpugc_resize_refs(h, obj, 0);
    gpugc_resize_refs(h, obj, 1);
    gpugc_set_ref(h, obj, 0, T.keeper);
    for (int i = 0; i < MUTATOR_ALLOCS; i++) {
        void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 24);
        gpugc_set_ref(h, p, 0, p);
        gpugc_decref(h, p);
    }
}

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    (void)data;
    T.errors++;
    if (status == GPUGC_EBUSY)
        T.busy_errors++;
}

/* ---- fixture ------------------------------------------------------------ */

static gpugc_type register_type(gpugc_heap *h, const char *name,
                                void (*fin)(gpugc_heap *, void *),
                                void (*des)(gpugc_heap *, void *)) {
    gpugc_type_desc d = {.name = name, .finalize = fin, .destroy = des};
    gpugc_type t = gpugc_type_register(h, &d);
    assert_int_not_equal(t, (gpugc_type)-1);
    return t;
}

/* A heap with the test types.  Automatic collection is off so that only the
 * test's own gpugc_collect calls decide what is found. */
static gpugc_heap *new_heap(const gpugc_config *cfg) {
    gpugc_heap *h = gpugc_heap_new(cfg);
    assert_non_null(h);
    T.logged = register_type(h, "logged", log_finalize, log_destroy);
    T.keep_in_slot = register_type(h, "keep_in_slot", finalize_keep_in_slot, log_destroy);
    T.keep_in_c = register_type(h, "keep_in_c", finalize_keep_in_c, log_destroy);
    T.busy = register_type(h, "busy", finalize_busy, destroy_busy);
    T.mutator = register_type(h, "mutator", finalize_mutator, log_destroy);
    return h;
}

static int setup(void **state) {
    (void)state;
    memset(&T, 0, sizeof T);
    /* Process-wide handler: heaps created afterwards inherit it. */
    gpugc_set_error_handler(NULL, count_error, NULL);
    T.h = new_heap(NULL);
    gpugc_disable(T.h);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    gpugc_heap_free(T.h);
    T.h = NULL;
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

/* An object of type t with nrefs slots whose payload is `tag`.  The caller
 * holds the one reference. */
static void *node(gpugc_type t, uint32_t nrefs, uint32_t tag) {
    void *p = gpugc_new(T.h, t, nrefs, sizeof tag);
    assert_non_null(p);
    memcpy(p, &tag, sizeof tag);
    return p;
}

static void link(void *from, uint32_t slot, void *to) {
    assert_int_equal(gpugc_set_ref(T.h, from, slot, to), GPUGC_OK);
}

/* Objects tagged lo..hi-1 died exactly once each: one finalize, one destroy,
 * and every finalize of the group ran before any destroy of the group. */
static void assert_died_together(uint32_t lo, uint32_t hi) {
    uint64_t last_fin = 0, first_des = UINT64_MAX;
    for (uint32_t t = lo; t < hi; t++) {
        assert_int_equal(T.finalized[t], 1);
        assert_int_equal(T.destroyed[t], 1);
        if (T.fin_seq[t] > last_fin)
            last_fin = T.fin_seq[t];
        if (T.des_seq[t] < first_des)
            first_des = T.des_seq[t];
    }
    assert_true(last_fin < first_des);
}

static void assert_untouched(uint32_t tag) {
    assert_int_equal(T.finalized[tag], 0);
    assert_int_equal(T.destroyed[tag], 0);
}

/* The heap's invariants hold and no error was reported. */
static void assert_clean(void) {
    assert_int_equal(gpugc_validate(T.h), GPUGC_OK);
    assert_int_equal(T.errors, 0);
}

static gpugc_collection_stats last_stats(void) {
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(T.h, &st, sizeof st), GPUGC_OK);
    return st;
}

/* ---- cases -------------------------------------------------------------- */

/* The seed example: a <-> b, both C references dropped. */
static void test_two_cycle(void **state) {
    (void)state;
    void *a = node(T.logged, 1, 0), *b = node(T.logged, 1, 1);
    link(a, 0, b);
    link(b, 0, a);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);
    /* Reference counting alone cannot free a cycle. */
    assert_int_equal(gpugc_object_count(T.h), 2);
    assert_int_equal(T.nfinalized + T.ndestroyed, 0);

    assert_int_equal(gpugc_collect(T.h, 2), 2);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(0, 2);
    assert_int_equal(T.seq, 4); /* F F D D and nothing else */

    gpugc_collection_stats st = last_stats();
    assert_int_equal(st.generation, 2);
    assert_int_equal(st.unreachable, 2);
    assert_int_equal(st.collected, 2);
    assert_int_equal(st.resurrected, 0);
    assert_clean();
}

/* A cycle held from C survives every collection of its generation and is
 * promoted by each one; dropped, it is found only by a collection that
 * reaches its generation.  Run once for each older generation. */
static void test_held_cycle_survives_and_is_promoted(void **state) {
    (void)state;
    for (int g = 1; g <= 2; g++) {
        uint32_t base = (uint32_t)(2 * g);
        void *a = node(T.logged, 1, base), *b = node(T.logged, 1, base + 1);
        link(a, 0, b);
        link(b, 0, a);
        gpugc_decref(T.h, b); /* a stays held from C */

        /* Collections of generations 0..g-1 promote the pair to g. */
        for (int k = 0; k < g; k++) {
            assert_int_equal(gpugc_collect(T.h, k), 0);
            assert_int_equal(gpugc_refcount(T.h, a), 2);
            assert_int_equal(gpugc_refcount(T.h, b), 1);
            assert_ptr_equal(gpugc_get_ref(T.h, a, 0), b);
            assert_ptr_equal(gpugc_get_ref(T.h, b, 0), a);
        }
        gpugc_decref(T.h, a);

        /* Younger collections do not look at generation g. */
        for (int k = 0; k < g; k++) {
            assert_int_equal(gpugc_collect(T.h, k), 0);
            assert_int_equal(gpugc_object_count(T.h), 2);
            assert_untouched(base);
            assert_untouched(base + 1);
        }
        assert_int_equal(gpugc_collect(T.h, g), 2);
        assert_int_equal(gpugc_object_count(T.h), 0);
        assert_died_together(base, base + 2);
    }
    assert_clean();
}

/* Garbage gives up its references: a live object's count drops, and an
 * untracked leaf referenced only from the cycle dies by reference count. */
static void test_garbage_releases_references_to_live_objects(void **state) {
    (void)state;
    void *live = node(T.logged, 1, 0);
    void *leaf = node(T.logged, 0, 1); /* no slots: not tracked */
    void *a = node(T.logged, 2, 2), *b = node(T.logged, 2, 3);
    link(a, 0, b);
    link(b, 0, a);
    link(a, 1, live);
    link(b, 1, leaf);
    gpugc_decref(T.h, leaf);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);
    assert_int_equal(gpugc_refcount(T.h, live), 2);
    assert_int_equal(gpugc_object_count(T.h), 4);

    /* The leaf is not in the collected set, so only a and b are found. */
    assert_int_equal(gpugc_collect(T.h, 0), 2);
    assert_died_together(2, 4);
    assert_int_equal(T.finalized[1], 1);
    assert_int_equal(T.destroyed[1], 1);
    assert_untouched(0);
    assert_int_equal(gpugc_refcount(T.h, live), 1);
    assert_int_equal(gpugc_object_count(T.h), 1);
    assert_clean();

    gpugc_decref(T.h, live);
    assert_int_equal(gpugc_object_count(T.h), 0);
}

/* A young cycle holds the only reference to an object of generation 2, which
 * holds a young one.  collect(0) finds only the cycle; releasing its
 * references frees the old object and, through it, the young one. */
static void test_garbage_releases_older_generation(void **state) {
    (void)state;
    void *old = node(T.logged, 1, 0);
    assert_int_equal(gpugc_collect(T.h, 1), 0); /* old is now generation 2 */

    void *young = node(T.logged, 1, 1);
    link(old, 0, young);
    gpugc_decref(T.h, young);
    void *a = node(T.logged, 2, 2), *b = node(T.logged, 1, 3);
    link(a, 0, b);
    link(b, 0, a);
    link(a, 1, old);
    gpugc_decref(T.h, old);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);

    /* young is referenced from old, outside the set, so it is reachable. */
    assert_int_equal(gpugc_collect(T.h, 0), 2);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(2, 4);
    for (uint32_t t = 0; t < 2; t++) {
        assert_int_equal(T.finalized[t], 1);
        assert_int_equal(T.destroyed[t], 1);
    }
    assert_clean();
}

static void test_self_loop(void **state) {
    (void)state;
    void *a = node(T.logged, 1, 0);
    link(a, 0, a);
    assert_int_equal(gpugc_refcount(T.h, a), 2);
    gpugc_decref(T.h, a);
    assert_int_equal(gpugc_object_count(T.h), 1);

    assert_int_equal(gpugc_collect(T.h, 0), 1);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(0, 1);
    assert_clean();
}

/* A cycle a <-> b holds a chain c -> d -> e that nothing else references.
 * Everything in the set that only garbage reaches is garbage too. */
static void test_garbage_reachable_from_garbage(void **state) {
    (void)state;
    void *a = node(T.logged, 2, 0), *b = node(T.logged, 1, 1);
    void *c = node(T.logged, 1, 2), *d = node(T.logged, 2, 3);
    void *e = node(T.logged, 1, 4);
    link(a, 0, b);
    link(b, 0, a);
    link(a, 1, c);
    link(c, 0, d);
    link(d, 0, e);
    link(d, 1, e); /* two slots to one target: shared, counted twice */
    link(e, 0, e);
    void *objs[] = {a, b, c, d, e};
    for (size_t i = 0; i < 5; i++)
        gpugc_decref(T.h, objs[i]);
    assert_int_equal(gpugc_object_count(T.h), 5);

    assert_int_equal(gpugc_collect(T.h, 0), 5);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(0, 5);
    assert_clean();
}

/* 100,000 objects in one ring: found as one piece, each destroyed once. */
static void test_big_ring(void **state) {
    (void)state;
    void *first = node(T.logged, 1, 0), *prev = first;
    for (uint32_t t = 1; t < RING_SIZE; t++) {
        void *p = node(T.logged, 1, t);
        link(prev, 0, p);
        gpugc_decref(T.h, p);
        prev = p;
    }
    link(prev, 0, first);
    gpugc_decref(T.h, first);
    assert_int_equal(gpugc_object_count(T.h), RING_SIZE);

    assert_int_equal(gpugc_collect(T.h, 2), RING_SIZE);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(0, RING_SIZE);
    gpugc_collection_stats st = last_stats();
    assert_int_equal(st.objects, RING_SIZE);
    assert_int_equal(st.edges, RING_SIZE);
    assert_int_equal(st.collected, RING_SIZE);
    assert_clean();
}

/* a's finalizer stores a into a live keeper.  a, and b and the leaf that a
 * reaches, survive; once the keeper lets go, the cycle is garbage again and
 * is destroyed without a second finalize. */
static void test_resurrect_into_live_object(void **state) {
    (void)state;
    T.keeper = node(T.logged, 1, 9);
    void *a = node(T.keep_in_slot, 2, 0), *b = node(T.logged, 1, 1);
    void *leaf = node(T.logged, 0, 2);
    link(a, 0, b);
    link(b, 0, a);
    link(a, 1, leaf);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);
    gpugc_decref(T.h, leaf);

    /* Both are unreachable and both finalized; then a is reachable again. */
    assert_int_equal(gpugc_collect(T.h, 2), 2);
    assert_int_equal(T.finalized[0], 1);
    assert_int_equal(T.finalized[1], 1);
    assert_int_equal(T.ndestroyed, 0);
    assert_int_equal(gpugc_object_count(T.h), 4);
    assert_ptr_equal(gpugc_get_ref(T.h, T.keeper, 0), a);
    assert_ptr_equal(gpugc_get_ref(T.h, a, 0), b);
    assert_ptr_equal(gpugc_get_ref(T.h, b, 0), a);
    assert_ptr_equal(gpugc_get_ref(T.h, a, 1), leaf);
    assert_int_equal(gpugc_refcount(T.h, a), 2);
    assert_int_equal(gpugc_refcount(T.h, b), 1);
    assert_int_equal(gpugc_refcount(T.h, leaf), 1);
    gpugc_collection_stats st = last_stats();
    assert_int_equal(st.unreachable, 2);
    assert_int_equal(st.collected, 0);
    assert_true(st.resurrected >= 1);
    assert_clean();

    /* Held by the keeper, the cycle is not garbage. */
    assert_int_equal(gpugc_collect(T.h, 2), 0);
    assert_int_equal(gpugc_object_count(T.h), 4);

    link(T.keeper, 0, NULL);
    assert_int_equal(gpugc_collect(T.h, 2), 2);
    assert_int_equal(gpugc_object_count(T.h), 1);
    for (uint32_t t = 0; t < 3; t++) { /* finalized once, destroyed once */
        assert_int_equal(T.finalized[t], 1);
        assert_int_equal(T.destroyed[t], 1);
    }
    assert_untouched(9);
    assert_clean();
}

/* a's finalizer takes a C reference to a.  Later both die by reference
 * count; neither finalizer runs a second time. */
static void test_resurrect_by_incref(void **state) {
    (void)state;
    void *a = node(T.keep_in_c, 1, 0), *b = node(T.logged, 1, 1);
    link(a, 0, b);
    link(b, 0, a);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);

    assert_int_equal(gpugc_collect(T.h, 2), 2);
    assert_ptr_equal(T.kept, a);
    assert_int_equal(gpugc_object_count(T.h), 2);
    assert_int_equal(gpugc_refcount(T.h, a), 2);
    assert_int_equal(T.nfinalized, 2);
    assert_int_equal(T.ndestroyed, 0);

    link(a, 0, NULL); /* b's last reference: b dies by reference count */
    assert_int_equal(T.finalized[1], 1);
    assert_int_equal(T.destroyed[1], 1);
    assert_int_equal(gpugc_object_count(T.h), 1);
    gpugc_decref(T.h, T.kept);
    assert_int_equal(T.finalized[0], 1);
    assert_int_equal(T.destroyed[0], 1);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_clean();
}

/* A finalizer may change the graph under the collector: a's drops its
 * references (the untracked leaf dies by count, b loses its only outside
 * reference), takes a new one to a live object, and allocates many new
 * objects.  The collection completes, the live object gets its count back,
 * and the new objects are ordinary young garbage. */
static void test_finalizer_mutates_the_graph(void **state) {
    (void)state;
    void *live = node(T.logged, 0, 9);
    T.keeper = live;
    void *a = node(T.mutator, 2, 0), *b = node(T.logged, 2, 1);
    void *leaf = node(T.logged, 0, 2);
    link(a, 0, b);
    link(b, 0, a);
    link(a, 1, leaf);
    link(b, 1, live);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);
    gpugc_decref(T.h, leaf);

    assert_int_equal(gpugc_collect(T.h, 0), 2);
    assert_died_together(0, 2);
    assert_int_equal(T.finalized[2], 1);
    assert_int_equal(T.destroyed[2], 1);
    assert_int_equal(gpugc_refcount(T.h, live), 1);
    assert_int_equal(gpugc_object_count(T.h), 1 + MUTATOR_ALLOCS);
    assert_clean();

    assert_int_equal(gpugc_collect(T.h, 0), MUTATOR_ALLOCS);
    assert_int_equal(gpugc_object_count(T.h), 1);
    assert_untouched(9);
    assert_clean();
}

/* Creates n two-object garbage cycles and returns the most objects the heap
 * held at once. */
static size_t make_garbage_cycles(gpugc_heap *h, int n) {
    size_t peak = 0;
    for (int i = 0; i < n; i++) {
        garbage_cycle(h, GPUGC_TYPE_OBJECT);
        size_t count = gpugc_object_count(h);
        if (count > peak)
            peak = count;
    }
    return peak;
}

/* With small thresholds the automatic collector keeps a stream of garbage
 * cycles bounded; disabled, or with threshold[0] = 0, the heap grows. */
static void test_automatic_collection(void **state) {
    (void)state;
    enum { CYCLES = 5000, FEW = 500 };
    /* Cycles half-built when a collection runs survive it and are promoted,
     * so the older generations must be collected often too: with these
     * thresholds a full collection comes every (10+1)(2+1)(2+1) = 99
     * allocations or so, and the heap should never hold many more. */
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    assert_int_equal(cfg.threshold[0], GPUGC_DEFAULT_THRESHOLD0);
    assert_int_equal(cfg.threshold[1], 10);
    assert_int_equal(cfg.threshold[2], 10);
    cfg.threshold[0] = 10;
    cfg.threshold[1] = 2;
    cfg.threshold[2] = 2;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_true(gpugc_isenabled(h));
    assert_true(make_garbage_cycles(h, CYCLES) < 200);
    gpugc_collection_stats st; /* automatic collections did run */
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);

    gpugc_disable(h);
    assert_false(gpugc_isenabled(h));
    size_t before = gpugc_object_count(h);
    assert_int_equal(make_garbage_cycles(h, FEW), before + 2 * FEW);
    gpugc_enable(h);
    assert_true(gpugc_isenabled(h));
    assert_true(gpugc_collect(h, 2) >= 2 * FEW);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);

    cfg.threshold[0] = 0;
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(make_garbage_cycles(h, FEW), 2 * FEW);
    assert_int_equal(gpugc_collect(h, 2), 2 * FEW);
    assert_int_equal(gpugc_object_count(h), 0);
    gpugc_heap_free(h);
    assert_clean();
}

/* gpugc_collect from a finalizer or a destroy run by a collection is
 * refused with GPUGC_EBUSY; the outer collection still completes. */
static void test_collect_inside_callbacks_is_busy(void **state) {
    (void)state;
    void *a = node(T.busy, 1, 0), *b = node(T.busy, 1, 1);
    link(a, 0, b);
    link(b, 0, a);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);

    assert_int_equal(gpugc_collect(T.h, 2), 2);
    assert_int_equal(gpugc_object_count(T.h), 0);
    assert_died_together(0, 2);
    assert_int_equal(T.ninner, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(T.inner_collect[i], GPUGC_EBUSY);
    assert_int_equal(T.busy_errors, 4);
    assert_int_equal(T.errors, 4);
    assert_int_equal(gpugc_validate(T.h), GPUGC_OK);
    gpugc_collection_stats st = last_stats();
    assert_int_equal(st.unreachable, 2);
    assert_int_equal(st.collected, 2);
}

/* The figures of one collection: the set's objects and slots, what was
 * found and freed.  Every slot here is filled, so edges = slots. */
static void test_last_collection_stats(void **state) {
    (void)state;
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(T.h, &st, sizeof st), GPUGC_EINVAL);
    assert_int_equal(T.errors <= 1, 1); /* the refusal may be reported */
    T.errors = 0;

    /* x -> y, x -> z, y -> z, z -> x, held by x: promoted to generation 1. */
    void *x = node(T.logged, 2, 0), *y = node(T.logged, 1, 1);
    void *z = node(T.logged, 1, 2);
    link(x, 0, y);
    link(x, 1, z);
    link(y, 0, z);
    link(z, 0, x);
    gpugc_decref(T.h, y);
    gpugc_decref(T.h, z);
    assert_int_equal(gpugc_collect(T.h, 0), 0);
    st = last_stats();
    assert_int_equal(st.generation, 0);
    assert_int_equal(st.objects, 3);
    assert_int_equal(st.edges, 4);
    assert_int_equal(st.unreachable, 0);
    assert_int_equal(st.collected, 0);

    /* Young garbage a <-> b, with a 3-slot a: only generation 0 is set. */
    void *a = node(T.logged, 3, 3), *b = node(T.logged, 1, 4);
    link(a, 0, b);
    link(a, 1, b);
    link(a, 2, a);
    link(b, 0, a);
    gpugc_decref(T.h, a);
    gpugc_decref(T.h, b);
    assert_int_equal(gpugc_collect(T.h, 0), 2);
    st = last_stats();
    assert_int_equal(st.generation, 0);
    assert_int_equal(st.objects, 2);
    assert_int_equal(st.edges, 4);
    assert_int_equal(st.unreachable, 2);
    assert_int_equal(st.collected, 2);
    assert_int_equal(st.resurrected, 0);
    assert_int_equal(st.fallback, 0);
    assert_true(st.backend != GPUGC_BACKEND_AUTO); /* the one that ran */

    assert_int_equal(gpugc_collect(T.h, 2), 0);
    st = last_stats();
    assert_int_equal(st.generation, 2);
    assert_int_equal(st.objects, 3);
    assert_int_equal(st.edges, 4);

    /* A caller built against an older, shorter struct gets only its part. */
    memset(&st, 0xab, sizeof st);
    size_t old_size = offsetof(gpugc_collection_stats, edges);
    assert_int_equal(gpugc_last_collection(T.h, &st, old_size), GPUGC_OK);
    assert_int_equal(st.objects, 3);
    uint64_t untouched;
    memset(&untouched, 0xab, sizeof untouched);
    assert_true(st.edges == untouched);
    gpugc_decref(T.h, x);
    assert_clean();
}

/* gpugc_heap_free destroys every object still alive, garbage cycles and held
 * ones alike, once each, and finalizes none. */
static void test_heap_free_destroys_live_cycles(void **state) {
    (void)state;
    void *held = node(T.logged, 1, 0), *peer = node(T.logged, 1, 1);
    link(held, 0, peer);
    link(peer, 0, held);
    gpugc_decref(T.h, peer);
    void *g1 = node(T.logged, 2, 2), *g2 = node(T.logged, 1, 3);
    void *leaf = node(T.logged, 0, 4);
    link(g1, 0, g2);
    link(g2, 0, g1);
    link(g1, 1, leaf);
    gpugc_decref(T.h, g1);
    gpugc_decref(T.h, g2);
    gpugc_decref(T.h, leaf);
    void *self = node(T.logged, 1, 5);
    link(self, 0, self);
    assert_int_equal(gpugc_collect(T.h, 0), 2); /* g1, g2 die here ... */
    void *again = node(T.logged, 1, 6);        /* ... new garbage appears */
    link(again, 0, again);
    gpugc_decref(T.h, again);
    assert_int_equal(T.ndestroyed, 3);

    uint64_t fin_before = T.nfinalized;
    gpugc_heap_free(T.h);
    T.h = NULL;
    assert_int_equal(T.nfinalized, fin_before);
    for (uint32_t t = 0; t < 7; t++)
        assert_int_equal(T.destroyed[t], 1);
    assert_int_equal(T.finalized[0] + T.finalized[1] + T.finalized[5] +
                         T.finalized[6], 0);
    assert_int_equal(T.errors, 0);
}

/* Generations outside 0..2 are refused and change nothing; an empty heap
 * has nothing to find. */
static void test_collect_arguments(void **state) {
    (void)state;
    assert_int_equal(gpugc_collect(T.h, 0), 0);
    assert_int_equal(gpugc_collect(T.h, 2), 0);
    void *a = node(T.logged, 1, 0);
    link(a, 0, a);
    gpugc_decref(T.h, a);
    assert_true(gpugc_collect(T.h, 3) < 0);
    assert_true(gpugc_collect(T.h, -1) < 0);
    assert_true(gpugc_collect(NULL, 0) < 0);
    assert_int_equal(T.errors, 3);
    T.errors = 0;
    assert_int_equal(gpugc_object_count(T.h), 1);
    assert_untouched(0);
    assert_int_equal(gpugc_collect(T.h, 2), 1);
    assert_clean();
}

int main(void) {
    int gate = backend_gate();
    if (gate)
        return gate;
    const struct CMUnitTest tests[] = {
#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        CASE(test_two_cycle),
        CASE(test_held_cycle_survives_and_is_promoted),
        CASE(test_garbage_releases_references_to_live_objects),
        CASE(test_garbage_releases_older_generation),
        CASE(test_self_loop),
        CASE(test_garbage_reachable_from_garbage),
        CASE(test_big_ring),
        CASE(test_resurrect_into_live_object),
        CASE(test_resurrect_by_incref),
        CASE(test_finalizer_mutates_the_graph),
        CASE(test_automatic_collection),
        CASE(test_collect_inside_callbacks_is_busy),
        CASE(test_last_collection_stats),
        CASE(test_heap_free_destroys_live_cycles),
        CASE(test_collect_arguments),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

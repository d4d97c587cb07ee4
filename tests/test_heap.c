/* test_heap.c - the data model as seen through the API.
 *
 * Object ids and slot ranges are reused (memory figures stay flat over
 * rounds of allocation and release), resize_refs grows and shrinks slot
 * ranges (releasing dropped targets, tracking and untracking), get_ref and
 * nrefs, type registration, object counts, several independent heaps (also
 * on concurrent threads), and gpugc_heap_free running destroy (never
 * finalize) for everything still alive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include <pthread.h>
#include <string.h>

#include "gpugc.h"

/* ---- callbacks and helpers ------------------------------------------------ */

static size_t destroyed, finalized;
static gpugc_heap *last_destroy_heap;

static void count_destroy(gpugc_heap *h, void *obj) {
    (void)obj;
    last_destroy_heap = h;
    destroyed++;
}

static void count_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    finalized++;
}

static const gpugc_type_desc counted = {
    .name = "Counted", .finalize = count_finalize, .destroy = count_destroy};

static gpugc_memory_stats mem(const gpugc_heap *h) {
    gpugc_memory_stats m;
    assert_int_equal(gpugc_memory_stats_get(h, &m, sizeof m), GPUGC_OK);
    return m;
}

static void *new_obj(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size) {
    void *o = gpugc_new(h, t, nrefs, size);
    assert_non_null(o);
    return o;
}

static int setup(void **state) {
    destroyed = finalized = 0;
    last_destroy_heap = NULL;
    *state = heap_manual();
    return 0;
}

static int teardown(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
    return 0;
}

/* ---- reuse of ids and slot ranges ------------------------------------------- */

#define BATCH 1000
#define BATCH_SLOTS 4

static void alloc_batch(gpugc_heap *h, void **objs) {
    for (int i = 0; i < BATCH; i++)
        objs[i] = new_obj(h, GPUGC_TYPE_OBJECT, BATCH_SLOTS, 24);
}

static void free_batch(gpugc_heap *h, void **objs) {
    for (int i = 0; i < BATCH; i++)
        gpugc_decref(h, objs[i]);
}

static void test_ids_and_slots_are_reused(void **state) {
    gpugc_heap *h = *state;
    static void *objs[BATCH];

    gpugc_memory_stats m0 = mem(h);
    assert_int_equal(m0.slots_used, 0);

    alloc_batch(h, objs);
    /* A keeper allocated last, so the batch's ranges are not at the end. */
    void *keeper = new_obj(h, GPUGC_TYPE_OBJECT, BATCH_SLOTS, 24);
    gpugc_memory_stats m1 = mem(h);
    assert_int_equal(m1.slots_used, (BATCH + 1) * BATCH_SLOTS);
    assert_int_equal(gpugc_object_count(h), BATCH + 1);

    free_batch(h, objs);
    gpugc_memory_stats m2 = mem(h);
    assert_int_equal(m2.slots_used, BATCH_SLOTS);
    assert_true(m2.slots_free >= BATCH * BATCH_SLOTS);
    assert_int_equal(gpugc_object_count(h), 1);
    const uint64_t total = m2.slots_used + m2.slots_free;
    assert_true(total >= m1.slots_used);

    /* Later rounds reuse what the first one left: neither the slot array nor
     * the id-indexed arrays grow (metadata compared at equal object counts). */
    for (int round = 0; round < 10; round++) {
        alloc_batch(h, objs);
        gpugc_memory_stats m = mem(h);
        assert_int_equal(m.slots_used, (BATCH + 1) * BATCH_SLOTS);
        assert_int_equal(m.slots_used + m.slots_free, total);
        assert_true(m.slots_free < m2.slots_free);
        assert_int_equal(m.metadata_bytes, m1.metadata_bytes);
        free_batch(h, objs);
        m = mem(h);
        assert_int_equal(m.slots_used, BATCH_SLOTS);
        assert_int_equal(m.slots_used + m.slots_free, total);
        assert_int_equal(m.metadata_bytes, m2.metadata_bytes);
    }
    gpugc_decref(h, keeper);
    assert_int_equal(mem(h).slots_used, 0);
    assert_int_equal(gpugc_object_count(h), 0);
}

/* Mixed slot counts freed in interleaved order still get reused. */
static void test_mixed_slot_ranges_are_reused(void **state) {
    gpugc_heap *h = *state;
    static void *objs[BATCH];
    uint64_t total = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < BATCH; i++)
            objs[i] = new_obj(h, GPUGC_TYPE_OBJECT, (uint32_t)(1 + i % 7), 16);
        for (int i = 0; i < BATCH; i += 2)
            gpugc_decref(h, objs[i]);
        for (int i = 1; i < BATCH; i += 2)
            gpugc_decref(h, objs[i]);
        gpugc_memory_stats m = mem(h);
        assert_int_equal(m.slots_used, 0);
        if (round == 0)
            total = m.slots_free;
        else
            assert_int_equal(m.slots_free, total);
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
    }
}

/* ---- resize_refs -------------------------------------------------------------- */

static void test_resize_refs_grows_and_shrinks(void **state) {
    gpugc_heap *h = *state;
    gpugc_type t = gpugc_type_register(h, &counted);
    void *a = new_obj(h, t, 2, 16);
    void *b = new_obj(h, t, 0, 16);
    void *c = new_obj(h, t, 0, 16);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, a, 1, c), GPUGC_OK);
    gpugc_decref(h, c); /* a's slot 1 holds c's only reference */
    const uint64_t used = mem(h).slots_used;

    /* Grow: old slots kept, new ones NULL, no counts move. */
    assert_int_equal(gpugc_resize_refs(h, a, 5), GPUGC_OK);
    assert_int_equal(gpugc_nrefs(h, a), 5);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), b);
    assert_ptr_equal(gpugc_get_ref(h, a, 1), c);
    for (uint32_t i = 2; i < 5; i++)
        assert_null(gpugc_get_ref(h, a, i));
    assert_int_equal(gpugc_refcount(h, b), 2);
    assert_int_equal(gpugc_refcount(h, c), 1);
    assert_int_equal(mem(h).slots_used, used + 3);
    assert_int_equal(gpugc_set_ref(h, a, 4, b), GPUGC_OK);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* Grow a lot (the range has to move), contents still kept. */
    assert_int_equal(gpugc_resize_refs(h, a, 1000), GPUGC_OK);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), b);
    assert_ptr_equal(gpugc_get_ref(h, a, 1), c);
    assert_ptr_equal(gpugc_get_ref(h, a, 4), b);
    assert_null(gpugc_get_ref(h, a, 999));
    assert_int_equal(gpugc_refcount(h, b), 3);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* Shrink to 1: slot 4's reference to b and slot 1's to c are dropped;
     * c had no other, so it is freed now. */
    assert_int_equal(gpugc_resize_refs(h, a, 1), GPUGC_OK);
    assert_int_equal(gpugc_nrefs(h, a), 1);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), b);
    assert_int_equal(gpugc_refcount(h, b), 2);
    assert_int_equal(destroyed, 1);
    assert_int_equal(gpugc_object_count(h), 2);
    assert_int_equal(mem(h).slots_used, used - 1);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* To 0 and back: the slots come back empty. */
    assert_int_equal(gpugc_resize_refs(h, a, 0), GPUGC_OK);
    assert_int_equal(gpugc_nrefs(h, a), 0);
    assert_int_equal(gpugc_refcount(h, b), 1);
    assert_null(gpugc_get_ref(h, a, 0)); /* now out of range */
    assert_int_equal(gpugc_last_error(h), GPUGC_ERANGE);
    gpugc_clear_error(h);
    assert_int_equal(gpugc_resize_refs(h, a, 3), GPUGC_OK);
    assert_int_equal(gpugc_nrefs(h, a), 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_null(gpugc_get_ref(h, a, i));
    assert_int_equal(gpugc_refcount(h, b), 1);
    /* Same size: a no-op. */
    assert_int_equal(gpugc_resize_refs(h, a, 3), GPUGC_OK);
    assert_int_equal(gpugc_nrefs(h, a), 3);

    gpugc_decref(h, a);
    gpugc_decref(h, b);
    assert_int_equal(destroyed, 3);
    assert_int_equal(finalized, 3);
    assert_int_equal(gpugc_object_count(h), 0);
}

/* An object gains its first slot: it is tracked, and a cycle through it is
 * found by the collector.  It loses its last: untracked, counting frees it. */
static void test_resize_refs_tracks_and_untracks(void **state) {
    gpugc_heap *h = *state;
    gpugc_type t = gpugc_type_register(h, &counted);
    void *x = new_obj(h, t, 0, 8);
    assert_int_equal(gpugc_resize_refs(h, x, 1), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, x, 0, x), GPUGC_OK);
    gpugc_decref(h, x);
    assert_int_equal(gpugc_object_count(h), 1);
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(destroyed, 1);

    /* Shrinking away a self reference releases it. */
    void *y = new_obj(h, t, 2, 8);
    assert_int_equal(gpugc_set_ref(h, y, 1, y), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, y), 2);
    assert_int_equal(gpugc_resize_refs(h, y, 0), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, y), 1);
    assert_int_equal(gpugc_collect(h, 2), 0);
    assert_int_equal(gpugc_object_count(h), 1);
    gpugc_decref(h, y);
    assert_int_equal(destroyed, 2);
}

/* ---- get_ref, nrefs ------------------------------------------------------------ */

static void test_get_ref_and_nrefs(void **state) {
    gpugc_heap *h = *state;
    enum { N = 16 };
    void *holder = new_obj(h, GPUGC_TYPE_OBJECT, N, 0);
    void *kids[N];
    assert_int_equal(gpugc_nrefs(h, holder), N);
    for (uint32_t i = 0; i < N; i++) {
        kids[i] = new_obj(h, GPUGC_TYPE_OBJECT, i % 3, 8);
        assert_int_equal(gpugc_nrefs(h, kids[i]), i % 3);
        assert_null(gpugc_get_ref(h, holder, i));
        assert_int_equal(gpugc_set_ref(h, holder, i, kids[i]), GPUGC_OK);
    }
    /* Slot i holds kid i, borrowed each time. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < N; i++) {
            assert_ptr_equal(gpugc_get_ref(h, holder, i), kids[i]);
            assert_int_equal(gpugc_refcount(h, kids[i]), 2);
        }
    for (uint32_t i = 0; i < N; i++)
        gpugc_decref(h, kids[i]);
    assert_int_equal(gpugc_object_count(h), N + 1);
    gpugc_decref(h, holder);
    assert_int_equal(gpugc_object_count(h), 0);
}

/* ---- types --------------------------------------------------------------------- */

static size_t destroyed_a, destroyed_b;
static void destroy_a(gpugc_heap *h, void *o) { (void)h; (void)o; destroyed_a++; }
static void destroy_b(gpugc_heap *h, void *o) { (void)h; (void)o; destroyed_b++; }

static void test_type_registration(void **state) {
    gpugc_heap *h = *state;
    destroyed_a = destroyed_b = 0;

    void *plain = new_obj(h, GPUGC_TYPE_OBJECT, 0, 4);
    assert_int_equal(gpugc_type_of(h, plain), GPUGC_TYPE_OBJECT);

    /* The name is copied: the buffer may go away. */
    char name[16] = "TypeA";
    gpugc_type ta = gpugc_type_register(h, &(gpugc_type_desc){.name = name,
                                                             .destroy = destroy_a});
    memset(name, 'x', sizeof name - 1);
    gpugc_type tb = gpugc_type_register(h, &(gpugc_type_desc){.name = "TypeB",
                                                             .destroy = destroy_b});
    gpugc_type tn = gpugc_type_register(h, &(gpugc_type_desc){.name = NULL});
    assert_int_not_equal(ta, (gpugc_type)-1);
    assert_true(ta > GPUGC_TYPE_OBJECT);
    assert_true(tb > ta);
    assert_true(tn > tb);

    void *oa = new_obj(h, ta, 1, 8);
    void *ob = new_obj(h, tb, 0, 8);
    void *on = new_obj(h, tn, 0, 8);
    assert_int_equal(gpugc_type_of(h, oa), ta);
    assert_int_equal(gpugc_type_of(h, ob), tb);
    assert_int_equal(gpugc_type_of(h, on), tn);

    /* Each type's own callbacks run. */
    assert_int_equal(gpugc_set_ref(h, oa, 0, ob), GPUGC_OK);
    gpugc_decref(h, ob);
    gpugc_decref(h, oa);
    assert_int_equal(destroyed_a, 1);
    assert_int_equal(destroyed_b, 1);
    gpugc_decref(h, on);
    gpugc_decref(h, plain);
    assert_int_equal(destroyed_a + destroyed_b, 2);

    /* Types belong to their heap. */
    gpugc_heap *h2 = heap_manual();
    assert_null(gpugc_new(h2, tn, 0, 8));
    assert_int_equal(gpugc_last_error(h2), GPUGC_ETYPE);
    gpugc_heap_free(h2);
}

/* ---- counts and heaps ------------------------------------------------------------- */

static void test_object_count(void **state) {
    gpugc_heap *h = *state;
    void *objs[100];
    assert_int_equal(gpugc_object_count(h), 0);
    for (size_t i = 0; i < 100; i++) {
        objs[i] = new_obj(h, GPUGC_TYPE_OBJECT, (uint32_t)(i % 2), i);
        assert_int_equal(gpugc_object_count(h), i + 1);
    }
    for (size_t i = 0; i < 100; i++) {
        gpugc_decref(h, objs[i]);
        assert_int_equal(gpugc_object_count(h), 99 - i);
    }
}

static void test_heaps_are_independent(void **state) {
    gpugc_heap *h1 = *state;
    gpugc_heap *h2 = heap_manual();
    gpugc_type t1 = gpugc_type_register(h1, &counted);
    gpugc_type t2 = gpugc_type_register(h2, &counted);

    void *live1 = new_obj(h1, t1, 1, 32);
    void *live2 = new_obj(h2, t2, 1, 32);
    /* A garbage cycle in each. */
    void *c1 = new_obj(h1, t1, 1, 8);
    void *c2 = new_obj(h2, t2, 1, 8);
    assert_int_equal(gpugc_set_ref(h1, c1, 0, c1), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h2, c2, 0, c2), GPUGC_OK);
    gpugc_decref(h1, c1);
    gpugc_decref(h2, c2);
    assert_int_equal(gpugc_object_count(h1), 2);
    assert_int_equal(gpugc_object_count(h2), 2);
    assert_int_equal(gpugc_refcount(h1, live1), 1);
    assert_int_equal(gpugc_refcount(h2, live2), 1);

    /* Collecting one leaves the other alone. */
    assert_int_equal(gpugc_collect(h1, 2), 1);
    assert_int_equal(gpugc_object_count(h1), 1);
    assert_int_equal(gpugc_object_count(h2), 2);
    assert_int_equal(destroyed, 1);
    assert_ptr_equal(last_destroy_heap, h1);

    /* Freeing one leaves the other alone. */
    gpugc_heap_free(h1);
    *state = NULL;
    assert_int_equal(destroyed, 2);
    assert_int_equal(gpugc_object_count(h2), 2);
    assert_int_equal(gpugc_refcount(h2, live2), 1);
    assert_int_equal(gpugc_validate(h2), GPUGC_OK);
    assert_int_equal(gpugc_collect(h2, 2), 1);
    assert_ptr_equal(last_destroy_heap, h2);
    gpugc_decref(h2, live2);
    assert_int_equal(gpugc_object_count(h2), 0);
    assert_int_equal(destroyed, 4);
    assert_int_equal(finalized, 3); /* heap_free does not finalize live1 */
    gpugc_heap_free(h2);
    *state = heap_manual(); /* for teardown */
}

/* Several heaps used from several threads at once. */
enum { THREADS = 4, THREAD_OBJECTS = 20000 };

struct worker {
    int ok;
    size_t left;
};

/* Builds chains of self-cycles hanging off a root, drops each chain after
 * 1000 objects and collects it. */
static void *heap_worker(void *arg) {
    struct worker *w = arg;
    gpugc_heap *h = gpugc_heap_new(NULL); /* automatic collection on */
    if (h == NULL)
        return NULL;
    void *root = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    void *prev = root;
    int ok = root != NULL;
    for (int i = 0; ok && i < THREAD_OBJECTS; i++) {
        void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 2, (size_t)(i % 64));
        ok = o != NULL && gpugc_set_ref(h, o, 0, prev) == GPUGC_OK &&
             gpugc_set_ref(h, o, 1, o) == GPUGC_OK;
        if (prev != root)
            gpugc_decref(h, prev);
        prev = o;
        if (ok && i % 1000 == 999) {
            gpugc_decref(h, prev);
            prev = root;
            ok = gpugc_collect(h, 2) == 1000;
        }
    }
    ok = ok && prev == root && gpugc_collect(h, 2) == 0 &&
         gpugc_validate(h) == GPUGC_OK;
    w->left = gpugc_object_count(h);
    w->ok = ok;
    gpugc_heap_free(h);
    return NULL;
}

static void test_heaps_on_threads(void **state) {
    (void)state;
    pthread_t tid[THREADS];
    struct worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, heap_worker, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_true(w[i].ok);
        assert_int_equal(w[i].left, 1); /* only root is left */
    }
}

static void test_heap_free_destroys_live_objects(void **state) {
    gpugc_heap *h = *state;
    gpugc_type t = gpugc_type_register(h, &counted);
    /* A chain, a garbage cycle, a shared object and a large payload. */
    void *a = new_obj(h, t, 1, 8);
    void *b = new_obj(h, t, 2, 8);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    void *shared = new_obj(h, t, 0, 8);
    void *big = new_obj(h, t, 1, 100000);
    assert_int_equal(gpugc_set_ref(h, big, 0, shared), GPUGC_OK);
    gpugc_incref(h, shared);
    (void)new_obj(h, t, 0, 0);
    assert_int_equal(gpugc_object_count(h), 5);

    gpugc_heap_free(h);
    *state = heap_manual(); /* for teardown */
    assert_int_equal(destroyed, 5);
    assert_int_equal(finalized, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_ids_and_slots_are_reused),
        T(test_mixed_slot_ranges_are_reused),
        T(test_resize_refs_grows_and_shrinks),
        T(test_resize_refs_tracks_and_untracks),
        T(test_get_ref_and_nrefs),
        T(test_type_registration),
        T(test_object_count),
        T(test_heaps_are_independent),
        cmocka_unit_test(test_heaps_on_threads),
        T(test_heap_free_destroys_live_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

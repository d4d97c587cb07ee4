/* test_control.c - the collector's controls, as CPython's gc module has
 * them: per-generation statistics, counts, thresholds, callbacks around
 * every collection, freezing (the pre-fork pattern) and immortal objects.
 * Runs on whatever backend GPUGC_BACKEND selects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

#include "error_count.h"

/* n garbage two-cycles, dropped by C at once. */
static void make_cycles(gpugc_heap *h, int n) {
    for (int i = 0; i < n; i++)
        garbage_cycle(h, GPUGC_TYPE_OBJECT);
}

/* A self-loop held from C. */
static void *held_loop(gpugc_heap *h) {
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_non_null(p);
    assert_int_equal(gpugc_set_ref(h, p, 0, p), GPUGC_OK);
    return p;
}

/* ---- statistics, counts, thresholds --------------------------------------- */

static void test_stats_accumulate_per_generation(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_gen_stats s;
    for (int g = 0; g < GPUGC_GENERATIONS; g++) {
        assert_int_equal(gpugc_get_stats(h, g, &s, sizeof s), GPUGC_OK);
        assert_int_equal(s.collections + s.collected + s.uncollectable + s.candidates, 0);
    }
    void *keep = held_loop(h);
    make_cycles(h, 3);
    assert_int_equal(gpugc_collect(h, 0), 6);
    make_cycles(h, 2);
    assert_int_equal(gpugc_collect(h, 0), 4);
    assert_int_equal(gpugc_collect(h, 2), 0);

    assert_int_equal(gpugc_get_stats(h, 0, &s, sizeof s), GPUGC_OK);
    assert_int_equal(s.collections, 2);
    assert_int_equal(s.collected, 10);
    assert_int_equal(s.uncollectable, 0);
    assert_int_equal(s.candidates, 7 + 4); /* keep is promoted after the first */
    assert_true(s.duration_ns > 0);
    assert_int_equal(gpugc_get_stats(h, 1, &s, sizeof s), GPUGC_OK);
    assert_int_equal(s.collections, 0);
    assert_int_equal(gpugc_get_stats(h, 2, &s, sizeof s), GPUGC_OK);
    assert_int_equal(s.collections, 1);
    assert_int_equal(s.candidates, 1);
    assert_int_equal(s.collected, 0);

    assert_int_equal(errors, 0);
    assert_int_equal(gpugc_get_stats(h, 3, &s, sizeof s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_stats(h, -1, &s, sizeof s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_stats(h, 0, NULL, sizeof(gpugc_gen_stats)), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_stats(NULL, 0, &s, sizeof s), GPUGC_EINVAL);
    assert_int_equal(errors, 4);
    gpugc_decref(h, keep);
    gpugc_heap_free(h);
}

/* CPython's counts: allocations minus deallocations of tracked objects in
 * count[0], collections of the younger generation in the others. */
static void test_counts(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    uint32_t c[GPUGC_GENERATIONS];
    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 0);
    void *b = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 0);
    void *atom = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 0); /* untracked */
    assert_int_equal(gpugc_get_count(h, c), GPUGC_OK);
    assert_int_equal(c[0], 2);
    gpugc_decref(h, b);
    gpugc_decref(h, atom);
    assert_int_equal(gpugc_get_count(h, c), GPUGC_OK);
    assert_int_equal(c[0], 1);
    assert_int_equal(gpugc_collect(h, 0), 0);
    assert_int_equal(gpugc_collect(h, 0), 0);
    assert_int_equal(gpugc_get_count(h, c), GPUGC_OK);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 2);
    assert_int_equal(c[2], 0);
    assert_int_equal(gpugc_collect(h, 1), 0);
    assert_int_equal(gpugc_get_count(h, c), GPUGC_OK);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 1);
    assert_int_equal(gpugc_get_count(h, NULL), GPUGC_EINVAL);
    assert_int_equal(errors, 1);
    gpugc_decref(h, a);
    gpugc_heap_free(h);
}

/* Thresholds read back as set; with threshold[0] = 10 automatic collection
 * runs; set back to 0 it stops. */
static void test_thresholds(void **state) {
    (void)state;
    gpugc_heap *h = gpugc_heap_new(NULL);
    assert_non_null(h);
    uint32_t t[GPUGC_GENERATIONS];
    assert_int_equal(gpugc_get_threshold(h, t), GPUGC_OK);
    assert_int_equal(t[0], GPUGC_DEFAULT_THRESHOLD0);
    assert_int_equal(t[1], 10);
    assert_int_equal(t[2], 10);

    const uint32_t off[GPUGC_GENERATIONS] = {0, 10, 10};
    assert_int_equal(gpugc_set_threshold(h, off), GPUGC_OK);
    make_cycles(h, 1000);
    assert_int_equal(gpugc_object_count(h), 2000);
    gpugc_gen_stats s;
    assert_int_equal(gpugc_get_stats(h, 0, &s, sizeof s), GPUGC_OK);
    assert_int_equal(s.collections, 0);

    const uint32_t small[GPUGC_GENERATIONS] = {10, 3, 2};
    assert_int_equal(gpugc_set_threshold(h, small), GPUGC_OK);
    assert_int_equal(gpugc_get_threshold(h, t), GPUGC_OK);
    assert_memory_equal(t, small, sizeof t);
    make_cycles(h, 100);
    assert_int_equal(gpugc_get_stats(h, 0, &s, sizeof s), GPUGC_OK);
    assert_true(s.collections > 0);
    assert_true(gpugc_object_count(h) < 2000);

    assert_int_equal(gpugc_set_threshold(h, NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_threshold(NULL, t), GPUGC_EINVAL);
    assert_int_equal(errors, 2);
    assert_int_equal(gpugc_get_threshold(h, t), GPUGC_OK);
    assert_memory_equal(t, small, sizeof t); /* the refusal changed nothing */
    gpugc_heap_free(h);
}

/* ---- callbacks ------------------------------------------------------------- */

typedef struct event {
    gpugc_phase phase;
    gpugc_collect_info info;
    int tag;
} event;

static struct {
    event ev[64];
    int n;
    int inner_collect, inner_add, inner_remove;
    size_t objects_at_start;
} CB;

static void record(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info, int tag) {
    if (CB.n < 64)
        CB.ev[CB.n++] = (event){phase, *info, tag};
    if (phase == GPUGC_PHASE_START)
        CB.objects_at_start = gpugc_object_count(h);
}

static void cb_one(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info, void *data) {
    record(h, phase, info, *(int *)data);
}

/* Tries what a callback must not do, and allocates and drops garbage,
 * which it may. */
static void cb_meddler(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info,
                       void *data) {
    record(h, phase, info, *(int *)data);
    CB.inner_collect = (int)gpugc_collect(h, 2);
    CB.inner_add = gpugc_callback_add(h, cb_one, data);
    CB.inner_remove = gpugc_callback_remove(h, cb_meddler, data);
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    gpugc_decref(h, p);
}

static void test_callbacks_start_and_stop(void **state) {
    (void)state;
    memset(&CB, 0, sizeof CB);
    gpugc_heap *h = heap_manual();
    static int one = 1, two = 2;
    assert_int_equal(gpugc_callback_add(h, cb_one, &one), GPUGC_OK);
    assert_int_equal(gpugc_callback_add(h, cb_one, &two), GPUGC_OK);
    void *keep = held_loop(h);
    make_cycles(h, 2);
    assert_int_equal(gpugc_collect(h, 1), 4);

    assert_int_equal(CB.n, 4);
    assert_int_equal(CB.ev[0].phase, GPUGC_PHASE_START);
    assert_int_equal(CB.ev[0].tag, 1);
    assert_int_equal(CB.ev[1].phase, GPUGC_PHASE_START);
    assert_int_equal(CB.ev[1].tag, 2);
    assert_int_equal(CB.ev[0].info.generation, 1);
    assert_int_equal(CB.ev[0].info.collected, 0);
    assert_int_equal(CB.ev[0].info.backend, gpugc_heap_backend(h));
    assert_int_equal(CB.objects_at_start, 5); /* START runs before anything is freed */
    for (int k = 2; k < 4; k++) {
        const gpugc_collect_info *i = &CB.ev[k].info;
        assert_int_equal(CB.ev[k].phase, GPUGC_PHASE_STOP);
        assert_int_equal(CB.ev[k].tag, k - 1);
        assert_int_equal(i->generation, 1);
        assert_int_equal(i->collected, 4);
        assert_int_equal(i->uncollectable, 0);
        assert_int_equal(i->candidates, 5);
        assert_true(i->duration_ns > 0);
        assert_true(i->backend != GPUGC_BACKEND_AUTO);
        gpugc_collection_stats st;
        assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
        assert_int_equal(i->backend, st.backend);
    }

    /* Removal: the first matching pair only; unknown pairs are refused. */
    assert_int_equal(gpugc_callback_remove(h, cb_one, &one), GPUGC_OK);
    assert_int_equal(gpugc_callback_remove(h, cb_one, &one), GPUGC_EINVAL);
    assert_int_equal(gpugc_callback_add(h, NULL, &one), GPUGC_EINVAL);
    assert_int_equal(gpugc_callback_add(NULL, cb_one, &one), GPUGC_EINVAL);
    assert_int_equal(errors, 3);
    CB.n = 0;
    assert_int_equal(gpugc_collect(h, 0), 0);
    assert_int_equal(CB.n, 2);
    assert_int_equal(CB.ev[0].tag, 2);
    assert_int_equal(gpugc_callback_remove(h, cb_one, &two), GPUGC_OK);
    CB.n = 0;
    assert_int_equal(gpugc_collect(h, 0), 0);
    assert_int_equal(CB.n, 0);
    gpugc_decref(h, keep);
    gpugc_heap_free(h);
}

/* Inside a callback: collecting and changing the callbacks are refused,
 * allocating and releasing work; automatic collections run them too. */
static void test_callbacks_restrictions_and_automatic(void **state) {
    (void)state;
    memset(&CB, 0, sizeof CB);
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 5;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    static int tag = 7;
    assert_int_equal(gpugc_callback_add(h, cb_meddler, &tag), GPUGC_OK);
    make_cycles(h, 10); /* 20 tracked allocations: automatic collections */
    assert_true(CB.n >= 2);
    assert_int_equal(CB.ev[0].phase, GPUGC_PHASE_START);
    assert_int_equal(CB.ev[1].phase, GPUGC_PHASE_STOP);
    assert_int_equal(CB.inner_collect, GPUGC_EBUSY);
    assert_int_equal(CB.inner_add, GPUGC_EBUSY);
    assert_int_equal(CB.inner_remove, GPUGC_EBUSY);
    assert_int_equal(last_status, GPUGC_EBUSY);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(gpugc_callback_remove(h, cb_meddler, &tag), GPUGC_OK);
    gpugc_heap_free(h);
}

/* ---- freezing ---------------------------------------------------------------- */

/* Frozen objects are never examined: a frozen garbage cycle survives every
 * collection, a frozen object keeps what it references alive, frozen
 * objects still die by reference count, and unfreezing hands them back to
 * the oldest generation. */
static void test_freeze(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    make_cycles(h, 2);                     /* 4 garbage objects */
    void *root = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    void *lone = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_int_equal(gpugc_get_freeze_count(h), 0);
    gpugc_freeze(h);
    assert_int_equal(gpugc_get_freeze_count(h), 6);
    uint32_t c[GPUGC_GENERATIONS];
    assert_int_equal(gpugc_get_count(h, c), GPUGC_OK);
    assert_int_equal(c[0], 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* A young cycle that only a frozen object references survives;
     * young garbage does not. */
    void *young = held_loop(h);
    assert_int_equal(gpugc_set_ref(h, root, 0, young), GPUGC_OK);
    gpugc_decref(h, young);
    make_cycles(h, 1);
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        assert_int_equal(gpugc_collect(h, g), g == 0 ? 2 : 0);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.objects, 1); /* only `young` was examined */
    assert_int_equal(gpugc_object_count(h), 7);

    gpugc_decref(h, lone);                 /* refcount still frees frozen objects */
    assert_int_equal(gpugc_get_freeze_count(h), 5);
    assert_int_equal(gpugc_object_count(h), 6);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    gpugc_unfreeze(h);
    assert_int_equal(gpugc_get_freeze_count(h), 0);
    assert_int_equal(gpugc_collect(h, 1), 0); /* back in generation 2 */
    assert_int_equal(gpugc_collect(h, 2), 4);
    gpugc_decref(h, root);                 /* leaves `young` as garbage */
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    assert_int_equal(errors, 0);
    gpugc_freeze(NULL);
    gpugc_unfreeze(NULL);
    assert_int_equal(gpugc_get_freeze_count(NULL), 0);
    assert_int_equal(errors, 3);
    gpugc_heap_free(h);
}

/* ---- immortal objects ------------------------------------------------------- */

static int destroyed, finalized, busy_status;

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    destroyed++;
}

static void on_finalize(gpugc_heap *h, void *obj) {
    finalized++;
    busy_status = gpugc_make_immortal(h, obj);
}

static void test_immortal(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"mortal?", on_finalize, on_destroy};
    gpugc_type t = gpugc_type_register(h, &d);
    destroyed = finalized = 0;

    /* Counts no longer move; dropping "the last" reference frees nothing. */
    void *atom = gpugc_new(h, t, 0, 8);
    assert_int_equal(gpugc_make_immortal(h, atom), GPUGC_OK);
    assert_int_equal(gpugc_make_immortal(h, atom), GPUGC_OK); /* again: no change */
    assert_int_equal(gpugc_refcount(h, atom), GPUGC_IMMORTAL_REFCOUNT);
    for (int i = 0; i < 10; i++)
        gpugc_decref(h, atom);
    gpugc_incref(h, atom);
    assert_int_equal(gpugc_refcount(h, atom), GPUGC_IMMORTAL_REFCOUNT);

    /* An immortal cycle: never collected, and what it references lives. */
    void *cyc = held_loop(h);
    void *leaf = gpugc_new(h, t, 1, 8);
    assert_int_equal(gpugc_resize_refs(h, cyc, 3), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, cyc, 1, leaf), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, cyc, 2, atom), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, leaf, 0, cyc), GPUGC_OK);
    assert_int_equal(gpugc_make_immortal(h, cyc), GPUGC_OK);
    gpugc_decref(h, cyc);
    gpugc_decref(h, leaf);
    assert_int_equal(gpugc_refcount(h, atom), GPUGC_IMMORTAL_REFCOUNT);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        assert_int_equal(gpugc_collect(h, g), 0);
    assert_int_equal(gpugc_object_count(h), 3);
    assert_int_equal(gpugc_refcount(h, cyc), GPUGC_IMMORTAL_REFCOUNT);
    assert_int_equal(gpugc_refcount(h, leaf), 1); /* the immortal slot's */

    /* Slots come and go; the object stays immortal and in the permanent
     * generation, which freezing and unfreezing leave it in. */
    assert_int_equal(gpugc_set_ref(h, cyc, 0, NULL), GPUGC_OK);
    assert_int_equal(gpugc_resize_refs(h, cyc, 0), GPUGC_OK); /* frees leaf */
    assert_int_equal(finalized, 1);
    assert_int_equal(destroyed, 1);
    assert_int_equal(gpugc_resize_refs(h, cyc, 2), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, cyc, 0, cyc), GPUGC_OK);
    gpugc_freeze(h);
    assert_int_equal(gpugc_get_freeze_count(h), 0);
    gpugc_unfreeze(h);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 0);
    assert_int_equal(gpugc_object_count(h), 2);

    /* From a finalizer: refused. */
    void *m = gpugc_new(h, t, 0, 8);
    gpugc_decref(h, m);
    assert_int_equal(finalized, 2);
    assert_int_equal(busy_status, GPUGC_EBUSY);
    assert_int_equal(errors, 2); /* that refusal, and the one above */
    assert_int_equal(gpugc_make_immortal(h, NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_make_immortal(NULL, atom), GPUGC_EINVAL);
    static uint64_t buffer[4];
    assert_int_equal(gpugc_make_immortal(h, &buffer[2]), GPUGC_ENOTOBJ);
    assert_int_equal(errors, 5);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* gpugc_heap_free destroys them, without finalizing. */
    destroyed = 0;
    gpugc_heap_free(h);
    assert_int_equal(destroyed, 1); /* atom; cyc is of type object */
    assert_int_equal(finalized, 2);
}

/* ---- out of memory ---------------------------------------------------------- */

/* Each call made to fail at every allocation it makes, one after another:
 * it reports GPUGC_ENOMEM and changes nothing, until it succeeds. */
static void test_out_of_memory_changes_nothing(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    static int tag;
    void *objs[40];
    for (int i = 0; i < 40; i++) /* enough that the lists must grow */
        objs[i] = held_loop(h);
    int failures = 0;

    for (int k = 0; k < 6; k++) { /* the array grows at the 1st and 5th */
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0);
        int st = gpugc_callback_add(h, cb_one, &tag);
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1);
        if (st != GPUGC_OK) {
            failures++;
            assert_int_equal(st, GPUGC_ENOMEM);
            assert_int_equal(gpugc_callback_add(h, cb_one, &tag), GPUGC_OK);
        }
    }
    assert_int_equal(failures, 2);
    for (int k = 0; k < 6; k++)
        assert_int_equal(gpugc_callback_remove(h, cb_one, &tag), GPUGC_OK);
    assert_int_equal(gpugc_callback_remove(h, cb_one, &tag), GPUGC_EINVAL);
    failures++;

    for (int i = 0; i < 20; i++) { /* the permanent list grows now and then */
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0);
        int st = gpugc_make_immortal(h, objs[i]);
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1);
        if (st != GPUGC_OK) {
            failures++;
            assert_int_equal(st, GPUGC_ENOMEM);
            assert_int_equal(gpugc_refcount(h, objs[i]), 2);
            assert_int_equal(gpugc_make_immortal(h, objs[i]), GPUGC_OK);
        }
        assert_int_equal(gpugc_refcount(h, objs[i]), GPUGC_IMMORTAL_REFCOUNT);
    }
    assert_true(failures >= 4);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);


    gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0);
    gpugc_freeze(h);
    failures++;
    assert_int_equal(gpugc_get_freeze_count(h), 0);
    gpugc_freeze(h);
    assert_int_equal(gpugc_get_freeze_count(h), 20); /* the mortal half */
    gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0);
    gpugc_unfreeze(h);
    failures++;
    assert_int_equal(gpugc_get_freeze_count(h), 20);
    gpugc_unfreeze(h);
    assert_int_equal(gpugc_get_freeze_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* SAVEALL: the garbage list's room is made before the mark. */
    make_cycles(h, 3);
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_SAVEALL), GPUGC_OK);
    for (int k = 0;; k++) {
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, k);
        int64_t found = gpugc_collect(h, 2);
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1);
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
        if (found >= 0) {
            assert_int_equal(found, 6);
            break;
        }
        failures++;
        assert_int_equal(gpugc_garbage_count(h), 0);
        assert_int_equal(gpugc_object_count(h), 46);
    }
    assert_int_equal(gpugc_garbage_count(h), 6);
    assert_true(failures >= 11); /* some inside the collection */
    assert_true(errors >= failures);
    gpugc_heap_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_stats_accumulate_per_generation),
        CASE(test_counts),
        CASE(test_thresholds),
        CASE(test_callbacks_start_and_stop),
        CASE(test_callbacks_restrictions_and_automatic),
        CASE(test_freeze),
        CASE(test_immortal),
        CASE(test_out_of_memory_changes_nothing),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

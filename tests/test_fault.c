/* test_fault.c - failure injection with gpugc_inject_fault.
 *
 * A refused memory request makes the call that needed it fail cleanly
 * (GPUGC_ENOMEM, nothing changed).  A sweep fails each memory request of a
 * fixed workload in turn (new, set_ref, resize_refs, garbage, collect) and
 * checks after every failure that the heap is valid and no live object or
 * reference was lost.  A failed mark phase frees nothing and the next
 * collection finds the garbage.  A negative countdown disarms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------------ */

static size_t destroyed;
static void count_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    destroyed++;
}

/* Errors are expected here by the hundred: keep stderr quiet. */
static void quiet(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)status;
    (void)message;
    (void)data;
}

/* A heap on the serial CPU backend (GPUGC_BACKEND still overrides it),
 * without automatic collection, its errors quiet. */
static gpugc_heap *serial_heap(void) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = GPUGC_BACKEND_CPU;
    cfg.threshold[0] = 0;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    gpugc_set_error_handler(h, quiet, NULL);
    return h;
}

/* An injected allocation failure reads as the system refusing memory. */
static void assert_alloc_failure(int status) {
    if (status != GPUGC_ENOMEM)
        fail_msg("status %d (%s), expected ENOMEM", status, gpugc_strerror(status));
}

/* A self cycle of type t: garbage once the caller drops it. */
static void *new_cycle(gpugc_heap *h, gpugc_type t) {
    void *o = gpugc_new(h, t, 1, 16);
    assert_non_null(o);
    assert_int_equal(gpugc_set_ref(h, o, 0, o), GPUGC_OK);
    gpugc_decref(h, o);
    return o;
}

static int setup(void **state) {
    destroyed = 0;
    *state = serial_heap();
    return 0;
}

static int teardown(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1), GPUGC_OK);
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_MARK, -1), GPUGC_OK);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
    return 0;
}

/* ---- single faults ----------------------------------------------------------------- */

static void test_alloc_fault_fails_new(void **state) {
    gpugc_heap *h = *state;
    void *keep = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    assert_non_null(keep);

    /* A large payload always asks the system for memory. */
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0), GPUGC_OK);
    assert_null(gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 100000));
    assert_alloc_failure(gpugc_last_error(h));
    assert_non_null(strstr(gpugc_last_error_message(h), "new"));
    gpugc_clear_error(h);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(gpugc_object_count(h), 1);
    assert_int_equal(gpugc_refcount(h, keep), 1);

    /* The fault fired once: the next request succeeds. */
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 100000);
    assert_non_null(o);
    assert_int_equal(gpugc_object_count(h), 2);
    gpugc_decref(h, o);
    gpugc_decref(h, keep);
}

/* The countdown counts requests: countdown k lets k requests through. */
static void test_alloc_fault_countdown(void **state) {
    gpugc_heap *h = *state;
    void *objs[3];
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 2), GPUGC_OK);
    size_t made = 0;
    void *o;
    while ((o = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 100000)) != NULL) {
        assert_true(made < 2); /* each large payload is at least one request */
        objs[made++] = o;
    }
    assert_alloc_failure(gpugc_last_error(h));
    assert_int_equal(gpugc_object_count(h), made);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    for (size_t i = 0; i < made; i++)
        gpugc_decref(h, objs[i]);
}

static void test_negative_countdown_disarms(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0), GPUGC_OK);
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1), GPUGC_OK);
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 100000);
    assert_non_null(o);
    gpugc_decref(h, o);

    new_cycle(h, GPUGC_TYPE_OBJECT);
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_MARK, 0), GPUGC_OK);
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_MARK, -5), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_object_count(h), 0);

    assert_int_equal(gpugc_inject_fault(h, (gpugc_fault)99, 0), GPUGC_EINVAL);
    gpugc_clear_error(h);
}

/* On the serial CPU backend a failed mark phase fails the collection: a
 * negative status, nothing freed, the next collection finds the garbage.
 * Any other backend (GPUGC_BACKEND may pick one) hands the collection to
 * the CPU reference instead, which is its design: then the collection
 * succeeds with `fallback` set. */
static void test_mark_fault_frees_nothing(void **state) {
    gpugc_heap *h = *state;
    gpugc_type t = gpugc_type_register(h, &(gpugc_type_desc){
        .name = "Counted", .destroy = count_destroy});
    void *live = gpugc_new(h, t, 1, 8);
    assert_non_null(live);
    void *a = garbage_cycle(h, t);
    assert_int_equal(gpugc_object_count(h), 3);

    /* Countdown 1: the first collection marks, the second one fails. */
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_MARK, 1), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 0), 2);
    assert_int_equal(destroyed, 2);
    a = new_cycle(h, t);

    int64_t r = gpugc_collect(h, 2);
    if (gpugc_heap_backend(h) != GPUGC_BACKEND_CPU) {
        gpugc_collection_stats st;
        assert_int_equal(r, 1);
        assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
        assert_int_equal(st.fallback, 1);
        assert_int_equal(st.backend, GPUGC_BACKEND_CPU); /* whose marks were used */
        assert_int_equal(gpugc_object_count(h), 1);
        gpugc_decref(h, live);
        return;
    }
    assert_true(r < 0);
    assert_int_equal(gpugc_last_error(h), (int)r);
    gpugc_clear_error(h);
    assert_int_equal(gpugc_object_count(h), 2); /* the cycle is still there */
    assert_int_equal(destroyed, 2);
    assert_int_equal(gpugc_refcount(h, a), 1);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), a);
    assert_int_equal(gpugc_refcount(h, live), 1);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    /* The next collection finds it. */
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_object_count(h), 1);
    assert_int_equal(destroyed, 3);
    gpugc_decref(h, live);
    assert_int_equal(destroyed, 4);
}

/* ---- the sweep ----------------------------------------------------------------------
 *
 * A fixed workload, mirrored by the test: held[i] is an object the test
 * holds one reference to; its slot 0 points to held[next[i]] (or is NULL),
 * its slot 1 to held[cross[i]] (or NULL); it has nslots[i] slots.  Slots only
 * point to lower indices, so the held objects form no cycle.  `garbage`
 * counts objects in dropped self cycles not yet collected.
 */

#define HELD 400
#define CYCLES 150

typedef struct {
    gpugc_heap *h;
    gpugc_type type;
    void *held[HELD];
    int next[HELD], cross[HELD];
    uint32_t nslots[HELD];
    size_t n;
    size_t garbage;
    size_t created; /* objects successfully created */
} world;

static size_t payload_size(size_t i) {
    static const size_t sizes[] = {0, 8, 24, 100, 400, 600, 5000};
    return sizes[i % (sizeof sizes / sizeof sizes[0])];
}

/* Each step returns 0 on success, or records a failure and returns -1. */
static int failed(world *w, int status) {
    assert_true(status < 0);
    (void)w;
    assert_alloc_failure(status);
    return -1;
}

static int step_new(world *w) {
    size_t i = w->n;
    void *o = gpugc_new(w->h, w->type, 2, payload_size(i));
    if (o == NULL)
        return failed(w, gpugc_last_error(w->h));
    w->created++;
    w->held[i] = o;
    w->nslots[i] = 2;
    w->next[i] = w->cross[i] = -1;
    w->n++;
    if (i > 0) {
        int s = gpugc_set_ref(w->h, o, 0, w->held[i - 1]);
        if (s != GPUGC_OK)
            return failed(w, s);
        w->next[i] = (int)i - 1;
    }
    return 0;
}

static int step_cross(world *w, size_t i, size_t j) {
    int s = gpugc_set_ref(w->h, w->held[i], 1, w->held[j]);
    if (s != GPUGC_OK)
        return failed(w, s);
    w->cross[i] = (int)j;
    return 0;
}

static int step_resize(world *w, size_t i, uint32_t nslots) {
    int s = gpugc_resize_refs(w->h, w->held[i], nslots);
    if (s != GPUGC_OK)
        return failed(w, s);
    w->nslots[i] = nslots;
    if (nslots < 2)
        w->cross[i] = -1;
    if (nslots < 1)
        w->next[i] = -1;
    return 0;
}

static int step_garbage(world *w) {
    void *a = gpugc_new(w->h, w->type, 1, 32);
    if (a == NULL)
        return failed(w, gpugc_last_error(w->h));
    w->created++;
    int s = gpugc_set_ref(w->h, a, 0, a);
    gpugc_decref(w->h, a);
    if (s != GPUGC_OK)
        return failed(w, s); /* no cycle: counting freed it */
    w->garbage++;
    return 0;
}

static int step_collect(world *w) {
    int64_t r = gpugc_collect(w->h, 2);
    if (r < 0)
        return failed(w, (int)r);
    assert_int_equal(r, w->garbage);
    w->garbage = 0;
    return 0;
}

/* The workload; stops at the first failure. */
static int run_workload(world *w) {
    for (size_t i = 0; i < HELD / 2; i++)
        if (step_new(w) < 0)
            return -1;
    for (size_t i = 10; i < HELD / 2; i += 7)
        if (step_cross(w, i, i / 2) < 0)
            return -1;
    for (size_t i = 0; i < HELD / 2; i += 13)
        if (step_resize(w, i, 40 + (uint32_t)i) < 0)
            return -1;
    for (size_t k = 0; k < CYCLES; k++)
        if (step_garbage(w) < 0)
            return -1;
    if (step_collect(w) < 0)
        return -1;
    for (size_t i = HELD / 2; i < HELD; i++)
        if (step_new(w) < 0)
            return -1;
    for (size_t i = 0; i < HELD / 2; i += 13)
        if (step_resize(w, i, 1) < 0)
            return -1;
    for (size_t k = 0; k < CYCLES; k++)
        if (step_garbage(w) < 0)
            return -1;
    return step_collect(w);
}

/* The heap agrees with the mirror. */
static void check_world(const world *w) {
    size_t expect_rc[HELD];
    for (size_t i = 0; i < w->n; i++)
        expect_rc[i] = 1;
    for (size_t i = 0; i < w->n; i++) {
        if (w->next[i] >= 0)
            expect_rc[w->next[i]]++;
        if (w->cross[i] >= 0)
            expect_rc[w->cross[i]]++;
    }
    assert_int_equal(gpugc_validate(w->h), GPUGC_OK);
    assert_int_equal(gpugc_object_count(w->h), w->n + w->garbage);
    for (size_t i = 0; i < w->n; i++) {
        void *o = w->held[i];
        assert_int_equal(gpugc_type_of(w->h, o), w->type);
        assert_int_equal(gpugc_refcount(w->h, o), expect_rc[i]);
        assert_int_equal(gpugc_nrefs(w->h, o), w->nslots[i]);
        if (w->nslots[i] > 0)
            assert_ptr_equal(gpugc_get_ref(w->h, o, 0),
                             w->next[i] >= 0 ? w->held[w->next[i]] : NULL);
        if (w->nslots[i] > 1)
            assert_ptr_equal(gpugc_get_ref(w->h, o, 1),
                             w->cross[i] >= 0 ? w->held[w->cross[i]] : NULL);
        for (uint32_t s = 2; s < w->nslots[i]; s++)
            assert_null(gpugc_get_ref(w->h, o, s));
    }
}

/* Fails the (k+1)-th memory request of the workload for k = 0, 1, ... until
 * the workload has run through CLEAN_RUNS times in a row without reaching it
 * (a failure the library absorbs silently also lets a run through). */
#define CLEAN_RUNS 20
#define MAX_COUNTDOWN 100000

static void test_alloc_fault_sweep(void **state) {
    (void)state;
    static world w;
    int64_t k;
    int clean = 0, failed_runs = 0;
    for (k = 0; k < MAX_COUNTDOWN && clean < CLEAN_RUNS; k++) {
        memset(&w, 0, sizeof w);
        destroyed = 0;
        w.h = serial_heap();
        w.type = gpugc_type_register(w.h, &(gpugc_type_desc){
            .name = "Counted", .destroy = count_destroy});
        assert_int_not_equal(w.type, (gpugc_type)-1);

        assert_int_equal(gpugc_inject_fault(w.h, GPUGC_FAULT_ALLOC, k), GPUGC_OK);
        int r = run_workload(&w);
        assert_int_equal(gpugc_inject_fault(w.h, GPUGC_FAULT_ALLOC, -1), GPUGC_OK);
        gpugc_clear_error(w.h);
        if (r < 0) {
            check_world(&w);
            failed_runs++;
            clean = 0;
        } else {
            clean++;
        }

        /* Whatever happened, the heap goes on: the garbage is found, and
         * releasing the held objects frees everything, once. */
        assert_int_equal(gpugc_collect(w.h, 2), (int64_t)w.garbage);
        w.garbage = 0;
        check_world(&w);
        for (size_t i = w.n; i-- > 0;)
            gpugc_decref(w.h, w.held[i]);
        assert_int_equal(gpugc_object_count(w.h), 0);
        assert_int_equal(destroyed, w.created);
        assert_int_equal(gpugc_validate(w.h), GPUGC_OK);
        gpugc_heap_free(w.h);
    }
    assert_true(failed_runs > 0);
    assert_true(k < MAX_COUNTDOWN);
    print_message("fault sweep: %d of %lld countdowns failed an operation\n",
                  failed_runs, (long long)k);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_alloc_fault_fails_new),
        T(test_alloc_fault_countdown),
        T(test_negative_countdown_disarms),
        T(test_mark_fault_frees_nothing),
        cmocka_unit_test(test_alloc_fault_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

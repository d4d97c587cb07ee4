/* test_weakref.c - weak references: reading the referent, clearing and
 * callbacks when it dies by reference count or in a garbage cycle (before
 * its finalizers, CPython's order), objects a finalizer resurrects,
 * callbacks that free weak references or change the heap, immortal
 * referents, refusals, and gpugc_heap_free with weak references left. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

static struct {
    gpugc_heap *h;
    gpugc_type node;        /* finalize and destroy logged               */
    gpugc_type lazarus;     /* finalize resurrects (C reference in kept) */
    gpugc_type clinger;     /* finalize tries a weak reference to itself */
    uint64_t seq;
    uint64_t fin_seq[8], des_seq[8], cb_seq[8];
    int cb_runs[8], cb_saw_null[8];
    int errors, last_status;
    void *kept;
    gpugc_weakref *to_free;   /* freed by the callback of tag 0           */
    gpugc_weakref *made;      /* made by a callback                        */
    void *other;
    int fin_weak_status;
} W;

static int tag_of(const void *obj) {
    int t;
    memcpy(&t, obj, sizeof t);
    return t;
}

static void on_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    W.fin_seq[tag_of(obj)] = ++W.seq;
}

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    W.des_seq[tag_of(obj)] = ++W.seq;
}

static void lazarus_finalize(gpugc_heap *h, void *obj) {
    on_finalize(h, obj);
    gpugc_incref(h, obj);
    W.kept = obj;
}

static void clinger_finalize(gpugc_heap *h, void *obj) {
    on_finalize(h, obj);
    gpugc_weakref *w = gpugc_weakref_new(h, obj, NULL, NULL);
    W.fin_weak_status = w ? GPUGC_OK : gpugc_last_error(h);
    gpugc_weakref_free(h, w);
}

/* data is the tag; the referent must read NULL already. */
static void on_dead(gpugc_heap *h, gpugc_weakref *w, void *data) {
    int tag = (int)(intptr_t)data;
    W.cb_runs[tag]++;
    W.cb_seq[tag] = ++W.seq;
    W.cb_saw_null[tag] += gpugc_weakref_get(h, w) == NULL;
}

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    (void)data;
    W.errors++;
    W.last_status = status;
}

static int setup(void **state) {
    (void)state;
    memset(&W, 0, sizeof W);
    gpugc_set_error_handler(NULL, count_error, NULL);
    W.h = heap_manual();
    gpugc_type_desc node = {"node", on_finalize, on_destroy};
    gpugc_type_desc lazarus = {"lazarus", lazarus_finalize, on_destroy};
    gpugc_type_desc clinger = {"clinger", clinger_finalize, on_destroy};
    W.node = gpugc_type_register(W.h, &node);
    W.lazarus = gpugc_type_register(W.h, &lazarus);
    W.clinger = gpugc_type_register(W.h, &clinger);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    gpugc_heap_free(W.h);
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

static void *tagged(gpugc_type t, uint32_t nrefs, int tag) {
    void *p = gpugc_new(W.h, t, nrefs, sizeof tag);
    assert_non_null(p);
    memcpy(p, &tag, sizeof tag);
    return p;
}

static gpugc_weakref *weak(void *obj, int tag) {
    gpugc_weakref *w = gpugc_weakref_new(W.h, obj, on_dead, (void *)(intptr_t)tag);
    assert_non_null(w);
    return w;
}

static void test_get_and_refcount_death(void **state) {
    (void)state;
    void *a = tagged(W.node, 0, 0);
    gpugc_weakref *w = weak(a, 0);
    gpugc_weakref *plain = gpugc_weakref_new(W.h, a, NULL, NULL); /* no callback */
    assert_non_null(plain);
    assert_int_equal(gpugc_weakref_count(W.h, a), 2);
    assert_int_equal(gpugc_refcount(W.h, a), 1); /* weak: no count */
    void *got = gpugc_weakref_get(W.h, w);
    assert_ptr_equal(got, a);
    assert_int_equal(gpugc_refcount(W.h, a), 2); /* a new reference */
    gpugc_decref(W.h, got);
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);

    gpugc_decref(W.h, a);
    assert_int_equal(W.cb_runs[0], 1);
    assert_int_equal(W.cb_saw_null[0], 1);
    assert_true(W.fin_seq[0] < W.cb_seq[0]); /* CPython: finalizer, then weakrefs */
    assert_true(W.cb_seq[0] < W.des_seq[0]); /* ...before the memory goes */
    assert_null(gpugc_weakref_get(W.h, w));
    assert_null(gpugc_weakref_get(W.h, plain));
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    gpugc_weakref_free(W.h, w);
    gpugc_weakref_free(W.h, plain);
    gpugc_weakref_free(W.h, NULL);

    /* A weak reference freed while its referent lives never calls back. */
    void *b = tagged(W.node, 0, 1);
    gpugc_weakref_free(W.h, weak(b, 1));
    assert_int_equal(gpugc_weakref_count(W.h, b), 0);
    gpugc_decref(W.h, b);
    assert_int_equal(W.cb_runs[1], 0);
    assert_int_equal(W.errors, 0);
}

/* In a garbage cycle, weak references are cleared and called back before
 * any finalizer of the cycle runs. */
static void test_cycle_death(void **state) {
    (void)state;
    void *a = tagged(W.node, 1, 0), *b = tagged(W.node, 1, 1);
    gpugc_set_ref(W.h, a, 0, b);
    gpugc_set_ref(W.h, b, 0, a);
    gpugc_weakref *wa = weak(a, 0), *wb = weak(b, 1);
    gpugc_decref(W.h, a);
    gpugc_decref(W.h, b);
    void *got = gpugc_weakref_get(W.h, wa); /* still there: nobody collected */
    assert_ptr_equal(got, a);
    gpugc_decref(W.h, got);
    assert_int_equal(gpugc_collect(W.h, 0), 2);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(W.cb_runs[t], 1);
        assert_int_equal(W.cb_saw_null[t], 1);
        assert_true(W.cb_seq[t] < W.fin_seq[0] && W.cb_seq[t] < W.fin_seq[1]);
    }
    assert_null(gpugc_weakref_get(W.h, wa));
    assert_null(gpugc_weakref_get(W.h, wb));
    gpugc_weakref_free(W.h, wa);
    gpugc_weakref_free(W.h, wb);
    assert_int_equal(gpugc_object_count(W.h), 0);
    assert_int_equal(W.errors, 0);
}

/* A finalizer that resurrects: in a cycle the weak references are gone
 * anyway (cleared before finalizers); by reference count they stay, since
 * the object never died. */
static void test_resurrection(void **state) {
    (void)state;
    void *a = tagged(W.lazarus, 1, 0);
    gpugc_set_ref(W.h, a, 0, a);
    gpugc_weakref *w = weak(a, 0);
    gpugc_decref(W.h, a);
    assert_int_equal(gpugc_collect(W.h, 0), 1);
    assert_ptr_equal(W.kept, a); /* resurrected */
    assert_int_equal(W.cb_runs[0], 1);
    assert_null(gpugc_weakref_get(W.h, w));
    gpugc_weakref_free(W.h, w);

    void *b = tagged(W.lazarus, 0, 1);
    w = weak(b, 1);
    gpugc_decref(W.h, b);
    assert_ptr_equal(W.kept, b);
    assert_int_equal(W.cb_runs[1], 0);
    void *got = gpugc_weakref_get(W.h, w);
    assert_ptr_equal(got, b);
    gpugc_decref(W.h, got);
    gpugc_decref(W.h, b); /* now it dies: finalized before, not again */
    assert_int_equal(W.cb_runs[1], 1);
    gpugc_weakref_free(W.h, w);
    gpugc_set_ref(W.h, a, 0, NULL);
    gpugc_decref(W.h, a);
    assert_int_equal(gpugc_object_count(W.h), 0);
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
}

/* Callbacks that free their own and their siblings' weak references, make
 * new ones and allocate. */
static void meddling_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    on_dead(h, w, data);
    if (W.to_free) {
        gpugc_weakref_free(h, W.to_free); /* a sibling not called back yet */
        W.to_free = NULL;
    }
    gpugc_weakref_free(h, w);            /* itself */
    W.made = gpugc_weakref_new(h, W.other, on_dead, (void *)(intptr_t)5);
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    gpugc_set_ref(h, p, 0, p);
    gpugc_decref(h, p);
}

static void test_meddling_callbacks(void **state) {
    (void)state;
    W.other = tagged(W.node, 0, 4);
    for (int round = 0; round < 2; round++) {
        void *a = tagged(W.node, 1, 0);
        gpugc_set_ref(W.h, a, 0, round ? a : NULL);
        W.cb_runs[0] = W.cb_runs[1] = 0;
        assert_non_null(gpugc_weakref_new(W.h, a, meddling_cb, (void *)(intptr_t)0));
        W.to_free = weak(a, 1);
        assert_non_null(gpugc_weakref_new(W.h, a, meddling_cb, (void *)(intptr_t)0));
        gpugc_decref(W.h, a);
        if (round) /* a, and the self-loops of round 0's callbacks */
            assert_int_equal(gpugc_collect(W.h, 0), 3);
        assert_int_equal(W.cb_runs[0], 2);
        assert_int_equal(W.cb_runs[1], 0); /* freed before its turn */
        assert_int_equal(gpugc_weakref_count(W.h, W.other), 2 * (round + 1));
        assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    }
    assert_int_equal(gpugc_collect(W.h, 2), 2); /* round 1's self-loops */
    gpugc_decref(W.h, W.other);
    assert_int_equal(W.cb_runs[5], 4);
    assert_int_equal(W.errors, 0);
}

/* Dying objects take no new weak reference: garbage in its finalizer. */
static void test_refusals(void **state) {
    (void)state;
    void *c = tagged(W.clinger, 1, 0);
    gpugc_set_ref(W.h, c, 0, c);
    gpugc_decref(W.h, c);
    assert_int_equal(gpugc_collect(W.h, 0), 1);
    assert_int_equal(W.fin_weak_status, GPUGC_EBUSY);
    assert_int_equal(W.errors, 1);

    void *a = tagged(W.node, 0, 1);
    assert_null(gpugc_weakref_new(NULL, a, NULL, NULL));
    assert_null(gpugc_weakref_new(W.h, NULL, NULL, NULL));
    static uint64_t buffer[4];
    assert_null(gpugc_weakref_new(W.h, &buffer[2], NULL, NULL));
    assert_null(gpugc_weakref_get(W.h, NULL));
    assert_null(gpugc_weakref_get(W.h, (gpugc_weakref *)&buffer[0]));
    gpugc_weakref_free(W.h, (gpugc_weakref *)&buffer[0]);
    assert_int_equal(W.errors, 7);

    /* Another heap's weak reference is refused by this one. */
    gpugc_heap *h2 = heap_manual();
    void *x = gpugc_new(h2, GPUGC_TYPE_OBJECT, 0, 8);
    gpugc_weakref *w2 = gpugc_weakref_new(h2, x, NULL, NULL);
    assert_non_null(w2);
    assert_null(gpugc_weakref_get(W.h, w2));
    assert_int_equal(W.errors, 8);
    gpugc_heap_free(h2); /* frees w2 too */

    /* Out of memory: nothing made, nothing changed. */
    gpugc_inject_fault(W.h, GPUGC_FAULT_ALLOC, 0);
    assert_null(gpugc_weakref_new(W.h, a, NULL, NULL));
    assert_int_equal(W.last_status, GPUGC_ENOMEM);
    assert_int_equal(gpugc_weakref_count(W.h, a), 0);
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    gpugc_decref(W.h, a);
}

/* Immortal referents never die; weak references to objects that live on
 * at gpugc_heap_free are freed with the heap, without callbacks. */
static void test_immortal_and_heap_free(void **state) {
    (void)state;
    void *a = tagged(W.node, 0, 0);
    assert_int_equal(gpugc_make_immortal(W.h, a), GPUGC_OK);
    gpugc_weakref *w = weak(a, 0);
    gpugc_decref(W.h, a);
    assert_int_equal(gpugc_collect(W.h, 2), 0);
    assert_ptr_equal(gpugc_weakref_get(W.h, w), a);
    assert_int_equal(gpugc_refcount(W.h, a), GPUGC_IMMORTAL_REFCOUNT);
    void *b = tagged(W.node, 0, 1);
    weak(b, 1);
    weak(b, 2);
    gpugc_heap_free(W.h);
    W.h = NULL;
    assert_int_equal(W.cb_runs[0] + W.cb_runs[1] + W.cb_runs[2], 0);
}

/* Many objects with weak references: the lists grow with the id arrays. */
static void test_many(void **state) {
    (void)state;
    enum { N = 5000 };
    static gpugc_weakref *ws[N];
    for (int i = 0; i < N; i++) {
        void *p = gpugc_new(W.h, GPUGC_TYPE_OBJECT, 1, 8);
        ws[i] = gpugc_weakref_new(W.h, p, NULL, NULL);
        assert_non_null(ws[i]);
        gpugc_set_ref(W.h, p, 0, p);
        gpugc_decref(W.h, p);
    }
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    assert_int_equal(gpugc_collect(W.h, 0), N);
    for (int i = 0; i < N; i++) {
        assert_null(gpugc_weakref_get(W.h, ws[i]));
        gpugc_weakref_free(W.h, ws[i]);
    }
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
}

/* Objects freed in one cascade: when the first one's callback runs, the
 * second is already dead (count zero, waiting its turn), so its weak
 * reference reads NULL even before it is cleared. */
static gpugc_weakref *other_weak;
static int other_read;

static void read_other_cb(gpugc_heap *h, gpugc_weakref *w, void *data) {
    (void)w;
    (void)data;
    void *p = gpugc_weakref_get(h, other_weak);
    other_read += p != NULL;
    if (p)
        gpugc_decref(h, p);
}

static void test_cascade_siblings(void **state) {
    (void)state;
    void *parent = tagged(W.node, 2, 0), *x = tagged(W.node, 0, 1), *y = tagged(W.node, 0, 2);
    gpugc_set_ref(W.h, parent, 0, x);
    gpugc_set_ref(W.h, parent, 1, y);
    gpugc_decref(W.h, x);
    gpugc_decref(W.h, y);
    gpugc_weakref *wx = gpugc_weakref_new(W.h, x, read_other_cb, NULL);
    gpugc_weakref *wy = gpugc_weakref_new(W.h, y, read_other_cb, NULL);
    assert_non_null(wx);
    assert_non_null(wy);
    other_weak = wx; /* y's callback reads x's weak reference... */
    other_read = 0;
    gpugc_decref(W.h, parent);
    assert_int_equal(other_read, 0); /* ...dead, whichever went first */
    assert_int_equal(gpugc_object_count(W.h), 0);
    assert_null(gpugc_weakref_get(W.h, wx));
    gpugc_weakref_free(W.h, wx);
    gpugc_weakref_free(W.h, wy);
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    assert_int_equal(W.errors, 0);
}

/* A referent whose type has no finalizer or destructor still has its weak
 * references cleared and called back when it dies, alone or in a cascade:
 * the release takes its slow path for the weak reference alone. */
static void test_plain_referent(void **state) {
    (void)state;
    void *holder = gpugc_new(W.h, GPUGC_TYPE_OBJECT, 1, 8);
    void *a = gpugc_new(W.h, GPUGC_TYPE_OBJECT, 0, 8), *b = gpugc_new(W.h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_non_null(holder);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(gpugc_give_ref(W.h, holder, 0, b), GPUGC_OK);
    gpugc_weakref *wa = weak(a, 0), *wb = weak(b, 1);
    gpugc_decref(W.h, a);
    assert_int_equal(W.cb_runs[0], 1);
    assert_int_equal(W.cb_saw_null[0], 1);
    assert_null(gpugc_weakref_get(W.h, wa));
    gpugc_decref(W.h, holder); /* b dies in the cascade */
    assert_int_equal(W.cb_runs[1], 1);
    assert_int_equal(W.cb_saw_null[1], 1);
    assert_null(gpugc_weakref_get(W.h, wb));
    assert_int_equal(gpugc_object_count(W.h), 0);
    assert_int_equal(gpugc_validate(W.h), GPUGC_OK);
    gpugc_weakref_free(W.h, wa);
    gpugc_weakref_free(W.h, wb);
    assert_int_equal(W.errors, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        CASE(test_get_and_refcount_death),
        CASE(test_cycle_death),
        CASE(test_resurrection),
        CASE(test_meddling_callbacks),
        CASE(test_refusals),
        CASE(test_immortal_and_heap_free),
        CASE(test_many),
        CASE(test_cascade_siblings),
        CASE(test_plain_referent),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

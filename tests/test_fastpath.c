/* test_fastpath.c - the fast paths refuse what the full calls refuse.
 *
 * gpugc_incref, gpugc_decref, gpugc_get_ref, gpugc_set_ref, gpugc_give_ref
 * and gpugc_nrefs run inline in this program (gpugc.h's macros) unless it is
 * built with GPUGC_NO_INLINE, as the second build of this file is (test
 * fastpath_noinline); behind both sit
 * the library's own fast paths.  Each case hands them what must fail: a
 * freed object, an object whose count is zero, another heap's object, a
 * pointer into a payload or no heap's memory, a count at its limit, a slot
 * out of range, a NULL heap or object; and checks the status, that the
 * error was reported, and that nothing changed.  It also checks the cases
 * the inline paths pass on (a decref to zero, immortal objects). */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static int reports, last_status;

static void on_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    (void)data;
    reports++;
    last_status = status;
}

/* A heap without automatic collection, its errors counted. */
static gpugc_heap *heap_counted(void) {
    gpugc_heap *h = heap_manual();
    gpugc_set_error_handler(h, on_error, NULL);
    reports = 0;
    last_status = GPUGC_OK;
    return h;
}

/* Exactly one error, `status`, was reported since the last check. */
static void expect_error(gpugc_heap *h, int status) {
    assert_int_equal(reports, 1);
    assert_int_equal(last_status, status);
    assert_int_equal(gpugc_last_error(h), status);
    reports = 0;
    last_status = GPUGC_OK;
}

/* The six calls on obj, each refused with `status`, set_ref's and
 * give_ref's with obj as the holder and (unless NULL, which clears a slot)
 * as the target;
 * obj's heap (h) unchanged: its object count and the count and empty
 * slot 0 of `probe`, one of its objects. */
static void expect_refused(gpugc_heap *h, void *obj, int status, void *probe) {
    size_t objects = gpugc_object_count(h);
    size_t count = gpugc_refcount(h, probe);
    gpugc_incref(h, obj);
    expect_error(h, status);
    gpugc_decref(h, obj);
    expect_error(h, status);
    assert_null(gpugc_get_ref(h, obj, 0));
    expect_error(h, status);
    assert_int_equal(gpugc_nrefs(h, obj), 0);
    expect_error(h, status);
    assert_int_equal(gpugc_set_ref(h, obj, 0, probe), status);
    expect_error(h, status);
    assert_int_equal(gpugc_give_ref(h, obj, 0, probe), status);
    expect_error(h, status);
    if (obj) {
        assert_int_equal(gpugc_set_ref(h, probe, 0, obj), status);
        expect_error(h, status);
        assert_int_equal(gpugc_give_ref(h, probe, 0, obj), status);
        expect_error(h, status);
    }
    assert_null(gpugc_get_ref(h, probe, 0));
    assert_int_equal(reports, 0);
    assert_int_equal(gpugc_object_count(h), objects);
    assert_int_equal(gpugc_refcount(h, probe), count);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
}

static void test_counts_and_slots_pass(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 2, 16), *b = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_set_ref(h, a, 1, b), GPUGC_OK);
    assert_null(gpugc_get_ref(h, a, 0));
    assert_ptr_equal(gpugc_get_ref(h, a, 1), b);
    assert_int_equal(gpugc_nrefs(h, a), 2);
    assert_int_equal(gpugc_nrefs(h, b), 0);
    for (int k = 0; k < 1000; k++)
        gpugc_incref(h, b);
    assert_int_equal(gpugc_refcount(h, b), 1002);
    for (int k = 0; k < 1000; k++)
        gpugc_decref(h, b);
    assert_int_equal(gpugc_refcount(h, b), 2);
    /* To zero: the library frees, and the slot's reference goes with a. */
    gpugc_decref(h, b);
    assert_int_equal(gpugc_object_count(h), 2);
    /* A store that drops the last count of the slot's old target frees it. */
    void *c = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_set_ref(h, a, 0, c), GPUGC_OK);
    gpugc_decref(h, c);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_object_count(h), 2);
    assert_int_equal(gpugc_refcount(h, b), 2);
    assert_int_equal(gpugc_set_ref(h, a, 0, NULL), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, b), 1);
    gpugc_decref(h, a);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(reports, 0);
    gpugc_heap_free(h);
}

/* give_ref moves the caller's reference into the slot. */
static void test_give_ref(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 2, 16), *b = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_int_equal(gpugc_give_ref(h, a, 0, b), GPUGC_OK); /* b's count: the slot's */
    assert_int_equal(gpugc_refcount(h, b), 1);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), b);
    /* The slot's own target, given with a count of the caller's... */
    gpugc_incref(h, b);
    assert_int_equal(gpugc_give_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, b), 1);
    /* ...and without one: refused, nothing changes. */
    assert_int_equal(gpugc_give_ref(h, a, 0, b), GPUGC_EUNDERFLOW);
    expect_error(h, GPUGC_EUNDERFLOW);
    assert_int_equal(gpugc_refcount(h, b), 1);
    assert_ptr_equal(gpugc_get_ref(h, a, 0), b);
    /* Replacing the only reference to b frees it. */
    void *c = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_give_ref(h, a, 0, c), GPUGC_OK);
    assert_int_equal(gpugc_object_count(h), 2);
    assert_int_equal(gpugc_refcount(h, c), 1);
    /* Out of range: refused, the reference is still the caller's. */
    void *d = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_give_ref(h, a, 2, d), GPUGC_ERANGE);
    expect_error(h, GPUGC_ERANGE);
    assert_int_equal(gpugc_refcount(h, d), 1);
    /* An immortal target keeps its count; NULL clears the slot. */
    assert_int_equal(gpugc_make_immortal(h, d), GPUGC_OK);
    assert_int_equal(gpugc_give_ref(h, a, 1, d), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, d), GPUGC_IMMORTAL_REFCOUNT);
    assert_int_equal(gpugc_give_ref(h, a, 0, NULL), GPUGC_OK);
    assert_int_equal(gpugc_object_count(h), 2);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_decref(h, a);
    assert_int_equal(reports, 0);
    gpugc_heap_free(h);
}

static void test_freed_object(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    /* y keeps the pool mapped, so x's header can still be read. */
    void *x = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16), *y = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    gpugc_decref(h, x);
    expect_refused(h, x, GPUGC_ENOTOBJ, y);
    gpugc_decref(h, y);
    gpugc_heap_free(h);
}

/* A destroy callback sees its object with count zero: it may take no new
 * reference and has none to drop. */
static gpugc_heap *dying_heap;
static void *dying_holder;
static int dying_incref_status, dying_decref_status, dying_store_status;

static void destroy_touches_self(gpugc_heap *h, void *obj) {
    (void)h;
    reports = 0;
    dying_store_status = gpugc_set_ref(dying_heap, dying_holder, 0, obj);
    if (reports != 1)
        dying_store_status = GPUGC_OK;
    reports = 0;
    gpugc_incref(dying_heap, obj);
    dying_incref_status = reports == 1 ? last_status : GPUGC_OK;
    reports = 0;
    gpugc_decref(dying_heap, obj);
    dying_decref_status = reports == 1 ? last_status : GPUGC_OK;
    reports = 0;
}

static void test_object_whose_count_is_zero(void **state) {
    (void)state;
    gpugc_heap *h = dying_heap = heap_counted();
    gpugc_type_desc d = {.name = "dying", .destroy = destroy_touches_self};
    gpugc_type t = gpugc_type_register(h, &d);
    void *o = gpugc_new(h, t, 1, 16);
    dying_holder = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    gpugc_decref(h, o);
    assert_int_equal(dying_incref_status, GPUGC_ENOTOBJ);
    assert_int_equal(dying_decref_status, GPUGC_EUNDERFLOW);
    assert_int_equal(dying_store_status, GPUGC_ENOTOBJ);
    assert_null(gpugc_get_ref(h, dying_holder, 0));
    gpugc_decref(h, dying_holder);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
}

static void test_object_of_another_heap(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted(), *h2 = heap_manual();
    void *mine = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    void *theirs = gpugc_new(h2, GPUGC_TYPE_OBJECT, 1, 16);
    expect_refused(h, theirs, GPUGC_ENOTOBJ, mine);
    assert_int_equal(gpugc_refcount(h2, theirs), 1);
    assert_int_equal(gpugc_validate(h2), GPUGC_OK);
    gpugc_decref(h, mine);
    gpugc_decref(h2, theirs);
    gpugc_heap_free(h2);
    gpugc_heap_free(h);
}

static void test_no_object_memory(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 64);
    alignas(16) unsigned char buf[64];
    memset(buf, 0, sizeof buf); /* a header of zeros names id 0 */
    expect_refused(h, buf + 16, GPUGC_ENOTOBJ, o);
    memset(buf, 0xa5, sizeof buf);
    expect_refused(h, buf + 16, GPUGC_ENOTOBJ, o);
    /* Into o's zeroed payload: get_ref checks fully in every build. */
    assert_null(gpugc_get_ref(h, (char *)o + 16, 0));
    expect_error(h, GPUGC_ENOTOBJ);
    assert_int_equal(gpugc_nrefs(h, (char *)o + 16), 0);
    expect_error(h, GPUGC_ENOTOBJ);
    /* A copy of another object's header passes the header check; the
     * payload's address, which get_ref, nrefs and set_ref's holder check,
     * is not that object's. */
    void *other = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    memcpy((char *)o + 8, (const void *)((uintptr_t)other - 8), 8); /* past ALLOC_SIZE's view */
    assert_null(gpugc_get_ref(h, (char *)o + 16, 0));
    expect_error(h, GPUGC_ENOTOBJ);
    assert_int_equal(gpugc_nrefs(h, (char *)o + 16), 0);
    expect_error(h, GPUGC_ENOTOBJ);
    assert_int_equal(gpugc_set_ref(h, (char *)o + 16, 0, o), GPUGC_ENOTOBJ);
    expect_error(h, GPUGC_ENOTOBJ);
    assert_int_equal(gpugc_refcount(h, o), 1);
    assert_null(gpugc_get_ref(h, other, 0));
    gpugc_decref(h, other);
    gpugc_decref(h, o);
    gpugc_heap_free(h);
}

static void test_null_heap_and_object(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    expect_refused(h, NULL, GPUGC_EINVAL, o);
    gpugc_incref(NULL, o);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_EINVAL);
    gpugc_decref(NULL, o);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_EINVAL);
    assert_null(gpugc_get_ref(NULL, o, 0));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_nrefs(NULL, o), 0);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_refcount(h, o), 1);
    gpugc_decref(h, o);
    gpugc_heap_free(h);
}

static void test_slot_out_of_range(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 2, 16), *leaf = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_set_ref(h, o, 1, leaf), GPUGC_OK);
    assert_null(gpugc_get_ref(h, o, 2));
    expect_error(h, GPUGC_ERANGE);
    assert_null(gpugc_get_ref(h, o, UINT32_MAX));
    expect_error(h, GPUGC_ERANGE);
    assert_null(gpugc_get_ref(h, leaf, 0));
    expect_error(h, GPUGC_ERANGE);
    assert_int_equal(gpugc_set_ref(h, o, 2, leaf), GPUGC_ERANGE);
    expect_error(h, GPUGC_ERANGE);
    assert_int_equal(gpugc_set_ref(h, leaf, 0, o), GPUGC_ERANGE);
    expect_error(h, GPUGC_ERANGE);
    assert_int_equal(gpugc_refcount(h, leaf), 2);
    assert_int_equal(gpugc_refcount(h, o), 1);
    /* Replacing moves both counts (inline while the old target keeps
     * one); clearing passes on to the library, which drops the count. */
    assert_int_equal(gpugc_set_ref(h, o, 1, o), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, leaf), 1);
    assert_int_equal(gpugc_set_ref(h, o, 1, NULL), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, o), 1);
    assert_int_equal(gpugc_set_ref(h, o, 1, leaf), GPUGC_OK);
    gpugc_decref(h, leaf);
    gpugc_decref(h, o);
    gpugc_heap_free(h);
}

static void test_immortal_counts_never_move(void **state) {
    (void)state;
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    assert_int_equal(gpugc_make_immortal(h, o), GPUGC_OK);
    for (int k = 0; k < 3; k++) {
        gpugc_decref(h, o);
        gpugc_incref(h, o);
        gpugc_decref(h, o);
    }
    assert_int_equal(gpugc_refcount(h, o), GPUGC_IMMORTAL_REFCOUNT);
    assert_int_equal(reports, 0);
    gpugc_heap_free(h);
}

/* 2^31 - 1 increfs: seconds on the inline path and the library's fast
 * path, minutes through a GPUGC_DEBUG library's fully checked calls, where
 * it is left out. */
static void test_count_at_its_limit(void **state) {
    (void)state;
#ifdef GPUGC_TEST_LIBRARY_DEBUG
    skip();
#else
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16), *holder = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    for (uint32_t c = 1; c < GPUGC_MAX_REFCOUNT; c++)
        gpugc_incref(h, o);
    assert_int_equal(gpugc_refcount(h, o), GPUGC_MAX_REFCOUNT);
    assert_int_equal(reports, 0);
    gpugc_incref(h, o);
    expect_error(h, GPUGC_EOVERFLOW);
    assert_int_equal(gpugc_set_ref(h, holder, 0, o), GPUGC_EOVERFLOW);
    expect_error(h, GPUGC_EOVERFLOW);
    assert_int_equal(gpugc_refcount(h, o), GPUGC_MAX_REFCOUNT);
    /* At the limit the inline decref passes on to the library, which
     * counts down as usual. */
    gpugc_decref(h, o);
    assert_int_equal(gpugc_refcount(h, o), GPUGC_MAX_REFCOUNT - 1);
    gpugc_incref(h, o);
    assert_int_equal(gpugc_refcount(h, o), GPUGC_MAX_REFCOUNT);
    assert_int_equal(reports, 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    /* gpugc_heap_free releases o, whatever its count. */
    gpugc_heap_free(h);
#endif
}

/* The addresses of the functions behind the macros are the library's. */
static void test_functions_exist(void **state) {
    (void)state;
    void (*inc)(gpugc_heap *, void *) = gpugc_incref;
    void (*dec)(gpugc_heap *, void *) = gpugc_decref;
    void *(*get)(const gpugc_heap *, const void *, uint32_t) = gpugc_get_ref;
    int (*set)(gpugc_heap *, void *, uint32_t, void *) = gpugc_set_ref;
    uint32_t (*nrefs)(const gpugc_heap *, const void *) = gpugc_nrefs;
    int (*give)(gpugc_heap *, void *, uint32_t, void *) = gpugc_give_ref;
    gpugc_heap *h = heap_counted();
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    inc(h, o);
    assert_int_equal(gpugc_refcount(h, o), 2);
    dec(h, o);
    assert_int_equal(nrefs(h, o), 1);
    assert_int_equal(set(h, o, 0, o), GPUGC_OK);
    assert_ptr_equal(get(h, o, 0), o);
    assert_int_equal(set(h, o, 0, NULL), GPUGC_OK);
    assert_null(get(h, o, 0));
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(give(h, o, 0, p), GPUGC_OK);
    assert_int_equal(gpugc_refcount(h, p), 1);
    dec(h, o);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(reports, 0);
    gpugc_heap_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_slots_pass),
        cmocka_unit_test(test_give_ref),
        cmocka_unit_test(test_freed_object),
        cmocka_unit_test(test_object_whose_count_is_zero),
        cmocka_unit_test(test_object_of_another_heap),
        cmocka_unit_test(test_no_object_memory),
        cmocka_unit_test(test_null_heap_and_object),
        cmocka_unit_test(test_slot_out_of_range),
        cmocka_unit_test(test_immortal_counts_never_move),
        cmocka_unit_test(test_count_at_its_limit),
        cmocka_unit_test(test_functions_exist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

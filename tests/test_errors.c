/* test_errors.c - misuse gets a clear error and changes nothing.
 *
 * Every case checks the returned status, the one report to the installed
 * error handler (heap, status, a message naming the function), the
 * last-error calls and gpugc_clear_error, and that the heap is unchanged:
 * gpugc_validate passes and counts, slots and memory figures are as before.
 * Also: backend selection errors (GPUGC_BACKEND, unavailable backends),
 * backend names, gpugc_strerror and the default handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpugc.h"

/* ---- the recording error handler ------------------------------------------ */

static struct {
    size_t calls;
    gpugc_heap *heap;
    int status;
    char message[512];
} rec;

static void record_error(gpugc_heap *h, int status, const char *message, void *data) {
    assert_ptr_equal(data, &rec);
    rec.calls++;
    rec.heap = h;
    rec.status = status;
    snprintf(rec.message, sizeof rec.message, "%s", message ? message : "");
}

static void reset_record(void) {
    memset(&rec, 0, sizeof rec);
}

/* The last call failed with `status` (or `alt`, when two are acceptable),
 * reported once to the handler of heap h, with a message naming `fn`; the
 * last-error calls agree, and gpugc_clear_error resets them. */
static void check_error2(gpugc_heap *h, int status, int alt, const char *fn) {
    assert_int_equal(rec.calls, 1);
    assert_ptr_equal(rec.heap, h);
    if (rec.status != status && rec.status != alt)
        fail_msg("status %d (%s), expected %d (%s)", rec.status,
                 gpugc_strerror(rec.status), status, gpugc_strerror(status));
    if (strstr(rec.message, fn) == NULL)
        fail_msg("message \"%s\" does not mention %s", rec.message, fn);

    assert_int_equal(gpugc_last_error(h), rec.status);
    const char *msg = gpugc_last_error_message(h);
    assert_non_null(msg);
    if (strstr(msg, fn) == NULL)
        fail_msg("last error message \"%s\" does not mention %s", msg, fn);

    gpugc_clear_error(h);
    assert_int_equal(gpugc_last_error(h), GPUGC_OK);
    assert_string_equal(gpugc_last_error_message(h), "");
    reset_record();
}

static void check_error(gpugc_heap *h, int status, const char *fn) {
    check_error2(h, status, status, fn);
}

/* ---- fixture: a small heap and a snapshot of everything observable --------- */

typedef struct {
    size_t count;
    size_t rc[3];
    uint32_t nrefs[3];
    void *slot[2]; /* a's slots */
    gpugc_memory_stats mem;
} snapshot;

typedef struct {
    gpugc_heap *h;
    void *a; /* 2 slots: slot 0 -> b, slot 1 NULL; 32-byte payload */
    void *b; /* no slots, 16-byte payload */
    void *c; /* 1 slot, 64-byte zeroed payload */
    snapshot before;
} fixture;

static void take(const fixture *f, snapshot *s) {
    void *objs[3] = {f->a, f->b, f->c};
    memset(s, 0, sizeof *s);
    s->count = gpugc_object_count(f->h);
    for (int i = 0; i < 3; i++) {
        s->rc[i] = gpugc_refcount(f->h, objs[i]);
        s->nrefs[i] = gpugc_nrefs(f->h, objs[i]);
    }
    for (uint32_t i = 0; i < 2; i++)
        s->slot[i] = gpugc_get_ref(f->h, f->a, i);
    assert_int_equal(gpugc_memory_stats_get(f->h, &s->mem, sizeof s->mem), GPUGC_OK);
}

/* The heap is valid and looks exactly as at the last take(). */
static void assert_unchanged(const fixture *f) {
    const snapshot *b = &f->before;
    snapshot now;
    take(f, &now);
    assert_int_equal(gpugc_validate(f->h), GPUGC_OK);
    assert_int_equal(now.count, b->count);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(now.rc[i], b->rc[i]);
        assert_int_equal(now.nrefs[i], b->nrefs[i]);
    }
    assert_ptr_equal(now.slot[0], b->slot[0]);
    assert_ptr_equal(now.slot[1], b->slot[1]);
    assert_int_equal(now.mem.arenas, b->mem.arenas);
    assert_int_equal(now.mem.large_objects, b->mem.large_objects);
    assert_int_equal(now.mem.large_bytes, b->mem.large_bytes);
    assert_int_equal(now.mem.metadata_bytes, b->mem.metadata_bytes);
    assert_int_equal(now.mem.slots_used, b->mem.slots_used);
    assert_int_equal(now.mem.slots_free, b->mem.slots_free);
    assert_int_equal(gpugc_last_error(f->h), GPUGC_OK);
    assert_int_equal(rec.calls, 0);
}

static int group_setup(void **state) {
    (void)state;
    /* Process-wide: errors with no heap, and the default of new heaps. */
    gpugc_set_error_handler(NULL, record_error, &rec);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

static int setup(void **state) {
    static fixture f;
    memset(&f, 0, sizeof f);
    f.h = heap_manual();
    f.a = gpugc_new(f.h, GPUGC_TYPE_OBJECT, 2, 32);
    f.b = gpugc_new(f.h, GPUGC_TYPE_OBJECT, 0, 16);
    f.c = gpugc_new(f.h, GPUGC_TYPE_OBJECT, 1, 64);
    assert_non_null(f.a);
    assert_non_null(f.b);
    assert_non_null(f.c);
    assert_int_equal(gpugc_set_ref(f.h, f.a, 0, f.b), GPUGC_OK);
    take(&f, &f.before);
    gpugc_clear_error(f.h);
    gpugc_clear_error(NULL);
    reset_record();
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    assert_int_equal(gpugc_validate(f->h), GPUGC_OK);
    gpugc_heap_free(f->h);
    return 0;
}

/* ---- slots, types, generations ------------------------------------------------ */

static void test_slot_out_of_range(void **state) {
    fixture *f = *state;
    assert_int_equal(gpugc_set_ref(f->h, f->a, 2, f->b), GPUGC_ERANGE);
    check_error(f->h, GPUGC_ERANGE, "set_ref");
    assert_int_equal(gpugc_set_ref(f->h, f->a, UINT32_MAX, NULL), GPUGC_ERANGE);
    check_error(f->h, GPUGC_ERANGE, "set_ref");
    assert_int_equal(gpugc_set_ref(f->h, f->b, 0, f->a), GPUGC_ERANGE);
    check_error(f->h, GPUGC_ERANGE, "set_ref");

    assert_null(gpugc_get_ref(f->h, f->a, 2));
    check_error(f->h, GPUGC_ERANGE, "get_ref");
    assert_null(gpugc_get_ref(f->h, f->b, 0));
    check_error(f->h, GPUGC_ERANGE, "get_ref");
    assert_unchanged(f);
}

static void test_unknown_type(void **state) {
    fixture *f = *state;
    assert_null(gpugc_new(f->h, 99, 1, 8));
    check_error(f->h, GPUGC_ETYPE, "new");
    assert_null(gpugc_new(f->h, (gpugc_type)-1, 0, 8));
    check_error(f->h, GPUGC_ETYPE, "new");
    assert_unchanged(f);
}

static void test_collect_generation_out_of_range(void **state) {
    fixture *f = *state;
    const int bad[] = {-1, 3, 100, INT32_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gpugc_collect(f->h, bad[i]), GPUGC_EINVAL);
        check_error(f->h, GPUGC_EINVAL, "collect");
    }
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(f->h, &st, sizeof st), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "last_collection");
    assert_unchanged(f);
}

/* ---- NULL heap, NULL object ---------------------------------------------------- */

static void test_null_heap(void **state) {
    fixture *f = *state;
    gpugc_collection_stats st;
    gpugc_memory_stats ms;
    gpugc_size_class_stats cs;
    gpugc_type_desc desc = {.name = "T"};

    assert_null(gpugc_new(NULL, GPUGC_TYPE_OBJECT, 0, 8));
    check_error(NULL, GPUGC_EINVAL, "new");
    gpugc_incref(NULL, f->a);
    check_error(NULL, GPUGC_EINVAL, "incref");
    gpugc_decref(NULL, f->a);
    check_error(NULL, GPUGC_EINVAL, "decref");
    assert_int_equal(gpugc_refcount(NULL, f->a), 0);
    check_error(NULL, GPUGC_EINVAL, "refcount");
    assert_int_equal(gpugc_set_ref(NULL, f->a, 1, f->b), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "set_ref");
    assert_null(gpugc_get_ref(NULL, f->a, 0));
    check_error(NULL, GPUGC_EINVAL, "get_ref");
    assert_int_equal(gpugc_nrefs(NULL, f->a), 0);
    check_error(NULL, GPUGC_EINVAL, "nrefs");
    assert_int_equal(gpugc_resize_refs(NULL, f->a, 5), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "resize_refs");
    assert_int_equal(gpugc_collect(NULL, 0), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "collect");
    assert_int_equal(gpugc_type_register(NULL, &desc), (gpugc_type)-1);
    check_error(NULL, GPUGC_EINVAL, "type_register");
    assert_int_equal(gpugc_type_of(NULL, f->a), (gpugc_type)-1);
    check_error(NULL, GPUGC_EINVAL, "type_of");
    assert_int_equal(gpugc_object_count(NULL), 0);
    check_error(NULL, GPUGC_EINVAL, "object_count");
    gpugc_enable(NULL);
    check_error(NULL, GPUGC_EINVAL, "enable");
    gpugc_disable(NULL);
    check_error(NULL, GPUGC_EINVAL, "disable");
    int enabled = gpugc_isenabled(NULL); /* not a yes: 0 or a negative status */
    assert_true(enabled == 0 || enabled == GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "isenabled");
    (void)gpugc_heap_backend(NULL);
    check_error(NULL, GPUGC_EINVAL, "heap_backend");
    assert_int_equal(gpugc_last_collection(NULL, &st, sizeof st), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "last_collection");
    assert_int_equal(gpugc_memory_stats_get(NULL, &ms, sizeof ms), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "memory_stats");
    assert_int_equal(gpugc_size_class_stats_get(NULL, 0, &cs, sizeof cs), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "size_class_stats");
    assert_int_equal(gpugc_validate(NULL), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "validate");
    assert_int_equal(gpugc_inject_fault(NULL, GPUGC_FAULT_ALLOC, 0), GPUGC_EINVAL);
    check_error(NULL, GPUGC_EINVAL, "inject_fault");

    gpugc_heap_free(NULL); /* documented as ignored: no error */
    assert_int_equal(rec.calls, 0);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_OK);
    assert_unchanged(f);
}

static void test_null_object(void **state) {
    fixture *f = *state;
    gpugc_size_class_stats cs;

    gpugc_incref(f->h, NULL);
    check_error(f->h, GPUGC_EINVAL, "incref");
    gpugc_decref(f->h, NULL);
    check_error(f->h, GPUGC_EINVAL, "decref");
    assert_int_equal(gpugc_refcount(f->h, NULL), 0);
    check_error(f->h, GPUGC_EINVAL, "refcount");
    assert_int_equal(gpugc_set_ref(f->h, NULL, 0, f->b), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "set_ref");
    assert_null(gpugc_get_ref(f->h, NULL, 0));
    check_error(f->h, GPUGC_EINVAL, "get_ref");
    assert_int_equal(gpugc_nrefs(f->h, NULL), 0);
    check_error(f->h, GPUGC_EINVAL, "nrefs");
    assert_int_equal(gpugc_resize_refs(f->h, NULL, 1), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "resize_refs");
    assert_int_equal(gpugc_type_of(f->h, NULL), (gpugc_type)-1);
    check_error(f->h, GPUGC_EINVAL, "type_of");
    assert_int_equal(gpugc_type_register(f->h, NULL), (gpugc_type)-1);
    check_error(f->h, GPUGC_EINVAL, "type_register");
    assert_int_equal(gpugc_last_collection(f->h, NULL, sizeof(gpugc_collection_stats)),
                     GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "last_collection");
    assert_int_equal(gpugc_memory_stats_get(f->h, NULL, sizeof(gpugc_memory_stats)), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "memory_stats");
    assert_int_equal(gpugc_size_class_stats_get(f->h, 0, NULL, sizeof(gpugc_size_class_stats)), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "size_class_stats");
    assert_int_equal(gpugc_size_class_stats_get(f->h, GPUGC_SIZE_CLASSES, &cs, sizeof cs), GPUGC_EINVAL);
    check_error(f->h, GPUGC_EINVAL, "size_class_stats");
    assert_unchanged(f);
}

/* ---- pointers that are no object of this heap ------------------------------------ */

/* Every object-taking call rejects p with GPUGC_ENOTOBJ, including as a
 * set_ref target (the slot keeps its old value).  incref/decref are checked
 * when `with_counts`. */
static void check_not_object(fixture *f, void *p, int with_counts) {
    if (with_counts) {
        gpugc_incref(f->h, p);
        check_error(f->h, GPUGC_ENOTOBJ, "incref");
        gpugc_decref(f->h, p);
        check_error(f->h, GPUGC_ENOTOBJ, "decref");
    }
    assert_int_equal(gpugc_refcount(f->h, p), 0);
    check_error(f->h, GPUGC_ENOTOBJ, "refcount");
    assert_int_equal(gpugc_set_ref(f->h, p, 0, NULL), GPUGC_ENOTOBJ);
    check_error(f->h, GPUGC_ENOTOBJ, "set_ref");
    assert_null(gpugc_get_ref(f->h, p, 0));
    check_error(f->h, GPUGC_ENOTOBJ, "get_ref");
    assert_int_equal(gpugc_nrefs(f->h, p), 0);
    check_error(f->h, GPUGC_ENOTOBJ, "nrefs");
    assert_int_equal(gpugc_resize_refs(f->h, p, 3), GPUGC_ENOTOBJ);
    check_error(f->h, GPUGC_ENOTOBJ, "resize_refs");
    assert_int_equal(gpugc_type_of(f->h, p), (gpugc_type)-1);
    check_error(f->h, GPUGC_ENOTOBJ, "type_of");

    /* As a target: over a non-empty slot and over an empty one. */
    assert_int_equal(gpugc_set_ref(f->h, f->a, 0, p), GPUGC_ENOTOBJ);
    check_error(f->h, GPUGC_ENOTOBJ, "set_ref");
    assert_int_equal(gpugc_set_ref(f->h, f->a, 1, p), GPUGC_ENOTOBJ);
    check_error(f->h, GPUGC_ENOTOBJ, "set_ref");
    assert_unchanged(f);
}

static void test_stack_buffer_is_no_object(void **state) {
    fixture *f = *state;
    alignas(16) char buf[64];
    memset(buf, 0, sizeof buf); /* a header of zeros names id 0 */
    check_not_object(f, buf + 16, 1);
    memset(buf, 0xa5, sizeof buf);
    check_not_object(f, buf + 16, 1);
}

static void test_pointer_into_payload_is_no_object(void **state) {
    fixture *f = *state;
    /* In the middle of c's zeroed payload; incref/decref only validate
     * this fully in GPUGC_DEBUG builds of the library. */
    check_not_object(f, (char *)f->c + 16, 0);
    check_not_object(f, (char *)f->c + 32, 0);
    check_not_object(f, (char *)f->a + 8, 0);
}

static void test_object_of_another_heap(void **state) {
    fixture *f = *state;
    gpugc_heap *h2 = heap_manual();
    void *o2 = gpugc_new(h2, GPUGC_TYPE_OBJECT, 1, 16);
    assert_non_null(o2);

    check_not_object(f, o2, 1);
    /* h's target in h2's slot: reported to h2. */
    assert_int_equal(gpugc_set_ref(h2, o2, 0, f->b), GPUGC_ENOTOBJ);
    check_error(h2, GPUGC_ENOTOBJ, "set_ref");

    /* Errors stay with their heap. */
    assert_int_equal(gpugc_last_error(f->h), GPUGC_OK);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(f->h, f->a, 9, NULL), GPUGC_ERANGE);
    assert_int_equal(gpugc_last_error(h2), GPUGC_OK);
    assert_int_equal(gpugc_last_error(NULL), GPUGC_OK);
    check_error(f->h, GPUGC_ERANGE, "set_ref");

    assert_int_equal(gpugc_refcount(h2, o2), 1);
    assert_null(gpugc_get_ref(h2, o2, 0));
    assert_int_equal(gpugc_object_count(h2), 1);
    assert_int_equal(gpugc_validate(h2), GPUGC_OK);
    gpugc_heap_free(h2);
    assert_unchanged(f);
}

/* A freed object whose pool is still mapped (its neighbour y keeps it). */
static void test_freed_object(void **state) {
    fixture *f = *state;
    void *x = gpugc_new(f->h, GPUGC_TYPE_OBJECT, 0, 24);
    void *y = gpugc_new(f->h, GPUGC_TYPE_OBJECT, 0, 24);
    assert_non_null(x);
    assert_non_null(y);
    gpugc_decref(f->h, x);
    assert_int_equal(rec.calls, 0);
    take(f, &f->before);

    gpugc_decref(f->h, x);
    check_error(f->h, GPUGC_ENOTOBJ, "decref");
    assert_unchanged(f);
    assert_int_equal(gpugc_refcount(f->h, y), 1);

    assert_int_equal(gpugc_refcount(f->h, x), 0);
    check_error(f->h, GPUGC_ENOTOBJ, "refcount");
    assert_int_equal(gpugc_set_ref(f->h, f->a, 1, x), GPUGC_ENOTOBJ);
    check_error(f->h, GPUGC_ENOTOBJ, "set_ref");
    assert_null(gpugc_get_ref(f->h, x, 0));
    check_error(f->h, GPUGC_ENOTOBJ, "get_ref");
    assert_int_equal(gpugc_nrefs(f->h, x), 0);
    check_error(f->h, GPUGC_ENOTOBJ, "nrefs");
    assert_unchanged(f);
    gpugc_decref(f->h, y);
}

/* ---- limits ------------------------------------------------------------------ */

static void test_too_many_slots(void **state) {
    fixture *f = *state;
    assert_true(gpugc_resize_refs(f->h, f->a, GPUGC_MAX_REFS + 1u) < 0);
    check_error2(f->h, GPUGC_EOVERFLOW, GPUGC_EINVAL, "resize_refs");
    assert_true(gpugc_resize_refs(f->h, f->a, UINT32_MAX) < 0);
    check_error2(f->h, GPUGC_EOVERFLOW, GPUGC_EINVAL, "resize_refs");
    assert_null(gpugc_new(f->h, GPUGC_TYPE_OBJECT, GPUGC_MAX_REFS + 1u, 8));
    check_error2(f->h, GPUGC_EOVERFLOW, GPUGC_EINVAL, "new");
    assert_unchanged(f);
}

static void test_huge_payload(void **state) {
    fixture *f = *state;
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 4095};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_null(gpugc_new(f->h, GPUGC_TYPE_OBJECT, 1, sizes[i]));
        check_error2(f->h, GPUGC_EOVERFLOW, GPUGC_ENOMEM, "new");
    }
    assert_unchanged(f);
}

/* gpugc_collect from a destructor: GPUGC_EBUSY, and the release goes on. */
static gpugc_heap *busy_heap;
static int64_t busy_status;
static void collect_in_destroy(gpugc_heap *h, void *obj) {
    (void)obj;
    busy_heap = h;
    busy_status = gpugc_collect(h, 0);
}

static void test_collect_from_destroy_is_busy(void **state) {
    fixture *f = *state;
    gpugc_type t = gpugc_type_register(f->h, &(gpugc_type_desc){
        .name = "Busy", .destroy = collect_in_destroy});
    assert_int_not_equal(t, (gpugc_type)-1);
    void *o = gpugc_new(f->h, t, 1, 8);
    assert_non_null(o);
    assert_int_equal(gpugc_set_ref(f->h, o, 0, f->b), GPUGC_OK);
    gpugc_decref(f->h, o);
    assert_ptr_equal(busy_heap, f->h);
    assert_int_equal(busy_status, GPUGC_EBUSY);
    check_error(f->h, GPUGC_EBUSY, "collect");
    assert_unchanged(f);
}

/* A destroy that drops a count its object no longer has: the count would go
 * below zero. */
static void decref_self_in_destroy(gpugc_heap *h, void *obj) {
    busy_heap = h;
    gpugc_decref(h, obj);
    busy_status = gpugc_last_error(h);
}

static void test_count_below_zero_is_underflow(void **state) {
    fixture *f = *state;
    gpugc_type t = gpugc_type_register(f->h, &(gpugc_type_desc){
        .name = "Overdrop", .destroy = decref_self_in_destroy});
    assert_int_not_equal(t, (gpugc_type)-1);
    void *o = gpugc_new(f->h, t, 1, 8);
    assert_non_null(o);
    assert_int_equal(gpugc_set_ref(f->h, o, 0, f->b), GPUGC_OK);
    gpugc_decref(f->h, o);
    assert_ptr_equal(busy_heap, f->h);
    assert_int_equal(busy_status, GPUGC_EUNDERFLOW);
    check_error(f->h, GPUGC_EUNDERFLOW, "decref");
    assert_unchanged(f);
}

/* ---- backends ------------------------------------------------------------------- */

/* Runs with GPUGC_BACKEND set to value (NULL: unset), then restores it. */
static char *saved_backend_env;
static void env_backend(const char *value) {
    if (value)
        assert_int_equal(setenv("GPUGC_BACKEND", value, 1), 0);
    else
        assert_int_equal(unsetenv("GPUGC_BACKEND"), 0);
}

static int backend_setup(void **state) {
    const char *v = getenv("GPUGC_BACKEND");
    saved_backend_env = v ? strdup(v) : NULL;
    env_backend(NULL);
    gpugc_clear_error(NULL);
    reset_record();
    *state = NULL;
    return 0;
}

static int backend_teardown(void **state) {
    (void)state;
    env_backend(saved_backend_env);
    free(saved_backend_env);
    saved_backend_env = NULL;
    return 0;
}

static gpugc_heap *heap_on(gpugc_backend b) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = b;
    return gpugc_heap_new(&cfg);
}

static void test_backend_env_bogus(void **state) {
    (void)state;
    env_backend("bogus");
    assert_null(gpugc_heap_new(NULL));
    assert_int_equal(rec.calls, 1);
    assert_non_null(strstr(rec.message, "bogus"));
    check_error(NULL, GPUGC_EBACKEND, "heap_new");
    env_backend(NULL);

    gpugc_heap *h = gpugc_heap_new(NULL);
    assert_non_null(h);
    gpugc_heap_free(h);
    assert_int_equal(rec.calls, 0);
}

static void test_backend_unavailable(void **state) {
    (void)state;
    char why[256];
    assert_int_equal(gpugc_backend_available(GPUGC_BACKEND_CPU, why, sizeof why), GPUGC_OK);
    for (int b = GPUGC_BACKEND_CPU; b <= GPUGC_BACKEND_CUDA; b++) {
        memset(why, 0, sizeof why);
        int avail = gpugc_backend_available((gpugc_backend)b, why, sizeof why);
        gpugc_heap *h = heap_on((gpugc_backend)b);
        if (avail == GPUGC_OK) {
            assert_non_null(h);
            assert_int_equal(gpugc_heap_backend(h), b);
            gpugc_heap_free(h);
            assert_int_equal(rec.calls, 0);
            continue;
        }
        assert_int_equal(avail, GPUGC_ENODEV);
        assert_true(why[0] != '\0');
        assert_null(h);
        assert_true(strlen(gpugc_last_error_message(NULL)) > 0);
        check_error(NULL, GPUGC_ENODEV, "heap_new");

        /* The environment overrides the configured backend, both ways. */
        env_backend("cpu");
        h = heap_on((gpugc_backend)b);
        assert_non_null(h);
        assert_int_equal(gpugc_heap_backend(h), GPUGC_BACKEND_CPU);
        gpugc_heap_free(h);
        env_backend(gpugc_backend_name((gpugc_backend)b));
        assert_null(heap_on(GPUGC_BACKEND_CPU));
        check_error(NULL, GPUGC_ENODEV, "heap_new");
        env_backend(NULL);
    }
}

static void test_backend_auto(void **state) {
    (void)state;
    gpugc_heap *h = heap_on(GPUGC_BACKEND_AUTO);
    assert_non_null(h);
    assert_int_equal(gpugc_backend_available(gpugc_heap_backend(h), NULL, 0), GPUGC_OK);
    gpugc_heap_free(h);

    env_backend("auto");
    h = heap_on(GPUGC_BACKEND_CPU);
    assert_non_null(h);
    assert_int_equal(gpugc_backend_available(gpugc_heap_backend(h), NULL, 0), GPUGC_OK);
    gpugc_heap_free(h);
    assert_int_equal(rec.calls, 0);
}

static void test_backend_names(void **state) {
    (void)state;
    static const char *const names[GPUGC_BACKEND_COUNT] = {
        "auto", "cpu", "cpu-parallel", "opencl", "cuda"};
    for (int b = 0; b < GPUGC_BACKEND_COUNT; b++) {
        const char *name = gpugc_backend_name((gpugc_backend)b);
        assert_non_null(name);
        assert_string_equal(name, names[b]);
        gpugc_backend out = (gpugc_backend)-1;
        assert_int_equal(gpugc_backend_parse(name, &out), GPUGC_OK);
        assert_int_equal(out, b);
    }
    assert_null(gpugc_backend_name((gpugc_backend)GPUGC_BACKEND_COUNT));
    assert_null(gpugc_backend_name((gpugc_backend)-1));

    const char *bad[] = {"bogus", "", "cpu ", "cuda2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gpugc_backend out = GPUGC_BACKEND_CUDA;
        assert_int_equal(gpugc_backend_parse(bad[i], &out), GPUGC_EBACKEND);
        assert_int_equal(out, GPUGC_BACKEND_CUDA); /* failed: nothing changed */
    }
    gpugc_backend out = GPUGC_BACKEND_CUDA;
    assert_true(gpugc_backend_parse(NULL, &out) < 0);
    assert_int_equal(out, GPUGC_BACKEND_CUDA);
    reset_record();
}

/* ---- messages and handlers ----------------------------------------------------- */

static void test_strerror(void **state) {
    (void)state;
    const char *unknown = gpugc_strerror(1);
    assert_non_null(unknown);
    assert_string_equal(unknown, "unknown status");
    assert_string_equal(gpugc_strerror(-99), "unknown status");
    for (int s = GPUGC_OK; s >= GPUGC_EFAULT; s--) {
        const char *m = gpugc_strerror(s);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        assert_string_not_equal(m, unknown);
        for (int t = s + 1; t <= GPUGC_OK; t++)
            assert_string_not_equal(m, gpugc_strerror(t));
    }
}

/* Runs fn(arg) with stderr going to a temporary file; returns what was
 * written in out. */
static void capture_stderr(void (*fn)(void *), void *arg, char *out, size_t size) {
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn(arg);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

static int default_status;
static void bad_slot(void *heap) {
    void *o = gpugc_new(heap, GPUGC_TYPE_OBJECT, 1, 8);
    assert_non_null(o);
    default_status = gpugc_set_ref(heap, o, 7, NULL);
    gpugc_decref(heap, o);
}
static void bad_heap(void *unused) {
    (void)unused;
    default_status = gpugc_set_ref(NULL, NULL, 0, NULL);
}

static void test_default_handler_prints_and_returns(void **state) {
    fixture *f = *state;
    char out[1024];

    /* With the process-wide handler back to the default, a new heap has the
     * default too. */
    gpugc_set_error_handler(NULL, NULL, NULL);
    gpugc_heap *h = heap_manual();
    capture_stderr(bad_slot, h, out, sizeof out);
    assert_int_equal(default_status, GPUGC_ERANGE);
    assert_non_null(strstr(out, "set_ref"));
    assert_int_equal(gpugc_last_error(h), GPUGC_ERANGE);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);

    capture_stderr(bad_heap, NULL, out, sizeof out);
    assert_int_equal(default_status, GPUGC_EINVAL);
    assert_non_null(strstr(out, "set_ref"));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_EINVAL);
    gpugc_clear_error(NULL);

    gpugc_set_error_handler(NULL, record_error, &rec);
    /* The recorder saw none of it, and the program goes on. */
    assert_int_equal(rec.calls, 0);
    assert_unchanged(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TB(fn) cmocka_unit_test_setup_teardown(fn, backend_setup, backend_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_slot_out_of_range),
        T(test_unknown_type),
        T(test_collect_generation_out_of_range),
        T(test_null_heap),
        T(test_null_object),
        T(test_stack_buffer_is_no_object),
        T(test_pointer_into_payload_is_no_object),
        T(test_object_of_another_heap),
        T(test_freed_object),
        T(test_too_many_slots),
        T(test_huge_payload),
        T(test_collect_from_destroy_is_busy),
        T(test_count_below_zero_is_underflow),
        TB(test_backend_env_bogus),
        TB(test_backend_unavailable),
        TB(test_backend_auto),
        TB(test_backend_names),
        cmocka_unit_test(test_strerror),
        T(test_default_handler_prints_and_returns),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

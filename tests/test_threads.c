/* test_threads.c - the threading contract of DESIGN.md section 2: a heap is
 * used by one thread at a time.  Handing a heap from thread to thread is
 * fine in every build; in debug builds a second thread that calls into a
 * heap while another is inside gets GPUGC_ETHREAD and changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "gpugc.h"
#include "support.h"

static struct {
    gpugc_heap *h;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int inside, go; /* the collecting thread is in its finalizer; may leave */
    int64_t found;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* The library reports these with no heap: the heap belongs to the other
 * thread.  Counted per thread through the thread-local last error. */
static void quiet(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)status;
    (void)message;
    (void)data;
}

/* Parks the collecting thread inside the collection until told to go. */
static void park(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    pthread_mutex_lock(&T.lock);
    T.inside = 1;
    pthread_cond_broadcast(&T.cond);
    while (!T.go)
        pthread_cond_wait(&T.cond, &T.lock);
    pthread_mutex_unlock(&T.lock);
}

static void *collector(void *arg) {
    (void)arg;
    T.found = gpugc_collect(T.h, 2);
    return NULL;
}

/* Debug builds turn the validator on by default: that is how a test tells
 * which kind of library it runs against. */
static int debug_build(void) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    return cfg.validate;
}

static void *use_heap(void *arg) {
    void *o = gpugc_new(T.h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_non_null(o);
    assert_int_equal(gpugc_set_ref(T.h, o, 0, o), GPUGC_OK);
    gpugc_decref(T.h, o);
    *(int64_t *)arg = gpugc_collect(T.h, 2);
    return NULL;
}

/* One thread after another: allowed in every build. */
static void test_handoff(void **state) {
    (void)state;
    T.h = gpugc_heap_new(NULL);
    assert_non_null(T.h);
    for (int round = 0; round < 4; round++) {
        pthread_t t;
        int64_t found = -1;
        assert_int_equal(pthread_create(&t, NULL, use_heap, &found), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(found, 1);
    }
    assert_int_equal(gpugc_validate(T.h), GPUGC_OK);
    gpugc_heap_free(T.h);
}

/* Two threads at once: the second is refused, the heap is unharmed. */
static void test_concurrent_use_reported(void **state) {
    (void)state;
    if (!debug_build())
        skip(); /* in a release build this would be a real data race */
    T.h = gpugc_heap_new(NULL);
    assert_non_null(T.h);
    gpugc_set_error_handler(NULL, quiet, NULL);
    gpugc_type_desc desc = {"parks", park, NULL};
    gpugc_type t = gpugc_type_register(T.h, &desc);
    void *held = gpugc_new(T.h, GPUGC_TYPE_OBJECT, 0, 8);
    garbage_cycle(T.h, t);

    pthread_t c;
    T.inside = T.go = 0;
    assert_int_equal(pthread_create(&c, NULL, collector, NULL), 0);
    pthread_mutex_lock(&T.lock);
    while (!T.inside)
        pthread_cond_wait(&T.cond, &T.lock);
    pthread_mutex_unlock(&T.lock);

    gpugc_clear_error(NULL);
    assert_null(gpugc_new(T.h, GPUGC_TYPE_OBJECT, 0, 8));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_ETHREAD);
    gpugc_incref(T.h, held);
    gpugc_decref(T.h, held);
    assert_int_equal(gpugc_set_ref(T.h, held, 0, NULL), GPUGC_ETHREAD);
    assert_int_equal(gpugc_resize_refs(T.h, held, 2), GPUGC_ETHREAD);
    assert_int_equal(gpugc_collect(T.h, 0), GPUGC_ETHREAD);

    pthread_mutex_lock(&T.lock);
    T.go = 1;
    pthread_cond_broadcast(&T.cond);
    pthread_mutex_unlock(&T.lock);
    assert_int_equal(pthread_join(c, NULL), 0);

    /* The refused calls changed nothing; the heap is this thread's now. */
    assert_int_equal(T.found, 2);
    assert_int_equal(gpugc_refcount(T.h, held), 1);
    assert_int_equal(gpugc_nrefs(T.h, held), 0);
    assert_int_equal(gpugc_object_count(T.h), 1);
    assert_int_equal(gpugc_validate(T.h), GPUGC_OK);
    gpugc_decref(T.h, held);
    assert_int_equal(gpugc_object_count(T.h), 0);
    gpugc_set_error_handler(NULL, NULL, NULL);
    gpugc_heap_free(T.h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handoff),
        cmocka_unit_test(test_concurrent_use_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_debug.c - CPython's gc debugging: the debug flags and what they
 * print through the heap's output function, and GPUGC_DEBUG_SAVEALL's
 * garbage list (kept objects, gpugc_garbage, gpugc_garbage_clear). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gpugc.h"
#include "support.h"

static struct {
    char text[8192];
    int lines;
    int errors;
    int finalized, destroyed;
} D;

static void capture(gpugc_heap *h, const char *line, void *data) {
    (void)h;
    assert_ptr_equal(data, &D);
    size_t len = strlen(D.text);
    snprintf(D.text + len, sizeof D.text - len, "%s", line);
    D.lines++;
}

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)status;
    (void)message;
    (void)data;
    D.errors++;
}

static void on_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    D.finalized++;
}

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    D.destroyed++;
}

static gpugc_type node_type;

static int setup(void **state) {
    memset(&D, 0, sizeof D);
    gpugc_set_error_handler(NULL, count_error, NULL);
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"node", on_finalize, on_destroy};
    node_type = gpugc_type_register(h, &d);
    gpugc_set_output(h, capture, &D);
    *state = h;
    return 0;
}

static int teardown(void **state) {
    gpugc_heap_free(*state);
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

static void test_flags(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_get_debug(h), 0);
    assert_int_equal(GPUGC_DEBUG_LEAK, 38); /* CPython's values */
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_LEAK | GPUGC_DEBUG_STATS), GPUGC_OK);
    assert_int_equal(gpugc_get_debug(h), 39);
    assert_int_equal(gpugc_set_debug(h, 8), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_debug(h), 39); /* the refusal changed nothing */
    assert_int_equal(gpugc_set_debug(NULL, 0), GPUGC_EINVAL);
    assert_int_equal(D.errors, 2);
    assert_int_equal(D.lines, 0);
}

static void test_stats_and_collectable_output(void **state) {
    gpugc_heap *h = *state;
    void *keep = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    void *a = garbage_cycle(h, node_type);
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_STATS | GPUGC_DEBUG_COLLECTABLE), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_non_null(strstr(D.text, "gpugc: collecting generation 2...\n"));
    assert_non_null(strstr(D.text, "gpugc: objects in each generation: 3 0 0\n"));
    assert_non_null(strstr(D.text, "gpugc: objects in permanent generation: 0\n"));
    char line[128];
    snprintf(line, sizeof line, "gpugc: collectable <node %p>\n", a);
    assert_non_null(strstr(D.text, line));
    assert_non_null(strstr(D.text, "gpugc: done, 2 unreachable, 0 uncollectable, "));
    assert_null(strstr(D.text, "uncollectable <"));
    assert_int_equal(D.lines, 6);
    assert_int_equal(D.destroyed, 2);

    /* Without flags, nothing is printed. */
    D.text[0] = '\0';
    D.lines = 0;
    assert_int_equal(gpugc_set_debug(h, 0), GPUGC_OK);
    garbage_cycle(h, node_type);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(D.lines, 0);
    gpugc_set_output(h, NULL, NULL); /* back to stderr */
    gpugc_decref(h, keep);
    assert_int_equal(D.errors, 0);
}

static int visit_count(gpugc_heap *h, void *obj, void *data) {
    (void)h;
    (void)obj;
    ++*(int *)data;
    return 0;
}

/* SAVEALL keeps the garbage, after its finalizers ran, on the garbage list;
 * clearing the list lets the next collection find it again. */
static void test_saveall(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_LEAK), GPUGC_OK);
    void *a = garbage_cycle(h, node_type);
    assert_int_equal(gpugc_collect(h, 0), 2);
    assert_int_equal(D.finalized, 2);
    assert_int_equal(D.destroyed, 0);
    assert_int_equal(gpugc_object_count(h), 2);
    assert_int_equal(gpugc_garbage_count(h), 2);
    assert_int_equal(gpugc_refcount(h, a), 2); /* its peer's slot, the list */
    assert_int_equal(gpugc_is_finalized(h, a), 1);
    char line[128];
    snprintf(line, sizeof line, "gpugc: uncollectable <node %p>\n", a);
    assert_non_null(strstr(D.text, line));
    gpugc_gen_stats s;
    assert_int_equal(gpugc_get_stats(h, 0, &s, sizeof s), GPUGC_OK);
    assert_int_equal(s.uncollectable, 2);
    assert_int_equal(s.collected, 0);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.unreachable, 2);
    assert_int_equal(st.collected, 0);
    assert_int_equal(st.resurrected, 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    int n = 0;
    assert_int_equal(gpugc_garbage(h, visit_count, &n), GPUGC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gpugc_collect(h, 2), 0); /* the list holds them */

    /* Cleared while SAVEALL is still on: found and saved again, not
     * finalized again. */
    assert_int_equal(gpugc_garbage_clear(h), GPUGC_OK);
    assert_int_equal(gpugc_garbage_count(h), 0);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(gpugc_garbage_count(h), 2);
    assert_int_equal(D.finalized, 2);

    /* SAVEALL off: the next collection after clearing frees them. */
    assert_int_equal(gpugc_set_debug(h, 0), GPUGC_OK);
    assert_int_equal(gpugc_garbage_clear(h), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(D.destroyed, 2);
    assert_int_equal(gpugc_object_count(h), 0);

    /* An object that only the list holds is freed by the clear itself. */
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_SAVEALL), GPUGC_OK);
    void *loop = gpugc_new(h, node_type, 1, 8);
    void *leaf = gpugc_new(h, node_type, 1, 8);
    assert_int_equal(gpugc_set_ref(h, loop, 0, loop), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, leaf, 0, loop), GPUGC_OK);
    gpugc_decref(h, loop);
    assert_int_equal(gpugc_collect(h, 2), 0);
    gpugc_decref(h, leaf); /* leaf dies by count, loop stays garbage */
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_set_ref(h, loop, 0, NULL), GPUGC_OK);
    assert_int_equal(gpugc_garbage_clear(h), GPUGC_OK);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    assert_int_equal(gpugc_garbage(h, NULL, NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_garbage_clear(NULL), GPUGC_EINVAL);
    assert_int_equal(D.errors, 2);
}

/* gpugc_heap_free destroys what the garbage list holds, once. */
static void test_heap_free_with_garbage_list(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_SAVEALL), GPUGC_OK);
    garbage_cycle(h, node_type);
    assert_int_equal(gpugc_collect(h, 2), 2);
    gpugc_heap_free(h);
    *state = NULL;
    assert_int_equal(D.destroyed, 2);
    assert_int_equal(D.finalized, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        CASE(test_flags),
        CASE(test_stats_and_collectable_output),
        CASE(test_saveall),
        CASE(test_heap_free_with_garbage_list),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

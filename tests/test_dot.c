/* test_dot.c - gpugc_dump_dot: the graph around given objects within a
 * depth, a bounded sample, labels (type, id, count), edges by slot, the
 * garbage list highlighted after a SAVEALL collection, names escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpugc.h"
#include "support.h"

#include "error_count.h"

/* The DOT text for the arguments; the caller frees it. */
static char *dot(gpugc_heap *h, void *const *objs, size_t n, unsigned depth, size_t max) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(gpugc_dump_dot(h, f, objs, n, depth, max), GPUGC_OK);
    fclose(f);
    return text;
}

static int count(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

/* A chain a -> b -> c -> d, plus a -> c, with names that need escaping. */
static void test_graph_around_objects(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"my \"node\"", NULL, NULL};
    gpugc_type t = gpugc_type_register(h, &d);
    void *o[4];
    for (int i = 0; i < 4; i++)
        o[i] = gpugc_new(h, t, 2, 8);
    gpugc_set_ref(h, o[0], 0, o[1]);
    gpugc_set_ref(h, o[0], 1, o[2]);
    gpugc_set_ref(h, o[1], 0, o[2]);
    gpugc_set_ref(h, o[2], 0, o[3]);

    char *text = dot(h, o, 1, 1, 0);
    assert_non_null(strstr(text, "digraph gpugc {"));
    assert_int_equal(count(text, "[label=\"my \\\"node\\\" #"), 3); /* a, b, c */
    assert_non_null(strstr(text, "rc=3\\n+1 more")); /* c: C, a, b; c -> d left out */
    assert_int_equal(count(text, " -> "), 3);          /* a->b, a->c, b->c */
    assert_int_equal(count(text, "penwidth=3"), 1);
    assert_non_null(strstr(text, "[label=\"0\"]"));
    assert_non_null(strstr(text, "[label=\"1\"]"));
    free(text);

    text = dot(h, o, 1, 0, 0);
    assert_int_equal(count(text, "[label=\"my"), 1);
    assert_non_null(strstr(text, "+2 more"));
    free(text);

    text = dot(h, o, 1, 10, 2); /* bounded */
    assert_int_equal(count(text, "[label=\"my"), 2);
    free(text);

    text = dot(h, NULL, 0, 0, 3); /* a sample of the heap */
    assert_int_equal(count(text, "[label=\"my"), 3);
    free(text);

    assert_int_equal(gpugc_dump_dot(h, NULL, o, 1, 1, 0), GPUGC_EINVAL);
    assert_int_equal(gpugc_dump_dot(h, stdout, NULL, 1, 1, 0), GPUGC_EINVAL);
    static uint64_t buffer[4];
    void *bad[] = {&buffer[2]};
    assert_int_equal(gpugc_dump_dot(h, stdout, bad, 1, 1, 0), GPUGC_ENOTOBJ);
    assert_int_equal(errors, 3);
    for (int i = 0; i < 4; i++)
        gpugc_decref(h, o[i]);
    gpugc_heap_free(h);
}

/* After a SAVEALL collection the garbage is filled red; immortal grey. */
static void test_garbage_highlighted(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    garbage_cycle(h, GPUGC_TYPE_OBJECT);
    void *keep = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_int_equal(gpugc_make_immortal(h, keep), GPUGC_OK);
    assert_int_equal(gpugc_set_debug(h, GPUGC_DEBUG_SAVEALL), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 2);
    char *text = dot(h, NULL, 0, 0, 0);
    assert_int_equal(count(text, "fillcolor=\"#ff9999\""), 2);
    assert_int_equal(count(text, "fillcolor=\"#dddddd\""), 1);
    assert_non_null(strstr(text, "rc=immortal"));
    assert_int_equal(count(text, " -> "), 2);
    free(text);
    assert_int_equal(errors, 0);
    gpugc_heap_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_graph_around_objects),
        CASE(test_garbage_highlighted),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

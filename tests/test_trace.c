/* test_trace.c - memory views: gpugc_print_allocator_stats (Python's
 * sys._debugmallocstats) and allocation tracing (tracemalloc): start and
 * stop, sites recorded by GPUGC_NEW, snapshots grouped by type and by
 * site, comparison of two snapshots, current and peak traced memory. */
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

static void test_print_allocator_stats(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    void *small[100], *big = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 4000);
    for (int i = 0; i < 100; i++)
        small[i] = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 24); /* class 1: 32 bytes */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(gpugc_print_allocator_stats(h, f), GPUGC_OK);
    fclose(f);
    assert_non_null(strstr(text, "class   size   num pools   blocks in use  avail blocks"));
    /* class 1, 32-byte blocks, one pool, 100 used */
    assert_non_null(strstr(text, "    1     32           1             100"));
    assert_non_null(strstr(text, "# arenas allocated current           = 1\n"));
    assert_non_null(strstr(text, "# large payloads (from the system)   = 1\n"));
    assert_non_null(strstr(text, "# bytes in large payloads            = 4000\n"));
    assert_non_null(strstr(text, "# bytes of collector metadata        = "));
    free(text);
    assert_int_equal(gpugc_print_allocator_stats(h, NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_print_allocator_stats(NULL, stderr), GPUGC_EINVAL);
    assert_int_equal(errors, 2);
    for (int i = 0; i < 100; i++)
        gpugc_decref(h, small[i]);
    gpugc_decref(h, big);
    gpugc_heap_free(h);
}

static void test_traced_memory(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    uint64_t cur, peak;
    void *before = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 1000); /* never traced */
    assert_int_equal(gpugc_trace_is_tracing(h), 0);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur + peak, 0);
    assert_int_equal(gpugc_trace_start(h), GPUGC_OK);
    assert_int_equal(gpugc_trace_start(h), GPUGC_OK); /* already: no change */
    assert_int_equal(gpugc_trace_is_tracing(h), 1);

    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 100);
    void *b = GPUGC_NEW(h, GPUGC_TYPE_OBJECT, 0, 50);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur, 150);
    assert_int_equal(peak, 150);
    gpugc_decref(h, a);
    gpugc_decref(h, before);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur, 50);
    assert_int_equal(peak, 150);
    assert_int_equal(gpugc_trace_reset_peak(h), GPUGC_OK);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(peak, 50);

    /* Freed by the collector: accounted as well. */
    void *c = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 30);
    gpugc_set_ref(h, c, 0, c);
    gpugc_decref(h, c);
    assert_int_equal(gpugc_collect(h, 2), 1);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur, 50);
    assert_int_equal(peak, 80);

    /* Many objects: the records grow with the heap. */
    static void *many[3000];
    for (int i = 0; i < 3000; i++)
        many[i] = GPUGC_NEW(h, GPUGC_TYPE_OBJECT, 0, 8);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur, 50 + 3000 * 8);
    for (int i = 0; i < 3000; i++)
        gpugc_decref(h, many[i]);

    assert_int_equal(gpugc_trace_stop(h), GPUGC_OK);
    assert_int_equal(gpugc_trace_is_tracing(h), 0);
    assert_int_equal(gpugc_trace_get_traced_memory(h, &cur, &peak), GPUGC_OK);
    assert_int_equal(cur + peak, 0);
    assert_null(gpugc_trace_snapshot_take(h)); /* not tracing */
    assert_int_equal(gpugc_trace_get_traced_memory(h, NULL, &peak), GPUGC_EINVAL);
    assert_int_equal(errors, 2);
    gpugc_decref(h, b);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
}

static int site_line_a, site_line_b;

/* Allocates n objects of type t at one site (line a) and n2 at another. */
static void alloc_at_sites(gpugc_heap *h, gpugc_type t, int n, int n2, void **out) {
    for (int i = 0; i < n; i++) {
        site_line_a = __LINE__ + 1;
        out[i] = GPUGC_NEW(h, t, 0, 16);
    }
    for (int i = 0; i < n2; i++) {
        site_line_b = __LINE__ + 1;
        out[n + i] = GPUGC_NEW(h, GPUGC_TYPE_OBJECT, 0, 100);
    }
}

static const gpugc_trace_stat *find_site(const gpugc_trace_stat *s, size_t n, int line) {
    for (size_t k = 0; k < n; k++)
        if (s[k].line == line && s[k].file && strstr(s[k].file, "test_trace.c"))
            return &s[k];
    return NULL;
}

static void test_snapshots(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"widget", NULL, NULL};
    gpugc_type widget = gpugc_type_register(h, &d);
    assert_int_equal(gpugc_trace_start(h), GPUGC_OK);
    void *objs[40];
    alloc_at_sites(h, widget, 10, 3, objs);
    void *plain = gpugc_new(h, widget, 0, 5);

    gpugc_trace_snapshot *s1 = gpugc_trace_snapshot_take(h);
    assert_non_null(s1);
    gpugc_trace_stat *st;
    size_t n;
    assert_int_equal(gpugc_trace_statistics(s1, GPUGC_TRACE_BY_TYPE, &st, &n), GPUGC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(st[0].type_name, "object"); /* 300 bytes first */
    assert_int_equal(st[0].count, 3);
    assert_int_equal(st[0].bytes, 300);
    assert_string_equal(st[1].type_name, "widget");
    assert_int_equal(st[1].type, widget);
    assert_int_equal(st[1].count, 11);
    assert_int_equal(st[1].bytes, 165);
    free(st);

    assert_int_equal(gpugc_trace_statistics(s1, GPUGC_TRACE_BY_SITE, &st, &n), GPUGC_OK);
    assert_int_equal(n, 3);
    const gpugc_trace_stat *a = find_site(st, n, site_line_a), *b = find_site(st, n, site_line_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->count, 10);
    assert_int_equal(a->bytes, 160);
    assert_int_equal(b->count, 3);
    assert_ptr_equal(&st[0], b); /* most bytes first */
    assert_null(st[2].file);      /* plain gpugc_new: no site */
    assert_int_equal(st[2].bytes, 5);
    free(st);

    /* Change the heap: drop half of site a, all of site b, add at a. */
    for (int i = 0; i < 5; i++)
        gpugc_decref(h, objs[i]);
    for (int i = 10; i < 13; i++)
        gpugc_decref(h, objs[i]);
    void *more[2];
    alloc_at_sites(h, widget, 2, 0, more);
    gpugc_trace_snapshot *s2 = gpugc_trace_snapshot_take(h);
    assert_non_null(s2);
    assert_int_equal(gpugc_trace_compare(s2, s1, GPUGC_TRACE_BY_SITE, &st, &n), GPUGC_OK);
    assert_int_equal(n, 3);
    b = find_site(st, n, site_line_b);
    a = find_site(st, n, site_line_a);
    assert_ptr_equal(&st[0], b); /* largest change first */
    assert_int_equal(b->count, 0);
    assert_int_equal(b->count_diff, -3);
    assert_int_equal(b->bytes_diff, -300);
    assert_int_equal(a->count, 7);
    assert_int_equal(a->count_diff, -3);
    assert_int_equal(a->bytes_diff, -48);
    assert_int_equal(st[2].bytes_diff, 0);
    free(st);
    assert_int_equal(gpugc_trace_compare(s2, s1, GPUGC_TRACE_BY_TYPE, &st, &n), GPUGC_OK);
    assert_int_equal(n, 2);
    free(st);

    /* Snapshots outlive tracing. */
    assert_int_equal(gpugc_trace_stop(h), GPUGC_OK);
    assert_int_equal(gpugc_trace_statistics(s2, GPUGC_TRACE_BY_TYPE, &st, &n), GPUGC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(st[0].count, 8);
    free(st);

    assert_int_equal(errors, 0);
    assert_int_equal(gpugc_trace_statistics(NULL, GPUGC_TRACE_BY_TYPE, &st, &n), GPUGC_EINVAL);
    assert_int_equal(gpugc_trace_statistics(s1, (gpugc_trace_key)7, &st, &n), GPUGC_EINVAL);
    assert_int_equal(gpugc_trace_compare(s2, NULL, GPUGC_TRACE_BY_TYPE, &st, &n), GPUGC_EINVAL);
    assert_int_equal(errors, 3);
    gpugc_trace_snapshot_free(s1);
    gpugc_trace_snapshot_free(s2);
    gpugc_trace_snapshot_free(NULL);
    for (int i = 5; i < 10; i++)
        gpugc_decref(h, objs[i]);
    gpugc_decref(h, more[0]);
    gpugc_decref(h, more[1]);
    gpugc_decref(h, plain);
    gpugc_heap_free(h);
}

/* Out of memory while tracing: gpugc_new fails cleanly when a new site
 * cannot be recorded; gpugc_trace_start fails cleanly too. */
static void test_trace_faults(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    for (int k = 0; k < 4; k++) { /* each of its four allocations */
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, k);
        assert_int_equal(gpugc_trace_start(h), GPUGC_ENOMEM);
        assert_int_equal(gpugc_trace_is_tracing(h), 0);
    }
    gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1);
    assert_int_equal(gpugc_trace_start(h), GPUGC_OK);
    /* 40 distinct sites force the site table and the hash table to grow. */
    void *objs[40];
    int failed = 0;
    for (int i = 0; i < 40; i++) {
        gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, i % 3 == 0 ? 0 : -1);
        objs[i] = gpugc_new_at(h, GPUGC_TYPE_OBJECT, 0, 8, "site.c", i);
        if (!objs[i])
            failed++;
    }
    gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, -1);
    assert_true(failed > 0);
    assert_int_equal(gpugc_object_count(h), 40 - failed);
    uint64_t cur, peak;
    gpugc_trace_get_traced_memory(h, &cur, &peak);
    assert_int_equal(cur, (40 - failed) * 8);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h); /* tracing state freed with the heap */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_print_allocator_stats),
        CASE(test_traced_memory),
        CASE(test_snapshots),
        CASE(test_trace_faults),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pool.c - the size-class allocator behind payloads.
 *
 * Alignment and full usability of payloads of every size up to 2000 bytes,
 * zeroed payloads even when memory is reused, per-size-class counters,
 * large payloads taken from the system, and empty arenas going back to the
 * OS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "gpugc.h"

static int setup(void **state) {
    *state = heap_manual();
    return 0;
}

static int teardown(void **state) {
    gpugc_heap *h = *state;
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
    return 0;
}

static gpugc_memory_stats mem(const gpugc_heap *h) {
    gpugc_memory_stats m;
    assert_int_equal(gpugc_memory_stats_get(h, &m, sizeof m), GPUGC_OK);
    return m;
}

static gpugc_size_class_stats class_stats(const gpugc_heap *h, unsigned i) {
    gpugc_size_class_stats s;
    assert_int_equal(gpugc_size_class_stats_get(h, i, &s, sizeof s), GPUGC_OK);
    return s;
}

static void *new_obj(gpugc_heap *h, size_t size) {
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 0, size);
    assert_non_null(o);
    return o;
}

static int all_zero(const void *p, size_t size) {
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* The size class a payload of `size` bytes is served from: the one whose
 * allocation counter moves.  -1 when none does (a large payload). */
static int class_of(gpugc_heap *h, size_t size) {
    uint64_t before[GPUGC_SIZE_CLASSES];
    for (unsigned i = 0; i < GPUGC_SIZE_CLASSES; i++)
        before[i] = class_stats(h, i).allocs;
    void *o = new_obj(h, size);
    int found = -1;
    for (unsigned i = 0; i < GPUGC_SIZE_CLASSES; i++) {
        uint64_t d = class_stats(h, i).allocs - before[i];
        if (d != 0) {
            assert_int_equal(d, 1);
            assert_int_equal(found, -1);
            found = (int)i;
        }
    }
    gpugc_decref(h, o);
    return found;
}

/* ---- alignment and usability ----------------------------------------------- */

#define MAX_SIZE 2000

static void test_alignment_and_full_use(void **state) {
    gpugc_heap *h = *state;
    static void *objs[MAX_SIZE + 1];
    for (size_t size = 0; size <= MAX_SIZE; size++) {
        objs[size] = new_obj(h, size);
        assert_int_equal((uintptr_t)objs[size] % GPUGC_ALIGNMENT, 0);
        assert_true(all_zero(objs[size], size));
        memset(objs[size], (int)(size & 0xff), size); /* every byte is ours */
    }
    /* No payload overlaps another: each still holds its own pattern. */
    for (size_t size = 0; size <= MAX_SIZE; size++) {
        const unsigned char *b = objs[size];
        for (size_t i = 0; i < size; i++)
            if (b[i] != (size & 0xff))
                fail_msg("payload of size %zu overwritten at byte %zu", size, i);
    }
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    for (size_t size = 0; size <= MAX_SIZE; size++)
        gpugc_decref(h, objs[size]);
    assert_int_equal(gpugc_object_count(h), 0);
}

/* Objects of size 0 are still distinct objects. */
static void test_zero_size_objects_are_distinct(void **state) {
    gpugc_heap *h = *state;
    void *a = new_obj(h, 0);
    void *b = new_obj(h, 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(gpugc_refcount(h, a), 1);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
}

/* Freed blocks are reused in pools that stay alive (every other object is
 * freed, so no pool empties) and after their pools went away (all freed). */
static void test_reused_memory_is_zeroed(void **state) {
    gpugc_heap *h = *state;
    enum { N = 100 };
    const size_t sizes[] = {1, 8, 24, 100, 480, 500, 1000, 5000, 70000};
    void *objs[N];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t size = sizes[s];
        for (int step = 2; step >= 1; step--) {
            for (int i = 0; i < N; i++) {
                objs[i] = new_obj(h, size);
                memset(objs[i], 0xff, size);
            }
            for (int i = 0; i < N; i += step)
                gpugc_decref(h, objs[i]);
            for (int i = 0; i < N; i += step) {
                objs[i] = new_obj(h, size);
                if (!all_zero(objs[i], size))
                    fail_msg("reused payload of size %zu is not zeroed", size);
            }
            for (int i = 0; i < N; i++)
                gpugc_decref(h, objs[i]);
        }
    }
}

/* ---- size classes ------------------------------------------------------------- */

static void test_size_class_table(void **state) {
    gpugc_heap *h = *state;
    uint32_t prev = 0;
    for (unsigned i = 0; i < GPUGC_SIZE_CLASSES; i++) {
        gpugc_size_class_stats s = class_stats(h, i);
        assert_true(s.block_size > prev);
        assert_int_equal(s.block_size % GPUGC_ALIGNMENT, 0);
        assert_true(s.block_size <= GPUGC_SMALL_MAX);
        prev = s.block_size;
    }
    gpugc_size_class_stats s;
    assert_int_equal(gpugc_size_class_stats_get(h, GPUGC_SIZE_CLASSES, &s, sizeof s), GPUGC_EINVAL);
    gpugc_clear_error(h);

    /* Bigger payloads never come from smaller classes, and each payload
     * fits its block. */
    int prev_class = -1;
    for (size_t size = 0; size <= GPUGC_SMALL_MAX; size += 8) {
        int c = class_of(h, size);
        if (c < 0) {
            /* Large from here on: header + payload is past GPUGC_SMALL_MAX. */
            assert_true(size > GPUGC_SMALL_MAX - 64);
            break;
        }
        assert_true(c >= prev_class);
        assert_true(class_stats(h, (unsigned)c).block_size >= size);
        prev_class = c;
    }
    assert_int_equal(class_of(h, GPUGC_SMALL_MAX + 1), -1);
}

static void test_size_class_counters(void **state) {
    gpugc_heap *h = *state;
    enum { N = 300 };
    const size_t size = 40;
    const int c = class_of(h, size);
    assert_true(c >= 0);
    const gpugc_size_class_stats s0 = class_stats(h, (unsigned)c);
    assert_true(s0.block_size >= size);

    void *objs[N];
    for (int i = 0; i < N; i++)
        objs[i] = new_obj(h, size);
    gpugc_size_class_stats s1 = class_stats(h, (unsigned)c);
    assert_int_equal(s1.allocs, s0.allocs + N);
    assert_int_equal(s1.frees, s0.frees);
    assert_int_equal(s1.blocks_used, s0.blocks_used + N);
    assert_true(s1.pools >= 1);

    for (int i = 0; i < N; i += 2)
        gpugc_decref(h, objs[i]);
    gpugc_size_class_stats s2 = class_stats(h, (unsigned)c);
    assert_int_equal(s2.allocs, s1.allocs);
    assert_int_equal(s2.frees, s0.frees + N / 2);
    assert_int_equal(s2.blocks_used, s0.blocks_used + N / 2);
    assert_true(s2.blocks_free >= N / 2); /* the holes left behind */

    /* Refilling the holes takes no new pool. */
    for (int i = 0; i < N; i += 2)
        objs[i] = new_obj(h, size);
    gpugc_size_class_stats s3 = class_stats(h, (unsigned)c);
    assert_int_equal(s3.allocs, s0.allocs + N + N / 2);
    assert_int_equal(s3.blocks_used, s0.blocks_used + N);
    assert_int_equal(s3.pools, s1.pools);

    for (int i = 0; i < N; i++)
        gpugc_decref(h, objs[i]);
    gpugc_size_class_stats s4 = class_stats(h, (unsigned)c);
    assert_int_equal(s4.frees, s0.frees + N + N / 2);
    assert_int_equal(s4.blocks_used, s0.blocks_used);

    /* Other classes did not move. */
    for (unsigned i = 0; i < GPUGC_SIZE_CLASSES; i++) {
        if ((int)i == c)
            continue;
        assert_int_equal(class_stats(h, i).blocks_used, 0);
    }
}

/* ---- large payloads ---------------------------------------------------------- */

static void test_large_payloads(void **state) {
    gpugc_heap *h = *state;
    const gpugc_memory_stats m0 = mem(h);
    assert_int_equal(m0.large_objects, 0);
    assert_int_equal(m0.large_bytes, 0);

    const size_t sizes[] = {GPUGC_SMALL_MAX + 1, 4096, 1u << 20, 3000000};
    void *objs[4];
    uint64_t bytes = 0;
    for (int i = 0; i < 4; i++) {
        objs[i] = new_obj(h, sizes[i]);
        assert_int_equal((uintptr_t)objs[i] % GPUGC_ALIGNMENT, 0);
        memset(objs[i], 0x5a, sizes[i]);
        gpugc_memory_stats m = mem(h);
        assert_int_equal(m.large_objects, (uint64_t)i + 1);
        assert_true(m.large_bytes >= bytes + sizes[i]);
        bytes = m.large_bytes;
    }
    /* A small one is not counted as large. */
    void *small = new_obj(h, GPUGC_SMALL_MAX / 2);
    assert_int_equal(mem(h).large_objects, 4);
    assert_int_equal(mem(h).large_bytes, bytes);

    for (int i = 0; i < 4; i++)
        gpugc_decref(h, objs[i]);
    gpugc_memory_stats m = mem(h);
    assert_int_equal(m.large_objects, 0);
    assert_int_equal(m.large_bytes, 0);
    gpugc_decref(h, small);
}

/* ---- arenas --------------------------------------------------------------------- */

#define MANY 200000

static void test_arenas_return_to_the_os(void **state) {
    gpugc_heap *h = *state;
    void **objs = malloc(MANY * sizeof *objs);
    assert_non_null(objs);
    const gpugc_memory_stats m0 = mem(h);

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++)
            objs[i] = new_obj(h, 32);
        const gpugc_memory_stats m1 = mem(h);
        /* 200k blocks of at least 40 bytes: more than 7 MiB. */
        assert_true(m1.arenas >= m0.arenas + 7);
        assert_true(m1.arenas_peak >= m1.arenas);

        /* Free every other object first, then the rest. */
        for (int i = 0; i < MANY; i += 2)
            gpugc_decref(h, objs[i]);
        assert_true(mem(h).arenas >= m1.arenas - 1);
        for (int i = 1; i < MANY; i += 2)
            gpugc_decref(h, objs[i]);

        const gpugc_memory_stats m2 = mem(h);
        assert_int_equal(gpugc_object_count(h), 0);
        assert_true(m2.arenas <= m0.arenas + 1); /* at most one kept cached */
        assert_true(m2.arenas_released >= m0.arenas_released + (m1.arenas - m0.arenas - 1));
        assert_true(m2.arenas_peak >= m1.arenas);
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
    }
    free(objs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_alignment_and_full_use),
        T(test_zero_size_objects_are_distinct),
        T(test_reused_memory_is_zeroed),
        T(test_size_class_table),
        T(test_size_class_counters),
        T(test_large_payloads),
        T(test_arenas_return_to_the_os),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

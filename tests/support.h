/* support.h - helpers shared by the test programs. */
#ifndef GPUGC_TEST_SUPPORT_H
#define GPUGC_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#include "gpugc.h"

/* The exit status CTest reads as "skipped" (SKIP_RETURN_CODE). */
#define TEST_SKIPPED 77

/* For a suite run again on the backend GPUGC_BACKEND names: 0 when that
 * backend can run here (or none is named); else, having said why,
 * TEST_SKIPPED, or 1 when GPUGC_TEST_REQUIRE_BACKEND is set (CI sets it
 * for backends its machine must run). */
static inline int backend_gate(void) {
    const char *name = getenv("GPUGC_BACKEND");
    gpugc_backend b;
    char why[200];
    if (!name || !*name || gpugc_backend_parse(name, &b) != GPUGC_OK ||
        gpugc_backend_available(b, why, sizeof why) == GPUGC_OK)
        return 0;
    if (getenv("GPUGC_TEST_REQUIRE_BACKEND")) {
        fprintf(stderr, "the %s backend is required but not available: %s\n", name, why);
        return 1;
    }
    printf("skipped: the %s backend is not available: %s\n", name, why);
    return TEST_SKIPPED;
}

/* A heap without automatic collection: counts and objects only change when
 * the test says so. */
static inline gpugc_heap *heap_manual(void) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 0;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* A garbage two-cycle: two objects of type t, one slot and 8 bytes each,
 * referencing each other and dropped by C at once, so that only a
 * collection frees them.  Returns one of them, borrowed: valid until a
 * collection frees it. */
static inline void *garbage_cycle(gpugc_heap *h, gpugc_type t) {
    void *a = gpugc_new(h, t, 1, 8), *b = gpugc_new(h, t, 1, 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    return a;
}

#endif

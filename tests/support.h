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
static inline int backend_gate(void)
{
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
static inline gpugc_heap *heap_manual(void)
{
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 0;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

#endif

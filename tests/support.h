/* support.h - helpers shared by the test programs. */
#ifndef GPUGC_TEST_SUPPORT_H
#define GPUGC_TEST_SUPPORT_H

#include "gpugc.h"

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

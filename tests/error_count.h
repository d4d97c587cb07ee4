/* error_count.h - for suites that expect no error unless a case causes one:
 * a process-wide handler counting reports (and keeping the last status),
 * installed around each case by CASE. */
#ifndef GPUGC_TEST_ERROR_COUNT_H
#define GPUGC_TEST_ERROR_COUNT_H

#include "gpugc.h"

static int errors, last_status;

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    (void)data;
    errors++;
    last_status = status;
}

static int setup(void **state) {
    (void)state;
    errors = 0;
    last_status = 0;
    gpugc_set_error_handler(NULL, count_error, NULL);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif

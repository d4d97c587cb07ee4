/* fuzz_api.c - the libFuzzer harness: random sequences of public calls (new,
 * incref, decref, set_ref, resize_refs, collections of each generation, weak
 * references, freeze and unfreeze, track and untrack, immortal objects,
 * SAVEALL, and the callbacks of a sweep taking references: weak-reference
 * gets, stores of garbage into live slots, C references, a destroy's
 * refused reference) checked against a shadow model of the object graph.
 *
 * The model and the operations are the differential suite's own
 * (tests/test_differential.c, compiled here with GPUGC_FUZZ): each input is
 * one graph whose every choice is read from the input's bytes.  Any
 * difference in liveness, reference count, edges or callbacks aborts, which
 * libFuzzer reports with the input that caused it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const uint8_t *fuzz_data;
static size_t fuzz_left;

/* 0..n-1 from the next one or two input bytes; 0 once the input is used up
 * (the graph then only grows to its limit and ends). */
static int fuzz_rnd(int n)
{
    unsigned v = 0;
    for (int b = 0; b < (n > 256 ? 2 : 1) && fuzz_left; b++, fuzz_left--)
        v = v << 8 | *fuzz_data++;
    return (int)(v % (unsigned)n);
}

/* What the suite takes from cmocka. */
#define print_error(...) fprintf(stderr, __VA_ARGS__)
#define print_message(...) ((void)0)
#define fail() abort()
#define assert_non_null(p) ((p) ? (void)0 : abort())
#define assert_int_not_equal(a, b) ((a) != (b) ? (void)0 : abort())

#define GPUGC_FUZZ 1
#include "../tests/test_differential.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!W.h) {
        gpugc_set_error_handler(NULL, count_error, NULL);
        open_heap();
    }
    fuzz_data = data;
    fuzz_left = size;
    W.graph++;
    run_graph();
    /* As the suite does between graphs: a heap with immortal objects is
     * replaced, any other must end empty. */
    if (W.immortals > 0) {
        close_heap();
        open_heap();
    } else {
        drop_everything();
    }
    return 0;
}

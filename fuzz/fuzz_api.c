/* fuzz_api.c - the libFuzzer harness: random sequences of public calls (new,
 * incref, decref, set_ref, resize_refs, collections of each generation, weak
 * references, freeze and unfreeze, track and untrack, immortal objects,
 * SAVEALL, and the callbacks of a sweep taking references: weak-reference
 * gets, stores of garbage into live slots, C references, a destroy's
 * refused reference) checked against a shadow model of the object graph.
 *
 * The model and the operations are the differential suite's own
 * (tests/model.c): each input is one graph whose every choice is read from
 * the input's bytes.  Any difference in liveness, reference count, edges or
 * callbacks aborts, which libFuzzer reports with the input that caused it.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpugc.h"
#include "model.h"

static const uint8_t *fuzz_data;
static size_t fuzz_left;
static int graph; /* inputs run so far */

/* 0..n-1 from the next one or two input bytes; 0 once the input is used up
 * (the graph then only grows to its limit and ends). */
int model_rnd(int n) {
    unsigned v = 0;
    for (int b = 0; b < (n > 256 ? 2 : 1) && fuzz_left; b++, fuzz_left--)
        v = v << 8 | *fuzz_data++;
    return (int)(v % (unsigned)n);
}

void model_print(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}

void model_fail(void) {
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (graph == 0) {
        gpugc_set_error_handler(NULL, model_error_handler, NULL);
        model_open_heap();
    }
    fuzz_data = data;
    fuzz_left = size;
    /* As the suite does between graphs: a heap with immortal objects is
     * replaced, any other must end empty. */
    if (model_run_graph(++graph)) {
        model_close_heap();
        model_open_heap();
    } else {
        model_drop_everything();
    }
    return 0;
}

/* test_differential.c - the differential model (model.c) on thousands of
 * random graphs, every choice from a seeded generator.  GPUGC_TEST_SEED and
 * GPUGC_TEST_GRAPHS override the seed and the number of graphs, and a
 * failure prints the values that repeat it.  Every 64th graph, and every
 * one with immortal objects, ends with gpugc_heap_free on live objects; the
 * others empty the heap for the next.  Works on any backend (GPUGC_BACKEND).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "gpugc.h"
#include "model.h"
#include "support.h"

enum {
    FREE_HEAP_EVERY = 64, /* every so many graphs end with gpugc_heap_free */
    DEFAULT_GRAPHS = 3000
};
#define DEFAULT_SEED 0x6770756763ull /* "gpugc" */

static uint64_t rng, seed;
static int graph; /* the one running, for the failure message */

/* ---- reproducible randomness (splitmix64) --------------------------------- */

static uint64_t next_u64(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (the modulo bias is irrelevant here). */
int model_rnd(int n) {
    return (int)(next_u64() % (uint64_t)n);
}

/* ---- failure reporting ----------------------------------------------------- */

void model_print(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vprint_error(format, args);
    va_end(args);
}

void model_fail(void) {
    print_error("reproduce with GPUGC_TEST_SEED=%#llx GPUGC_TEST_GRAPHS=%d\n",
                (unsigned long long)seed, graph + 1);
    fail();
}

static uint64_t env_u64(const char *name, uint64_t fallback) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : fallback;
}

static void test_random_graphs(void **state) {
    (void)state;
    seed = env_u64("GPUGC_TEST_SEED", DEFAULT_SEED);
    int graphs = (int)env_u64("GPUGC_TEST_GRAPHS", DEFAULT_GRAPHS);
    rng = seed;
    print_message("seed %#llx, %d graphs\n", (unsigned long long)seed, graphs);
    gpugc_set_error_handler(NULL, model_error_handler, NULL);

    model_open_heap();
    for (graph = 0; graph < graphs; graph++) {
        int immortal = model_run_graph(graph);
        if (graph % FREE_HEAP_EVERY == FREE_HEAP_EVERY - 1 || immortal) {
            model_close_heap();
            model_open_heap();
        } else {
            model_drop_everything();
        }
    }
    model_close_heap();
    gpugc_set_error_handler(NULL, NULL, NULL);
}

int main(void) {
    int gate = backend_gate();
    if (gate)
        return gate;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_soak.c - a soak run on every available backend: random mutation,
 * reference-count traffic, automatic and explicit collections of each
 * generation, with the validator after every explicit collection.
 *
 * It keeps no model of the graph; it checks the promise users buy: every
 * object reachable from what C holds is alive, and was never destroyed or
 * reused (its payload still carries the word written at creation).
 *
 * Bounded and self-stopping: GPUGC_SOAK_SECONDS (default 4) is split over the
 * backends; GPUGC_SOAK_SEED picks the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpugc.h"

enum { ROOTS = 512, MAX_SLOTS = 6 };

#define ALIVE 0xa11fe00du
#define DEAD 0xdeadbeefu

typedef struct payload {
    uint32_t magic;
} payload;

static struct {
    void *root[ROOTS]; /* each holds one C reference, or NULL */
    uint64_t rng;
    int errors;
} S;

static uint64_t next_u64(void) {
    uint64_t z = (S.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rnd(int n) {
    return (int)(next_u64() % (uint64_t)n);
}

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)data;
    print_error("gpugc error %d: %s\n", status, message);
    S.errors++;
}

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    ((payload *)obj)->magic = DEAD;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A random object among the roots and what they reference, or NULL. */
static void *some_object(gpugc_heap *h) {
    void *o = S.root[rnd(ROOTS)];
    for (int hops = rnd(4); o && hops > 0; hops--) {
        uint32_t n = gpugc_nrefs(h, o);
        void *next = n ? gpugc_get_ref(h, o, (uint32_t)rnd((int)n)) : NULL;
        if (!next)
            break;
        o = next;
    }
    return o;
}

/* Adds o to the open-addressing set `seen` (cap a power of two); true if
 * it was not there yet. */
static int first_visit(void **seen, size_t cap, void *o) {
    size_t i = ((uintptr_t)o >> 4) * 0x9e3779b97f4a7c15ull & (cap - 1);
    for (; seen[i]; i = (i + 1) & (cap - 1))
        if (seen[i] == o)
            return 0;
    seen[i] = o;
    return 1;
}

/* Everything reachable from the roots is a live object of h whose payload
 * was never destroyed. */
static void check_reachable(gpugc_heap *h) {
    size_t live = gpugc_object_count(h), cap = 64;
    while (cap < 2 * live)
        cap *= 2;
    void **seen = calloc(cap, sizeof *seen), **queue = malloc(live * sizeof *queue + 1);
    assert_non_null(seen);
    assert_non_null(queue);
    size_t n = 0;
    for (int r = 0; r < ROOTS; r++)
        if (S.root[r] && first_visit(seen, cap, S.root[r]))
            queue[n++] = S.root[r];
    for (size_t k = 0; k < n; k++) {
        void *o = queue[k];
        assert_true(gpugc_refcount(h, o) > 0);
        assert_int_equal(((payload *)o)->magic, ALIVE);
        for (uint32_t s = 0, slots = gpugc_nrefs(h, o); s < slots; s++) {
            void *t = gpugc_get_ref(h, o, s);
            if (t && first_visit(seen, cap, t)) {
                assert_true(n < live); /* more reachable than alive: lost */
                queue[n++] = t;
            }
        }
    }
    free(seen);
    free(queue);
    assert_int_equal(S.errors, 0);
}

static void step(gpugc_heap *h, gpugc_type t) {
    int r = rnd(100), i = rnd(ROOTS);
    void *o;
    if (r < 30) { /* a new object replaces a root */
        o = gpugc_new(h, t, (uint32_t)rnd(MAX_SLOTS + 1), sizeof(payload) + (size_t)rnd(600));
        assert_non_null(o);
        ((payload *)o)->magic = ALIVE;
        if (S.root[i])
            gpugc_decref(h, S.root[i]);
        S.root[i] = o;
    } else if (r < 65) { /* a reference stored or cleared */
        if ((o = some_object(h)) && gpugc_nrefs(h, o) > 0)
            assert_int_equal(gpugc_set_ref(h, o, (uint32_t)rnd((int)gpugc_nrefs(h, o)),
                                           rnd(5) ? some_object(h) : NULL),
                             GPUGC_OK);
    } else if (r < 80) { /* reference-count traffic that nets to zero */
        if ((o = some_object(h))) {
            for (int k = 0; k < 4; k++)
                gpugc_incref(h, o);
            for (int k = 0; k < 4; k++)
                gpugc_decref(h, o);
        }
    } else if (r < 88) { /* a root dropped */
        if (S.root[i]) {
            gpugc_decref(h, S.root[i]);
            S.root[i] = NULL;
        }
    } else if (r < 95) {
        if ((o = some_object(h)))
            assert_int_equal(gpugc_resize_refs(h, o, (uint32_t)rnd(MAX_SLOTS + 1)), GPUGC_OK);
    } else {
        assert_true(gpugc_collect(h, rnd(3)) >= 0);
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
        check_reachable(h);
    }
}

static void soak(gpugc_backend b, double budget) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = b;
    /* Small thresholds: automatic collections of every generation happen
     * in the middle of mutation too. */
    cfg.threshold[0] = 200;
    cfg.threshold[1] = 5;
    cfg.threshold[2] = 5;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    gpugc_set_error_handler(h, count_error, NULL);
    gpugc_type_desc desc = {"soak", NULL, on_destroy};
    gpugc_type t = gpugc_type_register(h, &desc);
    memset(S.root, 0, sizeof S.root);

    long steps = 0;
    for (double end = seconds() + budget; seconds() < end; steps++)
        for (int k = 0; k < 256; k++)
            step(h, t);
    check_reachable(h);
    for (int i = 0; i < ROOTS; i++)
        if (S.root[i])
            gpugc_decref(h, S.root[i]);
    assert_true(gpugc_collect(h, 2) >= 0);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(S.errors, 0);
    print_message("%s: %ld x 256 steps\n", gpugc_backend_name(b), steps);
    gpugc_heap_free(h);
}

static void test_soak(void **state) {
    (void)state;
    const char *s = getenv("GPUGC_SOAK_SECONDS"), *seed = getenv("GPUGC_SOAK_SEED");
    double total = s && *s ? atof(s) : 4.0;
    S.rng = seed && *seed ? strtoull(seed, NULL, 0) : 0x736f616bu;
    print_message("seed %#llx\n", (unsigned long long)S.rng);
    int n = 0;
    gpugc_backend run[GPUGC_BACKEND_COUNT];
    for (int b = GPUGC_BACKEND_CPU; b < GPUGC_BACKEND_COUNT; b++)
        if (gpugc_backend_available((gpugc_backend)b, NULL, 0) == GPUGC_OK)
            run[n++] = (gpugc_backend)b;
    assert_true(n > 0);
    for (int k = 0; k < n; k++)
        soak(run[k], total / n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

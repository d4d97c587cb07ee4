/* workload.c - the graphs gpugc-bench collects, and the seeded generator
 * that makes them reproducible.
 *
 * random: N objects of degree d, all live.  Slot 0 of each object points to
 * its successor on a random cyclic permutation of all objects, so one cycle
 * runs through the whole heap and every object is reachable from any held
 * one; slots 1..d-1 point to uniformly random objects.  A fraction of the
 * objects, evenly spread over creation order, stays held from C; the
 * others' C references are dropped, which frees nothing since each has a
 * predecessor in the cycle. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Generator: xoshiro256** seeded through splitmix64                         */
/* ------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix(&seed);
}

static uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) for n <= 2^32 (multiply-shift; the bias is below
 * 2^-32 and the same on every machine). */
static uint32_t rng_below(rng *r, uint64_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* ------------------------------------------------------------------------ */
/* random                                                                    */
/* ------------------------------------------------------------------------ */

/* Creates the n objects into objs and links them: slot 0 to the object's
 * successor on a random cyclic permutation, slots 1..d-1 to random objects.
 * next is scratch.  Objects are linked in creation order, so only targets
 * are scattered.  Every object still holds its creation reference after. */
static int random_link(gpugc_heap *h, const bench_options *o, void **objs,
                       uint32_t *next)
{
    uint64_t n = o->objects;
    for (uint64_t i = 0; i < n; i++) {
        objs[i] = gpugc_new(h, GPUGC_TYPE_OBJECT, o->degree, 0);
        if (objs[i] == NULL) {
            fprintf(stderr, "gpugc-bench: gpugc_new failed at object %llu: %s\n",
                    (unsigned long long)i, gpugc_last_error_message(h));
            return gpugc_last_error(h);
        }
    }

    /* A uniformly random cyclic permutation (Sattolo's algorithm): one
     * cycle through all n objects. */
    rng r;
    rng_seed(&r, o->seed);
    for (uint64_t i = 0; i < n; i++)
        next[i] = (uint32_t)i;
    for (uint64_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_below(&r, i), t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    int status = GPUGC_OK;
    for (uint64_t i = 0; i < n && status == GPUGC_OK; i++) {
        status = gpugc_set_ref(h, objs[i], 0, objs[next[i]]);
        for (uint32_t s = 1; s < o->degree && status == GPUGC_OK; s++)
            status = gpugc_set_ref(h, objs[i], s, objs[rng_below(&r, n)]);
    }
    if (status != GPUGC_OK)
        fprintf(stderr, "gpugc-bench: gpugc_set_ref failed: %s\n",
                gpugc_last_error_message(h));
    return status;
}

static int build_random(gpugc_heap *h, const bench_options *o, bench_graph *g)
{
    uint64_t n = o->objects;
    void **objs = malloc(n * sizeof *objs);
    uint32_t *next = malloc(n * sizeof *next);
    int status = GPUGC_ENOMEM;

    if (objs == NULL || next == NULL)
        fprintf(stderr, "gpugc-bench: no memory for the list of %llu objects\n",
                (unsigned long long)n);
    else
        status = random_link(h, o, objs, next);
    if (status == GPUGC_OK) {
        /* Hold objects floor(k * n / held) for k < held; drop the rest. */
        uint64_t held = (uint64_t)(o->hold * (double)n + 0.5);
        held = held < 1 ? 1 : held > n ? n : held;
        uint64_t k = 0;
        for (uint64_t i = 0; i < n; i++) {
            if (k < held && i == k * n / held)
                k++;
            else
                gpugc_decref(h, objs[i]);
        }
        g->objects = n;
        g->held = held;
    }
    free(next);
    free(objs);
    return status;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

const bench_workload bench_workloads[] = {
    {"random", "N objects of degree d: one cycle through all, d-1 random edges each",
     build_random},
};
const size_t bench_nworkloads = sizeof bench_workloads / sizeof bench_workloads[0];

const bench_workload *bench_workload_find(const char *name)
{
    for (size_t i = 0; i < bench_nworkloads; i++)
        if (strcmp(bench_workloads[i].name, name) == 0)
            return &bench_workloads[i];
    return NULL;
}

/* run_gpugc.c - gpugc as a runner: a heap on one backend, the shape built
 * through the public calls a program would make (gpugc_new, gpugc_set_ref,
 * gpugc_decref), measured by measure.c. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

typedef struct gheap {
    gpugc_heap *h;
    void **objs;     /* object i of the shape, while it lives */
    bool fail_mark;  /* GPUGC_BENCH_FAULT=RUNNER:mark (bench_fault) */
} gheap;

static int g_build(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi,
                   bool garbage_only) {
    gheap *g = heap;
    for (uint64_t i = lo; i < hi; i++) {
        if (garbage_only && !(s->flags[i] & BENCH_GARBAGE))
            continue;
        bench_tick(i - lo, 2 * (hi - lo)); /* creating: the first half */
        g->objs[i] = gpugc_new(g->h, GPUGC_TYPE_OBJECT, s->off[i + 1] - s->off[i], 0);
        if (g->objs[i] == NULL) {
            fprintf(stderr, "gpugc-bench: gpugc_new failed at object %llu: %s\n",
                    (unsigned long long)i, gpugc_last_error_message(g->h));
            return -1;
        }
    }
    for (uint64_t i = lo; i < hi; i++) {
        if (garbage_only && !(s->flags[i] & BENCH_GARBAGE))
            continue;
        bench_tick(hi - lo + i - lo, 2 * (hi - lo));
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++) {
            if (s->dst[k] != BENCH_NULL &&
                gpugc_set_ref(g->h, g->objs[i], k - s->off[i], g->objs[s->dst[k]]) != GPUGC_OK) {
                fprintf(stderr, "gpugc-bench: gpugc_set_ref failed: %s\n",
                        gpugc_last_error_message(g->h));
                return -1;
            }
        }
    }
    /* Nothing is freed here: every object not held has a referrer.  A
     * held one keeps its creation reference and gets one more per further
     * reference C code holds (a captured heap's counts from outside). */
    for (uint64_t i = lo; i < hi; i++) {
        if (garbage_only && !(s->flags[i] & BENCH_GARBAGE))
            continue;
        uint32_t held = bench_held_refs(s, i);
        if (held == 0)
            gpugc_decref(g->h, g->objs[i]);
        for (uint32_t k = 1; k < held; k++)
            gpugc_incref(g->h, g->objs[i]);
    }
    return 0;
}

static int g_collect(void *heap, int gen, gpugc_collection_stats *st, uint32_t *measured) {
    gheap *g = heap;
    if (g->fail_mark)
        gpugc_inject_fault(g->h, GPUGC_FAULT_MARK, 0);
    if (gpugc_collect(g->h, gen) < 0 ||
        gpugc_last_collection(g->h, st, sizeof *st) != GPUGC_OK) {
        fprintf(stderr, "gpugc-bench: collection of generation %d failed: %s\n", gen,
                gpugc_last_error_message(g->h));
        return -1;
    }
    *measured = BENCH_STATS_ALL;
    return 0;
}

static void g_release(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi) {
    gheap *g = heap;
    for (uint64_t i = lo; i < hi; i++)
        for (uint32_t k = bench_held_refs(s, i); k > 0; k--)
            gpugc_decref(g->h, g->objs[i]);
}

static int64_t g_live(void *heap) {
    return (int64_t)gpugc_object_count(((gheap *)heap)->h);
}

static double g_metadata(void *heap) {
    gpugc_memory_stats m;
    gpugc_memory_stats_get(((gheap *)heap)->h, &m, sizeof m);
    return (double)m.metadata_bytes;
}

static const bench_heap_ops gpugc_ops = {g_build, g_collect, g_release, g_live, g_metadata,
                                         false};

static int gpugc_available(const bench_runner *r, char *why, size_t size) {
    return gpugc_backend_available(r->backend, why, size) == GPUGC_OK ? 0 : -1;
}

/* Arrays grow by doubling from 1024 entries. */
static uint64_t grown(uint64_t n) {
    uint64_t cap = 1024;
    while (cap < n)
        cap *= 2;
    return cap;
}

/* Id-indexed arrays (six 4-byte, one pointer, one bit), the slot array,
 * the generation lists and the collector's set and queue, 16-byte pool
 * blocks, and the runner's table of object pointers; a tenth more, for
 * what the backend keeps (measured within that on this machine). */
static uint64_t gpugc_estimate(const bench_counts *c) {
    uint64_t ids = grown(c->objects);
    uint64_t bytes = ids * 32 + ids / 8 + grown(c->slots) * 4 + grown(c->tracked) * 8 +
                     c->tracked * 8 + c->objects * 18 + c->objects * 8;
    return bytes + bytes / 10;
}

static int gpugc_run(const bench_runner *r, const bench_job *job, bench_result *res) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = r->backend;
    const char *fault = bench_fault(r->name);
    gheap g = {gpugc_heap_new(&cfg), malloc(job->shape->n * sizeof(void *) + 1),
               fault != NULL && strcmp(fault, "mark") == 0};
    int rc = -1;
    if (g.h == NULL)
        fprintf(stderr, "gpugc-bench: %s: no heap: %s\n", r->name,
                gpugc_last_error_message(NULL));
    else if (g.objs == NULL)
        fprintf(stderr, "gpugc-bench: no memory for the table of objects\n");
    else {
        gpugc_disable(g.h); /* only the measured collections run */
        rc = bench_measure(&gpugc_ops, &g, job, res);
    }
    gpugc_heap_free(g.h);
    free(g.objs);
    return rc;
}

bench_runner bench_runner_gpugc(gpugc_backend b) {
    return (bench_runner){gpugc_backend_name(b), false, b, gpugc_available,
                          gpugc_estimate, gpugc_run, bench_gpugc_program, bench_gpugc_micro,
                          bench_gpugc_steady,
                          BENCH_GC_BIT(BENCH_GC_STOP_THE_WORLD) |
                              BENCH_GC_BIT(BENCH_GC_BACKGROUND)};
}

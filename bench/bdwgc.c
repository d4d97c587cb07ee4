/* bdwgc.c - the Boehm-Demers-Weiser GC peer (Debian's libgc).  The shape
 * is built from GC_MALLOC objects of the same slot shape (an array of
 * pointers; leaves are pointer-free GC_MALLOC_ATOMIC blocks, which Boehm
 * does not scan, as CPython does not track atoms), the held objects sit in
 * one uncollectable root array (a captured heap's objects with
 * references from outside, however many), and GC_gcollect is timed, by
 * measure.c's loop.  Boehm marks with every core (GC_start_mark_threads) and sweeps
 * lazily: GC_gcollect frees whole empty blocks, the rest is swept by later
 * allocations, which here are the untimed rebuilds.  It has no generations:
 * its pause is a full collection.
 *
 * Compiled either way; without libgc (pkg-config bdw-gc, at configure
 * time) the runner is listed as skipped with that reason. */
#include "bench.h"

#ifdef BENCH_HAVE_BDWGC

#define GC_THREADS /* declares GC_start_mark_threads and GC_get_parallel */
#include <gc/gc.h>
#include <gc/gc_mark.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bheap {
    void **objs;     /* malloc'd, so invisible to the collector: it keeps
                        nothing alive, and entries of freed objects dangle */
    void **roots[2]; /* uncollectable: the held objects of the old heap
                        (or the whole shape) and of the young objects   */
    const bench_shape *s;
    uint64_t lo, hi; /* the last objects built: the garbage a collection
                        is to find is theirs                             */
} bheap;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* When each collection event last happened; the callback has no data
 * pointer, and a child process runs one heap. */
static uint64_t event_ns[GC_EVENT_THREAD_UNSUSPENDED + 1];

static void on_event(GC_EventType e) {
    if ((unsigned)e < sizeof event_ns / sizeof event_ns[0])
        event_ns[e] = now_ns();
}

static int b_build(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi,
                   bool garbage_only) {
    bheap *b = heap;
    uint64_t held = 0;
    GC_disable(); /* objects are unreachable until linked */
    for (uint64_t i = lo; i < hi; i++) {
        if (garbage_only && !(s->flags[i] & BENCH_GARBAGE))
            continue;
        bench_tick(i - lo, 2 * (hi - lo)); /* creating: the first half */
        uint32_t k = s->off[i + 1] - s->off[i];
        b->objs[i] = k > 0 ? GC_MALLOC(k * sizeof(void *)) : GC_MALLOC_ATOMIC(sizeof(void *));
        held += (s->flags[i] & BENCH_HELD) != 0;
        if (b->objs[i] == NULL) {
            GC_enable();
            fprintf(stderr, "gpugc-bench: bdwgc: GC_MALLOC failed at object %llu\n",
                    (unsigned long long)i);
            return -1;
        }
    }
    for (uint64_t i = lo; i < hi; i++) {
        if (garbage_only && !(s->flags[i] & BENCH_GARBAGE))
            continue;
        bench_tick(hi - lo + i - lo, 2 * (hi - lo));
        void **slot = b->objs[i];
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            if (s->dst[k] != BENCH_NULL)
                slot[k - s->off[i]] = b->objs[s->dst[k]];
    }
    int rc = 0;
    if (!garbage_only) {
        void **roots = GC_MALLOC_UNCOLLECTABLE(held * sizeof(void *) + 1);
        if (roots == NULL) {
            fprintf(stderr, "gpugc-bench: bdwgc: no memory for %llu roots\n",
                    (unsigned long long)held);
            rc = -1;
        }
        for (uint64_t i = lo, k = 0; i < hi && roots != NULL; i++)
            if (s->flags[i] & BENCH_HELD)
                roots[k++] = b->objs[i];
        b->roots[lo > 0] = roots;
    }
    b->s = s;
    b->lo = lo;
    b->hi = hi;
    GC_enable();
    return rc;
}

/* Counts the garbage objects with slots of the last build that the
 * collection did not mark; called holding the allocation lock.  An object
 * whose whole block was freed has no base any more. */
static void *count_unmarked(void *arg) {
    bheap *b = arg;
    uint64_t n = 0;
    for (uint64_t i = b->lo; i < b->hi; i++) {
        void *o = b->objs[i];
        if ((b->s->flags[i] & BENCH_GARBAGE) && b->s->off[i + 1] > b->s->off[i])
            n += GC_base(o) != o || !GC_is_marked(o);
    }
    return (void *)(uintptr_t)n;
}

static int b_collect(void *heap, int gen, gpugc_collection_stats *st, uint32_t *measured) {
    (void)gen; /* no generations: every collection is a full one */
    memset(event_ns, 0, sizeof event_ns);
    uint64_t t0 = now_ns();
    GC_gcollect();
    st->ns_total = now_ns() - t0;
    st->generation = 2;
    st->unreachable = (uintptr_t)GC_call_with_alloc_lock(count_unmarked, heap);
    *measured = BENCH_STAT_BIT(ns_total) | BENCH_STAT_BIT(generation) |
                BENCH_STAT_BIT(unreachable);
    if (event_ns[GC_EVENT_MARK_END] > event_ns[GC_EVENT_MARK_START]) {
        st->ns_mark = event_ns[GC_EVENT_MARK_END] - event_ns[GC_EVENT_MARK_START];
        *measured |= BENCH_STAT_BIT(ns_mark);
    }
    if (event_ns[GC_EVENT_RECLAIM_END] > event_ns[GC_EVENT_RECLAIM_START]) {
        st->ns_sweep = event_ns[GC_EVENT_RECLAIM_END] - event_ns[GC_EVENT_RECLAIM_START];
        *measured |= BENCH_STAT_BIT(ns_sweep);
    }
    return 0;
}

static void b_release(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi) {
    (void)s;
    (void)hi;
    bheap *b = heap;
    GC_FREE(b->roots[lo > 0]);
    b->roots[lo > 0] = NULL;
}

static int64_t b_live(void *heap) {
    (void)heap;
    return -1; /* Boehm does not count objects */
}

/* What Boehm took from the OS beyond its heap: block headers, mark bits,
 * the block index. */
static double b_metadata(void *heap) {
    (void)heap;
    struct GC_prof_stats_s ps;
    GC_get_prof_stats(&ps, sizeof ps);
    return (double)(ps.obtained_from_os_bytes - ps.heapsize_full);
}

static const bench_heap_ops bdwgc_ops = {b_build, b_collect, b_release, b_live, b_metadata,
                                         true};

static int bdwgc_available(const bench_runner *r, char *why, size_t size) {
    (void)r;
    (void)why;
    (void)size;
    return 0;
}

/* Objects rounded up to 16-byte granules, a third more for partly filled
 * blocks and heap growth, the table of object pointers. */
static uint64_t bdwgc_estimate(const bench_counts *c) {
    uint64_t heap = 8 * c->slots + 8 * c->tracked + 16 * (c->objects - c->tracked);
    return heap + heap / 3 + 12 * c->objects;
}

static int bdwgc_run(const bench_runner *r, const bench_job *job, bench_result *res) {
    (void)r;
    /* Every reference in the graph is an object's base address, so
     * pointers into an object need not keep it alive; with them, stale
     * words kept whole clusters of garbage alive.  Roots are the root
     * array and the stack, not every library's data. */
    GC_set_all_interior_pointers(0);
    GC_set_no_dls(1);
    GC_INIT();
    GC_clear_roots();
    GC_start_mark_threads();
    GC_set_on_collection_event(on_event);
    unsigned v = GC_get_version();
    snprintf(res->note, sizeof res->note,
             "libgc %u.%u.%u, %d marker threads, lazy sweep, no generations",
             v >> 16, (v >> 8) & 0xffu, v & 0xffu, GC_get_parallel() + 1);
    bheap b = {.objs = malloc(job->shape->n * sizeof(void *) + 1)};
    if (b.objs == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for the table of objects\n");
        return -1;
    }
    int rc = bench_measure(&bdwgc_ops, &b, job, res);
    free(b.objs);
    return rc;
}

const bench_runner bench_runner_bdwgc = {"bdwgc", true, GPUGC_BACKEND_AUTO,
                                         bdwgc_available, bdwgc_estimate, bdwgc_run,
                                         bench_bdwgc_program, bench_bdwgc_micro,
                                         bench_bdwgc_steady,
                                         BENCH_GC_BIT(BENCH_GC_STOP_THE_WORLD) |
                                             BENCH_GC_BIT(BENCH_GC_INCREMENTAL)};

#else /* !BENCH_HAVE_BDWGC */

static int bdwgc_missing(const bench_runner *r, char *why, size_t size) {
    (void)r;
    snprintf(why, size, "built without Boehm GC: pkg-config found no bdw-gc at "
                        "configure time (install libgc-dev and reconfigure)");
    return -1;
}

const bench_runner bench_runner_bdwgc = {"bdwgc", true, GPUGC_BACKEND_AUTO,
                                         bdwgc_missing, NULL, NULL, NULL, NULL, NULL, 0};

#endif

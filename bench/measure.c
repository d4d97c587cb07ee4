/* measure.c - the measuring loop the in-process heaps share (gpugc on each
 * backend, Boehm GC): every timed collection sees the heap in the same
 * state, and every count a heap reports is checked against the shape.
 *
 * A collection frees the garbage it finds, so between timed collections the
 * garbage is built again, from the same shape: the live objects stay (in
 * the oldest generation after the first collection), the garbage is new
 * (in the youngest).  Building is never timed. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* What the loop carries from one collection to the next. */
typedef struct loop {
    const bench_heap_ops *ops;
    void *heap;
    const bench_job *job;
    bench_result *res;
    uint64_t kept; /* most garbage a conservative heap kept in one collection */
} loop;

/* Collects generation g and checks the unreachable count, when the heap
 * gives one (expect < 0: any count will do). */
static int collect_checked(loop *l, int g, const char *which, int64_t expect,
                           gpugc_collection_stats *st, uint32_t *measured) {
    *st = (gpugc_collection_stats){0};
    *measured = 0;
    if (l->ops->collect(l->heap, g, st, measured) != 0)
        return -1;
    if (expect < 0 || !(*measured & BENCH_STAT_BIT(unreachable)))
        return 0;
    if (l->ops->conservative && st->unreachable < (uint64_t)expect) {
        uint64_t kept = (uint64_t)expect - st->unreachable;
        l->kept = kept > l->kept ? kept : l->kept;
    } else if (st->unreachable != (uint64_t)expect) {
        fprintf(stderr, "gpugc-bench: %s: the %s collection found %llu unreachable "
                "objects; the graph has %lld\n", l->res->runner, which,
                (unsigned long long)st->unreachable, (long long)expect);
        return -1;
    }
    return 0;
}

/* The heap holds `expect` objects, when it can tell. */
static int live_checked(loop *l, const char *when, uint64_t expect) {
    int64_t live = l->ops->live(l->heap);
    if (live >= 0 && (uint64_t)live != expect) {
        fprintf(stderr, "gpugc-bench: %s: %lld objects live %s; the graph has %llu\n",
                l->res->runner, (long long)live, when, (unsigned long long)expect);
        return -1;
    }
    return 0;
}

/* One timed collection, preceded by what puts the heap back into the
 * state every timed collection starts from. */
static int measure_once(loop *l, bool first, gpugc_collection_stats *st, uint32_t *measured) {
    const bench_heap_ops *ops = l->ops;
    const bench_job *job = l->job;
    const bench_shape *s = job->shape;
    bool pause = job->o->mode == BENCH_PAUSE;
    uint64_t old_live = job->old.objects - job->old.garbage;
    gpugc_collection_stats scratch;
    uint32_t scratch_measured;
    int rc;

    if (pause)
        rc = ops->build(l->heap, s, s->nold, s->n, false);
    else
        rc = job->old.garbage > 0 ? ops->build(l->heap, s, 0, s->n, true) : 0;
    if (rc == 0 && first) {
        l->res->heap_objects = pause ? old_live + job->young.objects : s->n;
        l->res->metadata_bytes = ops->metadata(l->heap);
    }
    if (rc != 0)
        return -1;
    if (!pause) {
        if (collect_checked(l, 2, "timed", (int64_t)job->old.garbage_tracked, st,
                            measured) != 0)
            return -1;
        return live_checked(l, "after a collection", old_live);
    }
    /* The young objects die with their references from C: what reference
     * counting leaves, an untimed collection takes. */
    if (collect_checked(l, 0, "timed young", (int64_t)job->young.garbage_tracked, st,
                        measured) != 0)
        return -1;
    ops->release(l->heap, s, s->nold, s->n);
    if (collect_checked(l, 1, "clean-up", -1, &scratch, &scratch_measured) != 0)
        return -1;
    return live_checked(l, "once the young objects are gone", old_live);
}

static int by_total(const void *a, const void *b) {
    uint64_t x = ((const gpugc_collection_stats *)a)->ns_total;
    uint64_t y = ((const gpugc_collection_stats *)b)->ns_total;
    return (x > y) - (x < y);
}

int bench_measure(const bench_heap_ops *ops, void *heap, const bench_job *job,
                  bench_result *res) {
    const bench_shape *s = job->shape;
    unsigned repeat = job->o->repeat;
    loop l = {ops, heap, job, res, 0};
    gpugc_collection_stats first, *timed = calloc(repeat, sizeof *timed);
    if (timed == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for %u results\n", repeat);
        return -1;
    }

    bench_progress_begin("%s: building %llu objects", res->runner,
                         (unsigned long long)s->nold);
    double t0 = now_ms();
    int rc = ops->build(heap, s, 0, s->nold, false);
    res->build_ms = now_ms() - t0;
    bench_progress_end();
    /* The first collection frees the (old) garbage and ages the rest. */
    if (rc == 0)
        rc = collect_checked(&l, 2, "first", (int64_t)job->old.garbage_tracked, &first,
                             &res->measured);
    bench_progress_begin("%s: %u timed collections", res->runner, repeat);
    for (unsigned i = 0; i < repeat && rc == 0; i++) {
        bench_progress(i, repeat);
        rc = measure_once(&l, i == 0, &timed[i], &res->measured);
    }
    bench_progress_end();
    if (rc == 0) {
        qsort(timed, repeat, sizeof *timed, by_total);
        res->stats = timed[(repeat - 1) / 2];
        res->collect_ms_min = (double)timed[0].ns_total / 1e6;
        res->collect_ms_max = (double)timed[repeat - 1].ns_total / 1e6;
    }
    if (l.kept > 0) {
        size_t len = strlen(res->note);
        snprintf(res->note + len, sizeof res->note - len,
                 "%skept up to %llu garbage objects alive (conservative roots)",
                 len > 0 ? "; " : "", (unsigned long long)l.kept);
    }
    free(timed);
    return rc;
}

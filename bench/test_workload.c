/* test_workload.c - the generators' tests: every workload at sizes from 1
 * object up, with and without garbage, checked for
 *   - structure: offsets ascend, every slot names an object or is empty;
 *   - size: exactly n objects, exactly round(F n) of them garbage;
 *   - workload.c's two promises, re-derived here by brute force: the live
 *     objects are exactly those reachable from the held ones, and every
 *     garbage object has a garbage referrer;
 *   - determinism: the same seed gives the same bytes, another seed other
 *     bytes (for the workloads that draw at all);
 *   - each workload's own shape (chains, depth, skew, leaves, width);
 * and then collected in a gpugc heap by the benchmark's own measuring loop,
 * which fails on any unreachable count other than the shape's. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static bench_options options(void) {
    return (bench_options){.chains = 3, .seed = 7, .hold = 0.01, .garbage = -1,
                           .repeat = 2, .young = 500};
}

static int generate(const char *workload, const bench_options *o, uint64_t n, bench_shape *s) {
    const bench_workload *w = bench_workload_find(workload);
    bench_params p = bench_params_for(o, w, n);
    int st = w->generate(&p, s);
    CHECK(st == GPUGC_OK, "%s n=%llu: generator failed", workload, (unsigned long long)n);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Checks every shape must pass                                              */
/* ------------------------------------------------------------------------ */

static void check_structure(const char *what, const bench_shape *s) {
    CHECK(s->off[0] == 0, "%s: off[0] = %u", what, s->off[0]);
    for (uint64_t i = 0; i < s->n; i++) {
        CHECK(s->off[i + 1] >= s->off[i], "%s: offsets descend at %llu", what,
              (unsigned long long)i);
        CHECK((s->flags[i] & ~(BENCH_HELD | BENCH_GARBAGE)) == 0 &&
                  (s->flags[i] & (BENCH_HELD | BENCH_GARBAGE)) != (BENCH_HELD | BENCH_GARBAGE),
              "%s: object %llu has flags %#x", what, (unsigned long long)i, s->flags[i]);
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            CHECK(s->dst[k] == BENCH_NULL || s->dst[k] < s->n,
                  "%s: slot %u of %llu names %u", what, k - s->off[i],
                  (unsigned long long)i, s->dst[k]);
    }
}

/* Reachability from the held objects, by breadth-first search. */
static uint8_t *reachable(const bench_shape *s) {
    uint8_t *seen = calloc(s->n + 1, 1);
    uint32_t *queue = malloc((s->n + 1) * sizeof *queue);
    size_t head = 0, tail = 0;
    for (uint64_t i = 0; i < s->n; i++)
        if (s->flags[i] & BENCH_HELD) {
            seen[i] = 1;
            queue[tail++] = (uint32_t)i;
        }
    while (head < tail) {
        uint32_t i = queue[head++];
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++) {
            uint32_t j = s->dst[k];
            if (j != BENCH_NULL && !seen[j]) {
                seen[j] = 1;
                queue[tail++] = j;
            }
        }
    }
    free(queue);
    return seen;
}

static void check_promises(const char *what, const bench_shape *s) {
    uint8_t *seen = reachable(s);
    uint8_t *referred = calloc(s->n + 1, 1);
    for (uint64_t i = 0; i < s->n; i++) {
        bool garbage = s->flags[i] & BENCH_GARBAGE;
        CHECK(seen[i] == !garbage, "%s: object %llu is %s but %s from the held ones", what,
              (unsigned long long)i, garbage ? "garbage" : "live",
              seen[i] ? "reachable" : "unreachable");
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            if (garbage && s->dst[k] != BENCH_NULL)
                referred[s->dst[k]] = 1;
    }
    for (uint64_t i = 0; i < s->n; i++)
        CHECK(!(s->flags[i] & BENCH_GARBAGE) || referred[i],
              "%s: garbage object %llu has no garbage referrer: reference counting "
              "would free it", what, (unsigned long long)i);
    free(referred);
    free(seen);
}

static void check_size(const char *what, const bench_shape *s, double garbage) {
    bench_counts c;
    bench_shape_count(s, 0, s->n, &c);
    uint64_t want = (uint64_t)(garbage * (double)s->n + 0.5);
    CHECK(c.garbage == want, "%s: %llu garbage objects, expected %llu", what,
          (unsigned long long)c.garbage, (unsigned long long)want);
    CHECK(c.garbage == s->n || c.held > 0, "%s: live objects but none held", what);
}

static bool same(const bench_shape *a, const bench_shape *b) {
    return a->n == b->n && memcmp(a->off, b->off, (a->n + 1) * sizeof *a->off) == 0 &&
           memcmp(a->flags, b->flags, a->n) == 0 &&
           memcmp(a->dst, b->dst, a->off[a->n] * sizeof *a->dst) == 0;
}

/* ------------------------------------------------------------------------ */
/* Each workload's own shape                                                 */
/* ------------------------------------------------------------------------ */

static uint32_t slots_of(const bench_shape *s, uint64_t i) {
    return s->off[i + 1] - s->off[i];
}

/* The longest path from a held object, in objects (BFS levels). */
static uint64_t depth(const bench_shape *s) {
    uint32_t *level = calloc(s->n + 1, sizeof *level), *queue = malloc((s->n + 1) * 4);
    size_t head = 0, tail = 0;
    uint64_t deepest = 0;
    for (uint64_t i = 0; i < s->n; i++)
        if (s->flags[i] & BENCH_HELD) {
            level[i] = 1;
            queue[tail++] = (uint32_t)i;
        }
    while (head < tail) {
        uint32_t i = queue[head++];
        deepest = level[i] > deepest ? level[i] : deepest;
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            if (s->dst[k] != BENCH_NULL && level[s->dst[k]] == 0) {
                level[s->dst[k]] = level[i] + 1;
                queue[tail++] = s->dst[k];
            }
    }
    free(queue);
    free(level);
    return deepest;
}

static void test_shapes(void) {
    bench_options o = options();
    bench_shape s;
    const uint64_t n = 30000, nl = n - (uint64_t)(0.1 * n + 0.5);
    o.garbage = 0.1;

    if (generate("random", &o, n, &s) == GPUGC_OK)
        for (uint64_t i = 0; i < n; i++)
            CHECK(slots_of(&s, i) == 2, "random: object %llu has %u slots",
                  (unsigned long long)i, slots_of(&s, i));
    bench_shape_free(&s);

    if (generate("list", &o, n, &s) == GPUGC_OK) {
        bench_counts c;
        bench_shape_count(&s, 0, n, &c);
        CHECK(c.held == 3, "list: %llu heads held, expected 3", (unsigned long long)c.held);
        CHECK(depth(&s) == (nl + 2) / 3, "list: chains %llu long, expected %llu",
              (unsigned long long)depth(&s), (unsigned long long)(nl + 2) / 3);
    }
    bench_shape_free(&s);

    if (generate("tree", &o, n, &s) == GPUGC_OK) {
        uint64_t levels = 0;
        while ((UINT64_C(1) << levels) <= nl)
            levels++;
        CHECK(depth(&s) == levels, "tree: %llu levels, expected %llu",
              (unsigned long long)depth(&s), (unsigned long long)levels);
    }
    bench_shape_free(&s);

    o.degree = 16;
    if (generate("powerlaw", &o, UINT64_C(1) << 15, &s) == GPUGC_OK) {
        uint32_t most = 0;
        for (uint64_t i = 0; i < s.n; i++)
            most = slots_of(&s, i) > most ? slots_of(&s, i) : most;
        CHECK(s.off[s.n] == s.n * 16, "powerlaw: %u slots, expected 16 per object", s.off[s.n]);
        CHECK(most > 20 * 16, "powerlaw: the largest out-degree is %u, not skewed", most);
    }
    bench_shape_free(&s);
    o.degree = 0;

    o.garbage = -1; /* pylike's own 15% */
    if (generate("pylike", &o, n, &s) == GPUGC_OK) {
        bench_counts c;
        uint64_t huge = 0, big = 0;
        bench_shape_count(&s, 0, n, &c);
        for (uint64_t i = 0; i < n; i++) {
            huge += slots_of(&s, i) == (n - c.garbage) / 100;
            big += slots_of(&s, i) > 8;
        }
        double leaves = 1.0 - (double)c.tracked / (double)n;
        CHECK(leaves > 0.35 && leaves < 0.45, "pylike: %.0f%% leaves, expected 40%%",
              leaves * 100);
        CHECK(huge == 4 && big == 4, "pylike: %llu huge containers (%llu over 8 slots), "
              "expected 4", (unsigned long long)huge, (unsigned long long)big);
        CHECK(c.garbage == (uint64_t)(0.15 * n + 0.5), "pylike: %llu garbage by default",
              (unsigned long long)c.garbage);
        CHECK(c.edges < c.slots && c.edges > c.slots * 8 / 10,
              "pylike: %llu of %llu slots filled", (unsigned long long)c.edges,
              (unsigned long long)c.slots);
    }
    bench_shape_free(&s);

    o.garbage = 0;
    if (generate("wide", &o, n, &s) == GPUGC_OK) {
        uint64_t wide = 0;
        for (uint64_t i = 0; i < n; i++)
            wide += slots_of(&s, i) >= (n - 4) / 4;
        CHECK(wide == 4, "wide: %llu objects with n/4 slots, expected 4",
              (unsigned long long)wide);
        CHECK(depth(&s) == 2, "wide: depth %llu, expected 2", (unsigned long long)depth(&s));
    }
    bench_shape_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Every workload at every size                                              */
/* ------------------------------------------------------------------------ */

static void test_all_sizes(void) {
    static const uint64_t sizes[] = {1, 2, 3, 5, 64, 1000, 4099};
    static const double garbage[] = {0, 0.15, 0.5, 1};
    bench_options o = options();
    for (size_t w = 0; w < bench_nworkloads; w++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            for (size_t g = 0; g < sizeof garbage / sizeof garbage[0]; g++) {
                const char *name = bench_workloads[w].name;
                char what[96];
                bench_shape a, b;
                o.garbage = garbage[g];
                o.seed = 7;
                snprintf(what, sizeof what, "%s n=%llu garbage=%g", name,
                         (unsigned long long)sizes[k], garbage[g]);
                if (generate(name, &o, sizes[k], &a) == GPUGC_OK) {
                    CHECK(a.n == sizes[k] && a.nold == sizes[k], "%s: %llu objects", what,
                          (unsigned long long)a.n);
                    check_structure(what, &a);
                    check_size(what, &a, garbage[g]);
                    check_promises(what, &a);
                    if (generate(name, &o, sizes[k], &b) == GPUGC_OK)
                        CHECK(same(&a, &b), "%s: the same seed gave another graph", what);
                    bench_shape_free(&b);
                    o.seed = 8;
                    /* list and tree draw nothing, wide only for live objects */
                    bool draws = strcmp(name, "list") != 0 && strcmp(name, "tree") != 0 &&
                                 (strcmp(name, "wide") != 0 || garbage[g] < 1);
                    if (draws && sizes[k] >= 1000 && generate(name, &o, sizes[k], &b) == GPUGC_OK)
                        CHECK(!same(&a, &b), "%s: seeds 7 and 8 gave the same graph", what);
                    bench_shape_free(&b);
                }
                bench_shape_free(&a);
            }
}

/* ------------------------------------------------------------------------ */
/* Pause shapes, and collections in a gpugc heap                             */
/* ------------------------------------------------------------------------ */

static void check_pause(const char *name, bench_shape *s, uint64_t nold) {
    CHECK(s->nold == nold && s->n == nold + 500, "%s pause: %llu + %llu objects", name,
          (unsigned long long)s->nold, (unsigned long long)(s->n - s->nold));
    check_structure(name, s);
    check_promises(name, s);
    uint64_t into_old = 0;
    for (uint64_t i = 0; i < s->n; i++)
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++) {
            uint32_t j = s->dst[k];
            CHECK(i >= nold || j == BENCH_NULL || j < nold,
                  "%s pause: old object %llu references young %u", name,
                  (unsigned long long)i, j);
            into_old += i >= nold && j < nold;
        }
    CHECK(nold == 0 || into_old > 0, "%s pause: no young object references the old heap",
          name);
}

/* Runs the benchmark's measuring loop on a gpugc heap, in this process. */
static void collect(const char *what, bench_options *o, bench_shape *s) {
    bench_runner r = bench_runner_gpugc(GPUGC_BACKEND_CPU);
    bench_job job = {o, s, {0}, {0}, NULL};
    bench_result res = {.runner = "cpu"};
    bench_shape_count(s, 0, s->nold, &job.old);
    bench_shape_count(s, s->nold, s->n, &job.young);
    CHECK(r.run(&r, &job, &res) == 0, "%s: the measured collections failed", what);
    const bench_counts *set = o->mode == BENCH_PAUSE ? &job.young : &job.old;
    CHECK(res.stats.unreachable == set->garbage_tracked && res.stats.objects >= set->tracked,
          "%s: %llu unreachable of %llu, expected %llu of %llu", what,
          (unsigned long long)res.stats.unreachable, (unsigned long long)res.stats.objects,
          (unsigned long long)set->garbage_tracked, (unsigned long long)set->tracked);
}

static void test_collections(void) {
    bench_options o = options();
    const bench_workload *py = bench_workload_find("pylike");
    for (size_t w = 0; w < bench_nworkloads; w++) {
        const bench_workload *wl = &bench_workloads[w];
        bench_shape s;
        o.garbage = 0.2;
        o.mode = BENCH_FULL;
        if (generate(wl->name, &o, 3000, &s) == GPUGC_OK)
            collect(wl->name, &o, &s);
        bench_shape_free(&s);

        for (uint64_t nold = 0; nold <= 2000; nold += 2000) {
            bench_params p = bench_params_for(&o, wl, nold);
            bench_params yp = bench_params_for(&o, py, o.young);
            yp.seed = o.seed + 1;
            o.mode = BENCH_PAUSE;
            CHECK(bench_shape_pause(wl, &p, &yp, &s) == GPUGC_OK, "%s: pause shape failed",
                  wl->name);
            if (s.off != NULL && s.n == nold + o.young) {
                check_pause(wl->name, &s, nold);
                collect(wl->name, &o, &s);
            }
            bench_shape_free(&s);
        }
    }
}

int main(void) {
    test_all_sizes();
    test_shapes();
    test_collections();
    if (failures > 0) {
        fprintf(stderr, "test_workload: %d checks failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("test_workload: all checks passed");
    return EXIT_SUCCESS;
}

/* concurrent.c - gpugc-bench --concurrent: what background collection
 * (gpugc_collect_start/_ready/_finish) does to the program's pauses.
 *
 * Part one, the heap pause: a random heap (degree 2, a tenth held from C
 * unless --hold says otherwise) on each gpugc backend; a stop-the-world
 * full collection is the reference, then full collections in the
 * background while the program allocates an object and stores it into a
 * slot of a held object, step after step, each step timed.  The first
 * background start copies the whole heap into the snapshot; later ones
 * copy what changed, so the later rounds are the steady state.
 *
 * Part two, the steady state: interp (program.c) with the collector's
 * default (stop-the-world) beside background marking (gpugc's
 * cfg.concurrent) or incremental marking (Boehm), pauses as each
 * collector reports them, and CPython, whose pause is a whole collection.
 * Every run in a child process of its own. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { IDLE_MIN_STEPS = 200000, READY_EVERY = 64, MAX_ROUNDS = 16 };
#define TARGET_SIZE 16000000u /* from here on the target is 1/20 */

const char *bench_gc_mode_name(int mode) {
    static const char *const names[BENCH_GC_MODES] = {"stop-the-world", "background",
                                                      "incremental"};
    return mode >= 0 && mode < BENCH_GC_MODES ? names[mode] : "?";
}

/* ------------------------------------------------------------------------ */
/* Pauses                                                                    */
/* ------------------------------------------------------------------------ */

int bench_pauses_add(bench_pauses *p, uint64_t ns) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        uint64_t *ns_new = realloc(p->ns, cap * sizeof *ns_new);
        if (ns_new == NULL) {
            fprintf(stderr, "gpugc-bench: no memory for the list of pauses\n");
            return -1;
        }
        p->ns = ns_new;
        p->cap = cap;
    }
    p->ns[p->n++] = ns;
    return 0;
}

static int by_ns(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void bench_pauses_done(bench_pauses *p, bench_steady_result *res) {
    uint64_t total = 0;
    if (p->n > 0) /* a run without pauses has no list at all */
        qsort(p->ns, p->n, sizeof *p->ns, by_ns);
    for (size_t i = 0; i < p->n; i++)
        total += p->ns[i];
    res->pauses = p->n;
    res->r.gc_ms = (double)total / 1e6;
    res->r.max_pause_ms = p->n > 0 ? (double)p->ns[p->n - 1] / 1e6 : NAN;
    /* nearest rank: the smallest pause that 99% of them do not exceed */
    res->p99_pause_ms = p->n > 0 ? (double)p->ns[(99 * p->n + 99) / 100 - 1] / 1e6 : NAN;
    free(p->ns);
    *p = (bench_pauses){0};
}

double bench_bg_longest_ms(const bench_bg_result *r) {
    return fmax(r->start_ms[1], fmax(r->finish_ms[1], r->call_ms[1]));
}

double bench_bg_target(uint64_t objects) {
    return objects >= TARGET_SIZE ? 1.0 / 20 : 1.0 / 10;
}

/* ------------------------------------------------------------------------ */
/* Part one: the heap pause                                                  */
/* ------------------------------------------------------------------------ */

typedef struct bg_run {
    const bench_options *o;
    const bench_runner *r;
    const bench_shape *s;
    uint64_t held;
} bg_run;

/* The program's side of the heap: its objects, the held ones, the step's
 * random choice of which to write. */
typedef struct mutator {
    gpugc_heap *h;
    bool fail_mark; /* GPUGC_BENCH_FAULT=RUNNER:mark: every background mark fails */
    void **held;
    uint64_t nheld, rng;
    uint32_t slot; /* the last slot: slot 0 keeps the heap's cycle, so the
                      whole heap stays reachable and every collection must
                      find no garbage */
} mutator;

static _Noreturn void fail(gpugc_heap *h, const char *what) {
    fprintf(stderr, "gpugc-bench: %s failed: %s\n", what, gpugc_last_error_message(h));
    exit(EXIT_FAILURE);
}

/* One step: a new object into a held object's slot (the one there dies by
 * count); its duration in ns. */
static uint64_t step(mutator *m) {
    m->rng = m->rng * 6364136223846793005u + 1442695040888963407u;
    void *target = m->held[(m->rng >> 33) % m->nheld];
    uint64_t t0 = bench_now_ns();
    void *o = gpugc_new(m->h, GPUGC_TYPE_OBJECT, 2, 16);
    if (o == NULL)
        fail(m->h, "gpugc_new");
    if (gpugc_set_ref(m->h, target, m->slot, o) != GPUGC_OK)
        fail(m->h, "gpugc_set_ref");
    gpugc_decref(m->h, o);
    return bench_now_ns() - t0;
}

/* The heap of r built from s; its held objects into m->held. */
static gpugc_heap *build(const bg_run *run, mutator *m) {
    const bench_shape *s = run->s;
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = run->r->backend;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    void **objs = malloc(s->n * sizeof *objs + 1);
    m->held = malloc(run->held * sizeof *m->held + 1);
    if (h == NULL || objs == NULL || m->held == NULL) {
        fprintf(stderr, "gpugc-bench: %s: no heap: %s\n", run->r->name,
                gpugc_last_error_message(h));
        exit(EXIT_FAILURE);
    }
    gpugc_disable(h); /* only the collections asked for run */
    bench_progress_begin("%s: building %llu objects", run->r->name, (unsigned long long)s->n);
    for (uint64_t i = 0; i < s->n; i++)
        if ((objs[i] = gpugc_new(h, GPUGC_TYPE_OBJECT, s->off[i + 1] - s->off[i], 16)) == NULL)
            fail(h, "gpugc_new");
    for (uint64_t i = 0; i < s->n; i++) {
        bench_tick(i, s->n);
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            if (s->dst[k] != BENCH_NULL &&
                gpugc_set_ref(h, objs[i], k - s->off[i], objs[s->dst[k]]) != GPUGC_OK)
                fail(h, "gpugc_set_ref");
    }
    bench_progress_end();
    m->nheld = 0;
    for (uint64_t i = 0; i < s->n; i++) {
        if (s->flags[i] & BENCH_HELD)
            m->held[m->nheld++] = objs[i];
        else
            gpugc_decref(h, objs[i]);
    }
    free(objs);
    m->h = h;
    return h;
}

/* A collection's unreachable count must be the shape's garbage (the
 * first) or none (the heap stays reachable: see mutator.slot). */
static void check_found(const bg_run *run, gpugc_heap *h, int64_t found, uint64_t expect,
                        const char *which) {
    if (found < 0)
        fail(h, which);
    if ((uint64_t)found != expect) {
        fprintf(stderr, "gpugc-bench: %s: the %s found %lld unreachable objects, "
                "expected %llu\n", run->r->name, which, (long long)found,
                (unsigned long long)expect);
        exit(EXIT_FAILURE);
    }
}

/* One background collection while the program goes on: the pauses into
 * slot k of res (the worst so far for k = 1), steps and time into *steps
 * and *ns; returns its longest pause. */
static double background_round(const bg_run *run, mutator *m, bench_bg_result *res, int k,
                               uint64_t *steps, uint64_t *ns) {
    if (m->fail_mark)
        gpugc_inject_fault(m->h, GPUGC_FAULT_MARK, 0);
    uint64_t longest = 0, n = 0, t0 = bench_now_ns();
    if (gpugc_collect_start(m->h, 2) != GPUGC_OK)
        fail(m->h, "gpugc_collect_start");
    uint64_t t1 = bench_now_ns();
    /* A batch of steps at least: a small heap's mark may be over before
     * the program's first step. */
    int ready;
    do {
        for (int i = 0; i < READY_EVERY; i++, n++) {
            uint64_t d = step(m);
            longest = d > longest ? d : longest;
        }
    } while ((ready = gpugc_collect_ready(m->h)) == 0);
    if (ready < 0)
        fail(m->h, "gpugc_collect_ready");
    uint64_t t2 = bench_now_ns();
    int64_t found = gpugc_collect_finish(m->h);
    uint64_t t3 = bench_now_ns();
    if (found < 0)
        fail(m->h, "gpugc_collect_finish");
    check_found(run, m->h, found, 0, "background collection");
    gpugc_collection_stats st;
    if (gpugc_last_collection(m->h, &st, sizeof st) != GPUGC_OK || !st.background)
        fail(m->h, "gpugc_last_collection after gpugc_collect_finish");
    double v[] = {(double)(t1 - t0) / 1e6, (double)(t3 - t2) / 1e6, (double)longest / 1e6,
                  (double)st.pause_start_ns / 1e6, (double)st.pause_finish_ns / 1e6,
                  (double)(t2 - t0) / 1e6};
    double *into[] = {res->start_ms, res->finish_ms, res->call_ms, res->stats_start_ms,
                      res->stats_finish_ms, res->mark_ms};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        into[i][k] = k == 0 ? v[i] : fmax(into[i][k], v[i]);
    if (k > 0) {
        *steps += n;
        *ns += t2 - t1;
        res->backend_ran = st.backend;
        res->fallback |= st.fallback;
        res->snapshot_bytes_per_object = (double)st.snapshot_bytes / (double)run->s->n;
    }
    res->set_objects = st.objects;
    return fmax(v[0], fmax(v[1], v[2]));
}

static int by_ms(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bg_child(void *arg, void *buf) {
    const bg_run *run = arg;
    const bench_options *o = run->o;
    bench_bg_result *res = buf;
    const char *fault = bench_fault(run->r->name);
    bench_fault_crash_or_hang(fault);
    bench_rss_reset();
    mutator m = {.fail_mark = fault != NULL && strcmp(fault, "mark") == 0, .rng = o->seed,
                 .slot = run->s->off[1] - run->s->off[0] - 1};
    gpugc_heap *h = build(run, &m);
    bench_counts c;
    bench_shape_count(run->s, 0, run->s->n, &c);
    /* The first collection finds the shape's garbage and ages the heap
     * into generation 2; the timed ones find none. */
    check_found(run, h, gpugc_collect(h, 2), c.garbage_tracked, "first collection");
    double stw[BENCH_MAX_LIST];
    unsigned nstw = o->repeat < BENCH_MAX_LIST ? o->repeat : BENCH_MAX_LIST;
    for (unsigned i = 0; i < nstw; i++) {
        uint64_t t0 = bench_now_ns();
        check_found(run, h, gpugc_collect(h, 2), 0, "stop-the-world collection");
        stw[i] = (double)(bench_now_ns() - t0) / 1e6;
    }
    qsort(stw, nstw, sizeof stw[0], by_ms);
    res->stw_ms = stw[nstw / 2];

    /* The later rounds: --repeat of them, at least 2, at most MAX_ROUNDS */
    uint64_t steps = 0, ns = 0;
    double longest_of[MAX_ROUNDS];
    res->rounds = 1 + (o->repeat < 2 ? 2 : o->repeat > MAX_ROUNDS ? MAX_ROUNDS : o->repeat);
    for (unsigned k = 0; k < res->rounds; k++) {
        double longest = background_round(run, &m, res, k > 0, &steps, &ns);
        if (k > 0)
            longest_of[k - 1] = longest;
    }
    qsort(longest_of, res->rounds - 1, sizeof longest_of[0], by_ms);
    res->median_pause_ms = longest_of[(res->rounds - 1) / 2];
    res->steps_per_s = ns > 0 ? (double)steps * 1e9 / (double)ns : NAN;

    /* The same loop with no collection pending, as many steps */
    uint64_t idle = steps / (res->rounds - 1), longest = 0;
    idle = idle > IDLE_MIN_STEPS ? idle : IDLE_MIN_STEPS;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < idle; i++) {
        uint64_t d = step(&m);
        longest = d > longest ? d : longest;
    }
    res->idle_steps_per_s = (double)idle * 1e9 / (double)(bench_now_ns() - t0);
    res->idle_call_ms = (double)longest / 1e6;
    res->peak_rss = bench_peak_rss();
    snprintf(res->note, sizeof res->note,
             "%u stop-the-world and %u background full collections (the first apart); "
             "a step: gpugc_new + gpugc_set_ref + gpugc_decref", nstw, res->rounds);
    gpugc_heap_free(h);
    free(m.held);
    return 0;
}

/* Bytes a heap pause run needs at its peak: the parent's shape (with the
 * generator's scratch while generating), the heap, the held objects, and
 * the snapshot at twice the objects (the id space outgrows its capacity
 * with the objects made during the marks). */
static uint64_t bg_needs(const bench_workload *w, const bench_params *p, const bench_runner *r) {
    uint64_t slots = p->n * p->degree;
    bench_counts c = {.objects = p->n, .slots = slots, .edges = slots, .tracked = p->n};
    uint64_t generating = bench_shape_bytes(w, p, 0);
    uint64_t running = 5 * p->n + 4 * slots + r->estimate(&c) + 8 * p->n +
                       2 * (36 * p->n + 4 * slots);
    return generating > running ? generating : running;
}

/* Whether r cannot run at p in avail bytes: then rec says why, unless
 * --no-memory-check makes that a warning. */
static bool bg_refused(const bench_options *o, const bench_workload *w, const bench_params *p,
                       const bench_runner *r, uint64_t avail, bench_bg_record *rec) {
    uint64_t need = bg_needs(w, p, r);
    if (need <= avail)
        return false;
    snprintf(rec->message, sizeof rec->message,
             "needs about %.1f GiB of memory, this machine has %.1f GiB to give",
             (double)need / (1u << 30), (double)avail / (1u << 30));
    fprintf(stderr, "gpugc-bench: %s: the heap pause with %llu objects on %s %s%s\n",
            o->no_memory_check ? "warning" : "refusing", (unsigned long long)p->n, r->name,
            rec->message, o->no_memory_check ? "; running it anyway (--no-memory-check)" : "");
    return !o->no_memory_check;
}

/* Part one at size n on every gpugc runner; appends a record each.  *rc:
 * -1 when one failed, 1 when one was refused. */
static void bg_size(const bench_options *o, uint64_t n, const bench_runner *runners,
                    size_t nrunners, bench_bg_record *out, size_t *nout, int *rc) {
    const bench_workload *w = bench_workload_find("random");
    bench_params p = bench_params_for(o, w, n);
    if (!o->hold_given)
        p.hold = 0.1;
    uint64_t avail = bench_memory_available();
    avail -= avail / 10;
    enum { MAX_RUNNERS = GPUGC_BACKEND_COUNT + BENCH_MAX_LIST };
    bool refused[MAX_RUNNERS] = {false}, wanted = false;
    char why[MAX_RUNNERS][256];
    for (size_t i = 0; i < nrunners && i < MAX_RUNNERS; i++) {
        bench_bg_record probe = {0};
        refused[i] = !runners[i].peer && bg_refused(o, w, &p, &runners[i], avail, &probe);
        snprintf(why[i], sizeof why[i], "%s", probe.message);
        wanted |= !runners[i].peer && !refused[i];
    }
    bench_shape s = {0};
    bench_progress_begin("generating random, %llu objects", (unsigned long long)n);
    int st = wanted ? w->generate(&p, &s) : GPUGC_OK;
    bench_progress_end();
    bench_counts c = {0};
    if (st == GPUGC_OK)
        bench_shape_count(&s, 0, s.n, &c);
    for (size_t i = 0; i < nrunners; i++) {
        const bench_runner *r = &runners[i];
        if (r->peer)
            continue;
        bench_bg_record *rec = &out[(*nout)++];
        *rec = (bench_bg_record){BENCH_OK, "", p.seed, p.hold, p.degree, {.objects = n}};
        snprintf(rec->r.runner, sizeof rec->r.runner, "%s", r->name);
        rec->r.held = c.held;
        char what[96];
        snprintf(what, sizeof what, "the %s heap pause run, %llu objects", r->name,
                 (unsigned long long)n);
        if (refused[i]) {
            snprintf(rec->message, sizeof rec->message, "%s", why[i]);
            rec->status = BENCH_REFUSED;
            printf("  %-13s refused: %s\n", r->name, rec->message);
            *rc = *rc < 0 ? *rc : 1;
            continue;
        }
        if (st != GPUGC_OK) {
            rec->status = BENCH_FAILED;
            snprintf(rec->message, sizeof rec->message, "generating the heap failed");
        } else if (bench_stop_signal() != 0) {
            rec->status = BENCH_STOPPED;
            snprintf(rec->message, sizeof rec->message, "not run: gpugc-bench got signal %d",
                     bench_stop_signal());
        } else {
            bench_bg_result res = rec->r;
            rec->status = bench_in_child(bg_child, &(bg_run){o, r, &s, c.held}, &res,
                                         sizeof res, what, rec->message, sizeof rec->message);
            if (rec->status == BENCH_OK)
                rec->r = res;
        }
        if (rec->status != BENCH_OK) {
            printf("  %-13s %s: %s\n", r->name, bench_status_name(rec->status), rec->message);
            *rc = -1;
            continue;
        }
        double longest = bench_bg_longest_ms(&rec->r);
        printf("  %-13s %llu objects: stop-the-world %.1f ms, longest background pause "
               "%.2f ms (1/%.1f)\n", r->name, (unsigned long long)n, rec->r.stw_ms, longest,
               rec->r.stw_ms / longest);
    }
    bench_shape_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Part two: the steady state                                                */
/* ------------------------------------------------------------------------ */

typedef struct steady_run {
    const bench_runner *r;
    int mode;
    const bench_program_job *job;
} steady_run;

static int steady_child(void *arg, void *buf) {
    const steady_run *sr = arg;
    bench_steady_result *res = buf;
    bench_rss_reset();
    res->mode = sr->mode;
    int rc = sr->r->steady(sr->r, sr->mode, sr->job, res);
    if (res->r.peak_rss == 0)
        res->r.peak_rss = bench_peak_rss();
    return rc;
}

static int steady_all(const bench_options *o, const bench_runner *runners, size_t nrunners,
                      bench_steady_record *out, size_t *nout) {
    bench_program_job job = {bench_program_find("interp"), 0, o->steady,
                             o->steady * BENCH_INTERP_STEPS_PER_OBJECT, o->seed, o->cycles};
    size_t first = *nout;
    printf("interp, %llu objects, steady state:\n", (unsigned long long)o->steady);
    for (size_t i = 0; i < nrunners; i++) {
        const bench_runner *r = &runners[i];
        for (int mode = 0; r->steady != NULL && mode < BENCH_GC_MODES; mode++) {
            if (!(r->steady_modes & BENCH_GC_BIT(mode)))
                continue;
            bench_steady_record *rec = &out[*nout];
            *rec = (bench_steady_record){job, {{.peer = r->peer}, mode, 0, NAN}};
            snprintf(rec->s.r.runner, sizeof rec->s.r.runner, "%s", r->name);
            char what[128], why[256];
            snprintf(what, sizeof what, "the %s %s run of interp", r->name,
                     bench_gc_mode_name(mode));
            bench_progress_begin("interp: %s, %s", r->name, bench_gc_mode_name(mode));
            bench_status st = bench_in_child(steady_child, &(steady_run){r, mode, &job},
                                             &rec->s, sizeof rec->s, what, why, sizeof why);
            bench_progress_end();
            if (st != BENCH_OK)
                return -1;
            printf("  %-13s %-15s %10.1f ms, %llu pauses, longest %.3f ms\n", r->name,
                   bench_gc_mode_name(mode), rec->s.r.total_ms,
                   (unsigned long long)rec->s.pauses, rec->s.r.max_pause_ms);
            (*nout)++;
        }
    }
    for (size_t i = first + 1; i < *nout; i++)
        if (strcmp(out[i].s.r.check, out[first].s.r.check) != 0) {
            fprintf(stderr, "gpugc-bench: interp's steady state: the runners disagree on the "
                    "check values (%s):\n", job.program->checks);
            for (size_t k = first; k < *nout; k++)
                fprintf(stderr, "  %-13s %-15s %s\n", out[k].s.r.runner,
                        bench_gc_mode_name(out[k].s.mode), out[k].s.r.check);
            return -1;
        }
    return 0;
}

size_t bench_concurrent_count(const bench_options *o, size_t nrunners) {
    return o->concurrent ? nrunners * (o->nsizes + BENCH_GC_MODES) : 0;
}

int bench_concurrent_run(const bench_options *o, const bench_runner *runners, size_t nrunners,
                         bench_bg_record *bg, size_t *nbg, bench_steady_record *steady,
                         size_t *nsteady) {
    int rc = 0; /* -1: a run failed; 1: runs were only refused */
    printf("heap pause: random heaps, full collections stopping the world and in the "
           "background:\n");
    for (size_t k = 0; k < o->nsizes && bench_stop_signal() == 0; k++)
        bg_size(o, o->sizes[k], runners, nrunners, bg, nbg, &rc);
    if (bench_stop_signal() == 0 && steady_all(o, runners, nrunners, steady, nsteady) != 0)
        rc = -1;
    return rc;
}

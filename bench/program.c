/* program.c - the whole programs and the microbenchmark, runner-neutral:
 * what each program is, interp's seeded steps (which every C runner
 * replays and peer_programs.py draws the same way), the microbenchmark's
 * rows and timing, and the runs: each in a child process of its own, the
 * check values of every runner compared, since a collector that frees a
 * live object or keeps a wrong one shows there first. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const bench_program bench_programs[] = {
    {"binary-trees", BENCH_BINARY_TREES,
     "the Benchmarks Game's, trees up to --depth + 1",
     "nodes of: the stretch tree, the trees of each depth (summed), the long-lived tree",
     false},
    {"gcbench", BENCH_GCBENCH,
     "Ellis, Kovac and Boehm's GCBench, trees up to --depth + 2",
     "nodes of: the stretch tree, per depth the last top-down plus the last "
     "bottom-up tree, the long-lived tree (walked at the end); array[1000] * 1000",
     false},
    {"interp", BENCH_INTERP,
     "an interpreter's churn around a live set of --objects",
     "table entries alive at the end, objects created, a hash of every entry's id "
     "and its slots' ids",
     true},
};
const size_t bench_nprograms = sizeof bench_programs / sizeof bench_programs[0];

const bench_program *bench_program_find(const char *name) {
    for (size_t i = 0; i < bench_nprograms; i++)
        if (strcmp(bench_programs[i].name, name) == 0)
            return &bench_programs[i];
    return NULL;
}

void bench_check_add(bench_program_result *res, uint64_t v) {
    size_t len = strlen(res->check);
    snprintf(res->check + len, sizeof res->check - len, "%s%llu", len > 0 ? " " : "",
             (unsigned long long)v);
}

/* ------------------------------------------------------------------------ */
/* interp's steps                                                            */
/* ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Slot counts by 4 random bits: most objects small, a quarter atoms
 * without slots, as a CPython heap has them. */
static const uint32_t slot_counts[16] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8};

void bench_interp_init(bench_interp *it, const bench_program_job *job) {
    /* Of the steps that make no cycle: 40% create, 30% link, 10% resize,
     * 20% drop.  Integer arithmetic, so that Python gets the same. */
    uint32_t cyc = (uint32_t)(job->cycles * 65536.0 + 0.5);
    uint32_t rest = 65536u - (cyc > 65536u ? 65536u : cyc);
    *it = (bench_interp){.rng = job->seed, .n = job->objects, .steps = job->steps};
    it->t_cycle = 65536u - rest;
    it->t_create = it->t_cycle + rest * 40 / 100;
    it->t_link = it->t_create + rest * 30 / 100;
    it->t_resize = it->t_link + rest * 10 / 100;
}

bool bench_interp_next(bench_interp *it, bench_interp_op *op) {
    uint64_t n = it->n, s = it->step++;
    if (s < n) {
        uint64_t z = splitmix64(&it->rng);
        *op = (bench_interp_op){BENCH_OP_CREATE, s, (z >> 8) % n, slot_counts[z & 15]};
        return true;
    }
    if (s >= n + it->steps)
        return false;
    uint64_t z = splitmix64(&it->rng);
    uint32_t p = (uint32_t)(z & 0xffff);
    op->i = (z >> 20) % n;
    op->j = 0;
    op->k = slot_counts[(z >> 16) & 15];
    if (p < it->t_link) { /* cycle, create and link draw a second number */
        uint64_t y = splitmix64(&it->rng);
        op->kind = p < it->t_cycle ? BENCH_OP_CYCLE
                   : p < it->t_create ? BENCH_OP_CREATE : BENCH_OP_LINK;
        op->j = (y >> 8) % n;
        if (op->kind == BENCH_OP_CREATE)
            op->k = slot_counts[y & 15];
        else if (op->kind == BENCH_OP_CYCLE)
            op->k = 2 + (uint32_t)(y & 3);
        else
            op->k = (uint32_t)(y >> 56);
    } else {
        op->kind = p < it->t_resize ? BENCH_OP_RESIZE : BENCH_OP_DROP;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The microbenchmark                                                        */
/* ------------------------------------------------------------------------ */

#define ALLOC_ROWS(size)                                                             \
    {BENCH_MICRO_NEW, "new", size, 0}, {BENCH_MICRO_NEW, "new", size, 2},            \
    {BENCH_MICRO_FREE, "free", size, 0}, {BENCH_MICRO_FREE, "free", size, 2},        \
    {BENCH_MICRO_NEW_FREE, "new+free", size, 0}, {BENCH_MICRO_NEW_FREE, "new+free", size, 2}

/* Payloads of 16 to 496 bytes fill gpugc's size classes of 32 to 512
 * (with its 8-byte header and a class of 16), 4096 bytes is a large one. */
const bench_micro_row bench_micro_rows[] = {
    ALLOC_ROWS(16), ALLOC_ROWS(48), ALLOC_ROWS(112), ALLOC_ROWS(240), ALLOC_ROWS(496),
    ALLOC_ROWS(4096),
    {BENCH_MICRO_INCREF, "incref", 16, 2},
    {BENCH_MICRO_DECREF, "decref", 16, 2},
    {BENCH_MICRO_INCREF_DECREF, "incref+decref", 16, 2},
    {BENCH_MICRO_SET_REF, "set_ref", 16, 2},
    {BENCH_MICRO_GET_REF, "get_ref", 16, 2},
    {BENCH_MICRO_RESIZE, "resize_refs", 16, 2},
    {BENCH_MICRO_FREE_TREE, "free tree", 0, 2},
};
const size_t bench_nmicro_rows = sizeof bench_micro_rows / sizeof bench_micro_rows[0];
_Static_assert(sizeof bench_micro_rows / sizeof bench_micro_rows[0] <= BENCH_MICRO_MAX,
               "bench_micro_result.ns holds a figure per row");

uint64_t bench_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_micro_median(double (*round)(void *arg), void *arg) {
    double v[BENCH_MICRO_ROUNDS];
    for (size_t i = 0; i < BENCH_MICRO_ROUNDS; i++)
        v[i] = round(arg);
    qsort(v, BENCH_MICRO_ROUNDS, sizeof v[0], by_double);
    return v[BENCH_MICRO_ROUNDS / 2];
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct program_run {
    const bench_runner *r;
    const bench_program_job *job;
} program_run;

static int program_child(void *arg, void *buf) {
    const program_run *pr = arg;
    bench_program_result *res = buf;
    bench_rss_reset();
    int rc = pr->r->program(pr->r, pr->job, res);
    if (res->peak_rss == 0)
        res->peak_rss = bench_peak_rss();
    return rc;
}

static int micro_child(void *arg, void *buf) {
    const bench_runner *r = arg;
    bench_micro_result *res = buf;
    bench_rss_reset();
    for (size_t i = 0; i < BENCH_MICRO_MAX; i++)
        res->ns[i] = NAN;
    int rc = r->micro(r, res);
    res->peak_rss = bench_peak_rss();
    return rc;
}

/* The jobs of o: each program once, interp once per --objects size. */
static size_t program_jobs(const bench_options *o, bench_program_job *jobs) {
    size_t n = 0;
    for (size_t p = 0; p < o->nprograms; p++) {
        const bench_program *prog = o->programs[p];
        bool sized = prog->id == BENCH_INTERP;
        size_t nsizes = sized && o->sizes_given ? o->nsizes : 1;
        for (size_t k = 0; k < nsizes; k++) {
            uint64_t objects = sized ? (o->sizes_given ? o->sizes[k] : 100000) : 0;
            if (jobs != NULL)
                jobs[n] = (bench_program_job){
                    prog, sized ? 0 : o->depth, objects,
                    objects * BENCH_INTERP_STEPS_PER_OBJECT, o->seed, sized ? o->cycles : 0};
            n++;
        }
    }
    return n;
}

size_t bench_programs_count(const bench_options *o) {
    return program_jobs(o, NULL);
}

static void job_label(const bench_program_job *job, char *buf, size_t size) {
    if (job->program->id == BENCH_INTERP)
        snprintf(buf, size, "%s, %llu objects", job->program->name,
                 (unsigned long long)job->objects);
    else
        snprintf(buf, size, "%s, depth %u", job->program->name, job->depth);
}

int bench_programs_run(const bench_options *o, const bench_runner *runners, size_t nrunners,
                       bench_program_record *records, size_t *nrecords, bench_skip *skips,
                       size_t *nskips) {
    size_t njobs = program_jobs(o, NULL);
    bench_program_job *jobs = calloc(njobs + 1, sizeof *jobs);
    if (jobs == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for the programs\n");
        return -1;
    }
    program_jobs(o, jobs);
    int rc = 0;
    for (size_t j = 0; j < njobs && rc == 0; j++) {
        const bench_program_job *job = &jobs[j];
        char label[96];
        size_t first = *nrecords;
        job_label(job, label, sizeof label);
        printf("%s:\n", label);
        for (size_t i = 0; i < nrunners && rc == 0; i++) {
            const bench_runner *r = &runners[i];
            if (r->program == NULL)
                continue;
            if (job->program->cycles && strcmp(r->name, "malloc") == 0)
                continue; /* noted once below, not per size */
            bench_program_record *rec = &records[*nrecords];
            *rec = (bench_program_record){*job, {.peer = r->peer}};
            snprintf(rec->r.runner, sizeof rec->r.runner, "%s", r->name);
            char what[128];
            snprintf(what, sizeof what, "the %s run of %s", r->name, label);
            bench_progress_begin("%s: %s", label, r->name);
            char why[256];
            rc = bench_in_child(program_child, &(program_run){r, job}, &rec->r,
                                sizeof rec->r, what, why, sizeof why) == BENCH_OK ? 0 : -1;
            bench_progress_end();
            if (rc != 0)
                break;
            printf("  %-13s %10.1f ms, %llu collections\n", r->name, rec->r.total_ms,
                   (unsigned long long)rec->r.collections);
            (*nrecords)++;
        }
        for (size_t i = first + 1; i < *nrecords; i++)
            if (strcmp(records[i].r.check, records[first].r.check) != 0) {
                fprintf(stderr, "gpugc-bench: %s: the runners disagree on the check values "
                        "(%s):\n", label, job->program->checks);
                for (size_t k = first; k < *nrecords; k++)
                    fprintf(stderr, "  %-13s %s\n", records[k].r.runner, records[k].r.check);
                rc = -1;
                break;
            }
    }
    /* malloc/free leaks every cycle: it does not run programs that make
     * them.  Said once per program. */
    for (size_t p = 0; p < o->nprograms; p++)
        for (size_t i = 0; i < nrunners; i++)
            if (o->programs[p]->cycles && strcmp(runners[i].name, "malloc") == 0) {
                bench_skip *s = &skips[(*nskips)++];
                *s = (bench_skip){.runner = "malloc", .program = o->programs[p]};
                snprintf(s->reason, sizeof s->reason,
                         "%s makes garbage cycles, which malloc/free cannot free",
                         o->programs[p]->name);
            }
    free(jobs);
    return rc;
}

int bench_micro_run(const bench_runner *runners, size_t nrunners, bench_micro_result *out,
                    size_t *nout) {
    bool gpugc_ran = false;
    for (size_t i = 0; i < nrunners; i++) {
        const bench_runner *r = &runners[i];
        if (r->micro == NULL || (!r->peer && gpugc_ran))
            continue;
        gpugc_ran |= !r->peer;
        bench_micro_result *res = &out[*nout];
        memset(res, 0, sizeof *res);
        /* gpugc's operations do not depend on the backend: one run, on a
         * heap with the defaults, named for the library. */
        snprintf(res->runner, sizeof res->runner, "%s", r->peer ? r->name : "gpugc");
        char what[64];
        snprintf(what, sizeof what, "the %s microbenchmark", res->runner);
        bench_progress_begin("micro: %s", res->runner);
        char why[256];
        int rc = bench_in_child(micro_child, (void *)r, res, sizeof *res, what, why,
                                sizeof why) == BENCH_OK ? 0 : -1;
        bench_progress_end();
        if (rc != 0)
            return -1;
        printf("micro: %s done\n", res->runner);
        (*nout)++;
    }
    return 0;
}

/* report.c - what gpugc-bench prints: the human tables on stdout, and the
 * JSON and CSV files that SCHEMA.md describes.  Both files are written from
 * one walk over a record's fields (run_fields for collection runs,
 * program_fields, micro_fields, bg_fields and steady_fields for
 * --concurrent), and stage figures come from
 * walking GPUGC_COLLECTION_STATS, so a stage the library adds shows up
 * everywhere without a change here. */
#include "bench.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* The statistics fields, walked once                                        */
/* ------------------------------------------------------------------------ */

#define BENCH_STAT_NAME(type, name, doc) #name,
static const char *const stat_names[] = {GPUGC_COLLECTION_STATS(BENCH_STAT_NAME)};
#undef BENCH_STAT_NAME

/* Every field of *s, in header order, as a double. */
static void stat_values(const gpugc_collection_stats *s, double v[BENCH_NSTATS]) {
#define BENCH_STAT_VALUE(type, name, doc) (double)s->name,
    const double all[] = {GPUGC_COLLECTION_STATS(BENCH_STAT_VALUE)};
#undef BENCH_STAT_VALUE
    memcpy(v, all, sizeof all);
}

/* The stage a field times ("sync" for ns_sync), or NULL for other fields. */
static const char *stat_stage(size_t i) {
    return strncmp(stat_names[i], "ns_", 3) == 0 ? stat_names[i] + 3 : NULL;
}

/* The stages of the mark phase: all but the sweep and the total. */
static bool stat_in_mark(size_t i) {
    return stat_stage(i) != NULL && i != BENCH_STAT_ns_sweep && i != BENCH_STAT_ns_total;
}

/* ------------------------------------------------------------------------ */
/* Derived figures                                                           */
/* ------------------------------------------------------------------------ */

static bool pausing(const bench_report *rep) {
    return rep->o->mode == BENCH_PAUSE;
}

/* What the timed collections examined, per the shape. */
static const bench_counts *set_of(const bench_report *rep, const bench_record *rec) {
    return pausing(rep) ? &rec->young : &rec->old;
}

/* A run that measured something; the others hold a status and a message. */
static bool ran_ok(const bench_record *rec) {
    return rec->status == BENCH_OK;
}

static bool measured(const bench_record *rec, size_t field) {
    return (rec->r.measured >> field) & 1u;
}

static double collect_ms(const bench_record *rec) {
    return (double)rec->r.stats.ns_total / 1e6;
}

/* The whole mark phase, transfers included; NAN when the runner cannot
 * tell its stages apart. */
static double mark_ms(const bench_record *rec) {
    double v[BENCH_NSTATS], sum = 0;
    bool any = false;
    stat_values(&rec->r.stats, v);
    for (size_t i = 0; i < BENCH_NSTATS; i++)
        if (stat_in_mark(i) && measured(rec, i)) {
            sum += v[i];
            any = true;
        }
    return any ? sum / 1e6 : NAN;
}

/* Collect time per object of the heap (full) or per young object (pause). */
static double per_object_ns(const bench_report *rep, const bench_record *rec) {
    uint64_t n = pausing(rep) ? rec->young.objects : rec->objects;
    return collect_ms(rec) * 1e6 / (double)(n > 0 ? n : 1);
}

static double per_heap_object(const bench_record *rec, double bytes) {
    return bytes / (double)(rec->r.heap_objects > 0 ? rec->r.heap_objects : 1);
}

/* The backend whose marks the collection used (the CPU reference after a
 * fallback); a peer is its own. */
static const char *ran_name(const bench_record *rec) {
    const char *name = rec->r.peer ? rec->r.runner
                                   : gpugc_backend_name((gpugc_backend)rec->r.stats.backend);
    return name != NULL ? name : "an unknown backend";
}

static bool same_group(const bench_record *a, const bench_record *b) {
    return a->workload == b->workload && a->objects == b->objects;
}

/* How many times faster rec collected than the run called ref on the same
 * workload and size; NAN when there is no such run. */
static double speedup(const bench_report *rep, const bench_record *rec, const char *ref) {
    for (size_t i = 0; i < rep->nrecords && ran_ok(rec); i++) {
        const bench_record *r = &rep->records[i];
        if (ran_ok(r) && same_group(r, rec) && strcmp(r->r.runner, ref) == 0)
            return collect_ms(r) / collect_ms(rec);
    }
    return NAN;
}

/* The runs speedups are given against: the serial reference and every
 * peer, in the order they ran. */
enum { MAX_REFS = 8 };
static size_t speedup_refs(const bench_report *rep, const char *refs[MAX_REFS]) {
    size_t n = 0;
    for (size_t i = 0; i < rep->nrecords; i++) {
        const bench_record *r = &rep->records[i];
        bool seen = false;
        if (!ran_ok(r) || (!r->r.peer && strcmp(r->r.runner, "cpu") != 0))
            continue;
        for (size_t k = 0; k < n; k++)
            seen |= strcmp(refs[k], r->r.runner) == 0;
        if (!seen && n < MAX_REFS)
            refs[n++] = r->r.runner;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */
/* ------------------------------------------------------------------------ */

static void cell(FILE *out, const char *fmt, int width, double v) {
    if (isnan(v))
        fprintf(out, " %*s", width, "-");
    else
        fprintf(out, fmt, width, v);
}

static void group_header(FILE *out, const bench_report *rep, const bench_record *rec) {
    const bench_counts *c = set_of(rep, rec);
    fprintf(out, "\n== %s, %llu objects", rec->workload->name,
            (unsigned long long)rec->objects);
    if (!ran_ok(rec))
        fprintf(out, ": no run succeeded");
    else if (pausing(rep))
        fprintf(out, " + %llu young: generation 0 collections of %llu tracked young "
                "objects (%llu slots, %llu of them garbage)",
                (unsigned long long)rec->young.objects, (unsigned long long)c->tracked,
                (unsigned long long)c->slots, (unsigned long long)c->garbage_tracked);
    else
        fprintf(out, ": %llu tracked, %llu slots, %llu garbage (%llu tracked); "
                "full collections", (unsigned long long)c->tracked,
                (unsigned long long)c->slots, (unsigned long long)c->garbage,
                (unsigned long long)c->garbage_tracked);
    fprintf(out, ", median of %u\n", rep->o->repeat);
}

static void group_table(FILE *out, const bench_report *rep, size_t lo, size_t hi) {
    const char *refs[MAX_REFS];
    size_t nrefs = speedup_refs(rep, refs), first = lo;
    while (first + 1 < hi && !ran_ok(&rep->records[first]))
        first++;
    group_header(out, rep, &rep->records[first]);

    /* "marked by": the backend whose marks were used, which after a
     * fallback is the CPU reference, not the runner asked for. */
    fprintf(out, "%-13s %-15s %10s %10s %10s %19s %11s %11s", "runner", "marked by",
            "collect ms", "mark ms", "ns/object", "range ms", "bytes h2d", "bytes d2h");
    for (size_t k = 0; k < nrefs; k++)
        fprintf(out, "  vs %-7s", refs[k]);
    fputc('\n', out);
    for (size_t i = lo; i < hi; i++) {
        const bench_record *rec = &rep->records[i];
        if (!ran_ok(rec)) {
            fprintf(out, "%-13s %-15s %s\n", rec->r.runner, bench_status_name(rec->status),
                    rec->message);
            continue;
        }
        char range[40], by[40];
        snprintf(range, sizeof range, "%.3f..%.3f", rec->r.collect_ms_min, rec->r.collect_ms_max);
        snprintf(by, sizeof by, "%s%s", ran_name(rec), rec->r.stats.fallback ? " (fallback)" : "");
        fprintf(out, "%-13s %-15s %10.3f", rec->r.runner, by, collect_ms(rec));
        cell(out, " %*.3f", 10, mark_ms(rec));
        fprintf(out, " %10.2f %19s %11llu %11llu", per_object_ns(rep, rec), range,
                (unsigned long long)rec->r.stats.bytes_h2d,
                (unsigned long long)rec->r.stats.bytes_d2h);
        for (size_t k = 0; k < nrefs; k++) {
            double x = speedup(rep, rec, refs[k]);
            if (isnan(x))
                fprintf(out, "  %10s", "-");
            else
                fprintf(out, "  %9.2fx", x);
        }
        fputc('\n', out);
    }

    if (!ran_ok(&rep->records[first]))
        return;
    fprintf(out, "stage ms     ");
    for (size_t f = 0; f < BENCH_NSTATS; f++)
        if (stat_stage(f) != NULL)
            fprintf(out, " %13s", stat_stage(f));
    fputc('\n', out);
    for (size_t i = lo; i < hi; i++) {
        const bench_record *rec = &rep->records[i];
        double v[BENCH_NSTATS];
        if (!ran_ok(rec))
            continue;
        stat_values(&rec->r.stats, v);
        fprintf(out, "%-13s", rec->r.runner);
        for (size_t f = 0; f < BENCH_NSTATS; f++)
            if (stat_stage(f) != NULL)
                cell(out, " %*.3f", 13, measured(rec, f) ? v[f] / 1e6 : NAN);
        fputc('\n', out);
    }

    fprintf(out, "memory        %15s %15s %13s %10s\n", "metadata B/obj", "heap B/obj",
            "peak RSS MiB", "build ms");
    for (size_t i = lo; i < hi; i++) {
        const bench_record *rec = &rep->records[i];
        if (!ran_ok(rec))
            continue;
        fprintf(out, "%-13s %15.1f %15.1f %13.1f %10.1f\n", rec->r.runner,
                per_heap_object(rec, rec->r.metadata_bytes),
                per_heap_object(rec, (double)rec->r.rss_growth),
                (double)rec->r.peak_rss / (1 << 20), rec->r.build_ms);
    }
    for (size_t i = lo; i < hi; i++) {
        const bench_record *rec = &rep->records[i];
        const gpugc_collection_stats *s = &rec->r.stats;
        if (!ran_ok(rec))
            continue;
        if (rec->r.note[0] != '\0')
            fprintf(out, "note: %s: %s\n", rec->r.runner, rec->r.note);
        if (!rec->r.peer && (s->fallback || strcmp(ran_name(rec), rec->r.runner) != 0))
            fprintf(out, s->fallback ? "note: %s: fallback: the backend failed, the marks "
                                       "used are %s's (the CPU reference)\n"
                                     : "note: %s: the marks used are %s's\n",
                    rec->r.runner, ran_name(rec));
    }
}

/* Across sizes, per workload: ns per object (full) or pause ms. */
static void summary(FILE *out, const bench_report *rep) {
    const bench_options *o = rep->o;
    for (size_t w = 0; w < o->nworkloads; w++) {
        const bench_workload *wl = bench_workload_find(o->workloads[w]);
        if (wl->capture != NULL)
            continue; /* one size, its own: the group's table is all there is */
        fprintf(out, "\n== %s: %s by size\n%-13s", wl->name,
                pausing(rep) ? "pause (collect ms)" : "collect ns per object", "runner");
        for (size_t k = 0; k < o->nsizes; k++)
            fprintf(out, " %12llu", (unsigned long long)o->sizes[k]);
        fputc('\n', out);
        for (size_t i = 0; i < rep->nrecords; i++) {
            const bench_record *rec = &rep->records[i];
            bool first = rec->workload == wl;
            for (size_t j = 0; j < i && first; j++)
                first = !(rep->records[j].workload == wl &&
                          strcmp(rep->records[j].r.runner, rec->r.runner) == 0);
            if (!first)
                continue;
            fprintf(out, "%-13s", rec->r.runner);
            for (size_t k = 0; k < o->nsizes; k++) {
                double v = NAN;
                for (size_t j = 0; j < rep->nrecords; j++) {
                    const bench_record *r = &rep->records[j];
                    if (ran_ok(r) && r->workload == wl && r->objects == o->sizes[k] &&
                        strcmp(r->r.runner, rec->r.runner) == 0)
                        v = pausing(rep) ? collect_ms(r) : per_object_ns(rep, r);
                }
                cell(out, " %*.2f", 12, v);
            }
            fputc('\n', out);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Programs and the microbenchmark                                           */
/* ------------------------------------------------------------------------ */

static bool same_job(const bench_program_job *a, const bench_program_job *b) {
    return a->program == b->program && a->depth == b->depth && a->objects == b->objects;
}

/* The peers the programs' ratios are given against, in the order they
 * ran: the same for every record, so that the CSV has one header. */
static size_t program_refs(const bench_report *rep, const char *refs[MAX_REFS]) {
    size_t n = 0;
    for (size_t i = 0; i < rep->nprograms; i++) {
        const bench_program_result *r = &rep->programs[i].r;
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen |= strcmp(refs[k], r->runner) == 0;
        if (r->peer && !seen && n < MAX_REFS)
            refs[n++] = r->runner;
    }
    return n;
}

/* ref's total time over rec's on the same job; NAN when ref did not run it. */
static double program_ratio(const bench_report *rep, const bench_program_record *rec,
                            const char *ref) {
    for (size_t i = 0; i < rep->nprograms; i++) {
        const bench_program_record *r = &rep->programs[i];
        if (same_job(&r->job, &rec->job) && strcmp(r->r.runner, ref) == 0)
            return r->r.total_ms / rec->r.total_ms;
    }
    return NAN;
}

static void ratio_cell(FILE *out, double x) {
    if (isnan(x))
        fprintf(out, "  %9s", "-");
    else
        fprintf(out, "  %8.2fx", x);
}

static void program_table(FILE *out, const bench_report *rep, size_t lo, size_t hi) {
    const bench_program_job *job = &rep->programs[lo].job;
    const char *refs[MAX_REFS];
    size_t nrefs = program_refs(rep, refs);
    if (job->program->id == BENCH_INTERP)
        fprintf(out, "\n== %s, %llu objects, %llu steps, cycles %g, seed %llu",
                job->program->name, (unsigned long long)job->objects,
                (unsigned long long)job->steps, job->cycles, (unsigned long long)job->seed);
    else
        fprintf(out, "\n== %s, depth %u", job->program->name, job->depth);
    fprintf(out, ": the whole program, automatic collection\n");
    fprintf(out, "%-13s %10s %10s %5s %11s %20s %12s %12s", "runner", "total ms", "gc ms",
            "gc %", "collections", "gen0/gen1/gen2", "max pause ms", "peak RSS MiB");
    for (size_t k = 0; k < nrefs; k++)
        fprintf(out, "  vs %-6s", refs[k]);
    fputc('\n', out);
    for (size_t i = lo; i < hi; i++) {
        const bench_program_record *rec = &rep->programs[i];
        const bench_program_result *r = &rec->r;
        char gens[48] = "-";
        if (r->generations)
            snprintf(gens, sizeof gens, "%llu/%llu/%llu", (unsigned long long)r->gen[0],
                     (unsigned long long)r->gen[1], (unsigned long long)r->gen[2]);
        fprintf(out, "%-13s %10.1f", r->runner, r->total_ms);
        cell(out, " %*.1f", 10, r->gc_ms);
        cell(out, " %*.1f", 5, 100 * r->gc_ms / r->total_ms);
        fprintf(out, " %11llu %20s", (unsigned long long)r->collections, gens);
        cell(out, " %*.3f", 12, r->max_pause_ms);
        fprintf(out, " %12.1f", (double)r->peak_rss / (1 << 20));
        for (size_t k = 0; k < nrefs; k++)
            ratio_cell(out, program_ratio(rep, rec, refs[k]));
        fputc('\n', out);
    }
    if (nrefs > 0)
        fprintf(out, "vs X: X's total time over the runner's (above 1: the runner is faster)\n");
    fprintf(out, "check, every runner: %s\n  (%s)\n", rep->programs[lo].r.check,
            job->program->checks);
    for (size_t i = lo; i < hi; i++)
        if (rep->programs[i].r.note[0] != '\0')
            fprintf(out, "note: %s: %s\n", rep->programs[i].r.runner, rep->programs[i].r.note);
}

/* The microbenchmark result of runner, or NULL. */
static const bench_micro_result *micro_of(const bench_report *rep, const char *runner) {
    for (size_t i = 0; i < rep->nmicro; i++)
        if (strcmp(rep->micro[i].runner, runner) == 0)
            return &rep->micro[i];
    return NULL;
}

/* ref's ns over res's for row i (above 1: res is faster); NAN without. */
static double micro_ratio(const bench_report *rep, const bench_micro_result *res, size_t i,
                          const char *ref) {
    const bench_micro_result *r = micro_of(rep, ref);
    return r != NULL ? r->ns[i] / res->ns[i] : NAN;
}

static const char *const micro_refs[] = {"bdwgc", "malloc"};
enum { NMICRO_REFS = sizeof micro_refs / sizeof micro_refs[0] };

static void micro_table(FILE *out, const bench_report *rep) {
    const bench_micro_result *g = micro_of(rep, "gpugc");
    fprintf(out, "\n== micro: ns per operation, the median of %d rounds of %d (free tree: "
            "one decref of a %d-node tree, per node)\n%-14s %5s %5s", BENCH_MICRO_ROUNDS,
            BENCH_MICRO_BATCH, (1 << (BENCH_MICRO_TREE_DEPTH + 1)) - 1, "op", "size", "slots");
    for (size_t k = 0; k < rep->nmicro; k++)
        fprintf(out, " %9s", rep->micro[k].runner);
    if (g != NULL)
        for (size_t k = 0; k < NMICRO_REFS; k++)
            if (micro_of(rep, micro_refs[k]) != NULL)
                fprintf(out, "  vs %-6s", micro_refs[k]);
    fputc('\n', out);
    for (size_t i = 0; i < bench_nmicro_rows; i++) {
        const bench_micro_row *row = &bench_micro_rows[i];
        fprintf(out, "%-14s %5u %5u", row->name, row->size, row->slots);
        for (size_t k = 0; k < rep->nmicro; k++)
            cell(out, " %*.2f", 9, rep->micro[k].ns[i]);
        if (g != NULL)
            for (size_t k = 0; k < NMICRO_REFS; k++)
                if (micro_of(rep, micro_refs[k]) != NULL)
                    ratio_cell(out, micro_ratio(rep, g, i, micro_refs[k]));
        fputc('\n', out);
    }
    if (g != NULL)
        fprintf(out, "vs X: X's ns over gpugc's (above 1: gpugc is faster)\n");
    for (size_t k = 0; k < rep->nmicro; k++)
        fprintf(out, "note: %s: %s\n", rep->micro[k].runner, rep->micro[k].note);
}

/* The backend whose marks a heap pause record's background collections
 * used: "cpu (fallback)" after a fallback. */
static void bg_marked_by(const bench_bg_result *r, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", gpugc_backend_name((gpugc_backend)r->backend_ran),
             r->fallback ? " (fallback)" : "");
}

static void bg_table(FILE *out, const bench_report *rep) {
    const bench_bg_record *first = &rep->bg[0];
    fprintf(out, "\n== heap pause: random heaps (degree %u, hold %g), full collections, "
            "stop-the-world (median of %u) and in the background while the program "
            "allocates and writes slots (the worst of the rounds after the first; "
            "first: the first start, which copies the whole heap)\n",
            first->degree, first->hold, rep->o->repeat);
    fprintf(out, "%-13s %9s %-17s %9s %9s %9s %9s %10s %8s %7s %4s %9s %12s %12s %7s %7s\n",
            "runner", "objects", "marked by", "stw ms", "start ms", "finish ms", "step ms",
            "longest ms", "ratio", "target", "met", "first ms", "steps/s bg",
            "steps/s idle", "bg/idle", "snap B/o");
    for (size_t i = 0; i < rep->nbg; i++) {
        const bench_bg_record *rec = &rep->bg[i];
        const bench_bg_result *r = &rec->r;
        if (rec->status != BENCH_OK) {
            fprintf(out, "%-13s %9llu %s: %s\n", r->runner, (unsigned long long)r->objects,
                    bench_status_name(rec->status), rec->message);
            continue;
        }
        char by[32], ratio[16], target[16];
        double longest = bench_bg_longest_ms(r), t = bench_bg_target(r->objects);
        bg_marked_by(r, by, sizeof by);
        snprintf(ratio, sizeof ratio, "1/%.1f", r->stw_ms / longest);
        snprintf(target, sizeof target, "1/%.0f", 1 / t);
        fprintf(out, "%-13s %9llu %-17s %9.1f %9.3f %9.3f %9.3f %10.3f %8s %7s %4s %9.3f "
                "%12.0f %12.0f %7.2f %7.1f\n", r->runner, (unsigned long long)r->objects, by,
                r->stw_ms, r->start_ms[1], r->finish_ms[1], r->call_ms[1], longest, ratio,
                target, longest <= t * r->stw_ms ? "yes" : "NO",
                fmax(r->start_ms[0], fmax(r->finish_ms[0], r->call_ms[0])), r->steps_per_s,
                r->idle_steps_per_s, r->steps_per_s / r->idle_steps_per_s,
                r->snapshot_bytes_per_object);
    }
    fprintf(out, "start, finish: gpugc_collect_start and gpugc_collect_finish as the program "
            "timed them; step: the longest new + set_ref + decref during the mark; longest: "
            "the most of the three; ratio: longest over stw; first: the first round's "
            "longest\n");
    fprintf(out, "%-13s %9s %12s %13s %12s %13s %9s %9s %12s %10s\n", "runner", "objects",
            "stats start", "stats finish", "first start", "first finish", "mark ms",
            "first mark", "idle step ms", "median ms");
    for (size_t i = 0; i < rep->nbg; i++) {
        const bench_bg_result *r = &rep->bg[i].r;
        if (rep->bg[i].status == BENCH_OK)
            fprintf(out, "%-13s %9llu %12.3f %13.3f %12.3f %13.3f %9.1f %9.1f %12.3f %10.3f\n",
                    r->runner, (unsigned long long)r->objects, r->stats_start_ms[1],
                    r->stats_finish_ms[1], r->start_ms[0], r->finish_ms[0], r->mark_ms[1],
                    r->mark_ms[0], r->idle_call_ms, r->median_pause_ms);
    }
    fprintf(out, "stats start, finish: the worst pause_start_ns, pause_finish_ns of the later "
            "rounds (ms); mark: start to gpugc_collect_ready (the worst); idle step: the "
            "longest step with no collection pending; median: the median of the later "
            "rounds' longest pauses\n");
    for (size_t i = 0; i < rep->nbg; i++)
        if (rep->bg[i].status == BENCH_OK)
            fprintf(out, "note: %s, %llu objects: %s\n", rep->bg[i].r.runner,
                    (unsigned long long)rep->bg[i].r.objects, rep->bg[i].r.note);
}

static void steady_table(FILE *out, const bench_report *rep) {
    const bench_program_job *job = &rep->steady[0].job;
    fprintf(out, "\n== interp, %llu objects, %llu steps, cycles %g, seed %llu: the steady "
            "state, each collector's pauses\n", (unsigned long long)job->objects,
            (unsigned long long)job->steps, job->cycles, (unsigned long long)job->seed);
    fprintf(out, "%-13s %-15s %10s %11s %8s %10s %13s %13s %12s\n", "runner", "collector",
            "total ms", "collections", "pauses", "paused ms", "max pause ms", "p99 pause ms",
            "peak RSS MiB");
    for (size_t i = 0; i < rep->nsteady; i++) {
        const bench_steady_result *s = &rep->steady[i].s;
        fprintf(out, "%-13s %-15s %10.1f %11llu %8llu", s->r.runner, bench_gc_mode_name(s->mode),
                s->r.total_ms, (unsigned long long)s->r.collections,
                (unsigned long long)s->pauses);
        cell(out, " %*.1f", 10, s->r.gc_ms);
        cell(out, " %*.3f", 13, s->r.max_pause_ms);
        cell(out, " %*.3f", 13, s->p99_pause_ms);
        fprintf(out, " %12.1f\n", (double)s->r.peak_rss / (1 << 20));
    }
    fprintf(out, "pauses: gpugc stop-the-world and CPython: each collection; gpugc background: "
            "each start and each finish; Boehm: each time it stopped the world\n");
    fprintf(out, "check, every runner: %s\n", rep->steady[0].s.r.check);
    for (size_t i = 0; i < rep->nsteady; i++)
        fprintf(out, "note: %s, %s: %s\n", rep->steady[i].s.r.runner,
                bench_gc_mode_name(rep->steady[i].s.mode), rep->steady[i].s.r.note);
}

void bench_report_table(FILE *out, const bench_report *rep) {
    for (size_t lo = 0, hi; lo < rep->nrecords; lo = hi) {
        for (hi = lo + 1; hi < rep->nrecords &&
                          same_group(&rep->records[hi], &rep->records[lo]); hi++)
            ;
        group_table(out, rep, lo, hi);
    }
    if (rep->nrecords > 0 && rep->o->nsizes > 1)
        summary(out, rep);
    for (size_t lo = 0, hi; lo < rep->nprograms; lo = hi) {
        for (hi = lo + 1; hi < rep->nprograms &&
                          same_job(&rep->programs[hi].job, &rep->programs[lo].job); hi++)
            ;
        program_table(out, rep, lo, hi);
    }
    if (rep->nmicro > 0)
        micro_table(out, rep);
    if (rep->nbg > 0)
        bg_table(out, rep);
    if (rep->nsteady > 0)
        steady_table(out, rep);
    for (size_t i = 0; i < rep->nskips; i++) {
        const bench_skip *s = &rep->skips[i];
        if (s->workload != NULL)
            fprintf(out, "skipped: %s on %s, %llu objects: %s\n", s->runner,
                    s->workload->name, (unsigned long long)s->objects, s->reason);
        else if (s->program != NULL)
            fprintf(out, "skipped: %s on %s: %s\n", s->runner, s->program->name, s->reason);
        else
            fprintf(out, "skipped: %s: %s\n", s->runner, s->reason);
    }
}

/* ------------------------------------------------------------------------ */
/* One walk over a run's fields, for JSON and CSV                            */
/* ------------------------------------------------------------------------ */

typedef enum { V_NULL, V_INT, V_NUM, V_STR, V_BEGIN, V_END } vkind;

typedef struct value {
    vkind kind;
    long long i;
    double d;
    const char *s;
} value;

static value v_int(uint64_t x) { return (value){.kind = V_INT, .i = (long long)x}; }
static value v_num(double x) { return isnan(x) ? (value){.kind = V_NULL} : (value){.kind = V_NUM, .d = x}; }
static value v_str(const char *x) { return (value){.kind = V_STR, .s = x}; }
static value v_null(void) { return (value){.kind = V_NULL}; }

typedef void (*emit_fn)(void *ctx, const char *name, value v);

/* Every field of one run, in SCHEMA.md's order; "stages" and "speedup"
 * are groups (V_BEGIN .. V_END). */
static void run_fields(const bench_report *rep, const bench_record *rec, emit_fn emit,
                       void *ctx) {
    const bench_params *p = &rec->params;
    const bench_counts *c = set_of(rep, rec);
    const bench_result *r = &rec->r;
    const gpugc_collection_stats *s = &r->stats;
    double v[BENCH_NSTATS];
    stat_values(s, v);

    /* A run that did not succeed has its status and message, the flags
     * and sizes asked for, and null for everything it would have measured. */
    bool m = ran_ok(rec);
    value null = v_null();
    emit(ctx, "workload", v_str(rec->workload->name));
    emit(ctx, "mode", v_str(pausing(rep) ? "pause" : "full"));
    emit(ctx, "kind", v_str(r->peer ? "peer" : "backend"));
    emit(ctx, "backend", v_str(r->runner));
    emit(ctx, "backend_ran", m ? v_str(ran_name(rec)) : null);
    emit(ctx, "status", v_str(bench_status_name(rec->status)));
    emit(ctx, "message", v_str(rec->message));
    emit(ctx, "objects", v_int(rec->objects));
    emit(ctx, "young", v_int(pausing(rep) ? rep->o->young : 0));
    emit(ctx, "set_objects", !m ? null : v_int(measured(rec, BENCH_STAT_objects) ? s->objects : c->tracked));
    emit(ctx, "edges", !m ? null : v_int(measured(rec, BENCH_STAT_edges) ? s->edges : c->slots));
    emit(ctx, "held", m ? v_int(rec->old.held + rec->young.held) : null);
    emit(ctx, "garbage", v_num(p->garbage));
    emit(ctx, "garbage_objects", m ? v_int(c->garbage) : null);
    emit(ctx, "expected_unreachable", m ? v_int(c->garbage_tracked) : null);
    emit(ctx, "unreachable", m && measured(rec, BENCH_STAT_unreachable) ? v_int(s->unreachable) : null);
    emit(ctx, "collect_ms", m ? v_num(collect_ms(rec)) : null);
    emit(ctx, "collect_ms_min", m ? v_num(r->collect_ms_min) : null);
    emit(ctx, "collect_ms_max", m ? v_num(r->collect_ms_max) : null);
    emit(ctx, "mark_ms", m ? v_num(mark_ms(rec)) : null);
    emit(ctx, "ns_per_object", m ? v_num(per_object_ns(rep, rec)) : null);
    emit(ctx, "stages", (value){.kind = V_BEGIN});
    for (size_t i = 0; i < BENCH_NSTATS; i++)
        if (stat_stage(i) != NULL)
            emit(ctx, stat_stage(i), m && measured(rec, i) ? v_num(v[i] / 1e6) : null);
    emit(ctx, "stages", (value){.kind = V_END});
    emit(ctx, "bytes_h2d", m ? v_int(s->bytes_h2d) : null);
    emit(ctx, "bytes_d2h", m ? v_int(s->bytes_d2h) : null);
    emit(ctx, "generation", m ? v_int((uint64_t)s->generation) : null);
    emit(ctx, "fallback", m ? v_int((uint64_t)s->fallback) : null);
    emit(ctx, "degree", rec->workload->default_degree > 0 ? v_int(p->degree) : null);
    emit(ctx, "chains", strcmp(rec->workload->name, "list") == 0 ? v_int(p->chains) : null);
    emit(ctx, "seed", v_int(p->seed));
    emit(ctx, "hold", v_num(p->hold));
    emit(ctx, "repeat", v_int(rep->o->repeat));
    emit(ctx, "build_ms", m ? v_num(r->build_ms) : null);
    emit(ctx, "metadata_bytes_per_object", m ? v_num(per_heap_object(rec, r->metadata_bytes)) : null);
    emit(ctx, "heap_bytes_per_object", m ? v_num(per_heap_object(rec, (double)r->rss_growth)) : null);
    emit(ctx, "peak_rss_bytes", m ? v_int(r->peak_rss) : null);
    emit(ctx, "speedup", (value){.kind = V_BEGIN});
    const char *refs[MAX_REFS];
    for (size_t k = 0, n = speedup_refs(rep, refs); k < n; k++)
        emit(ctx, refs[k], v_num(speedup(rep, rec, refs[k])));
    emit(ctx, "speedup", (value){.kind = V_END});
    emit(ctx, "note", v_str(r->note));
}

static value v_nan_or(bool ok, double x) {
    return ok ? v_num(x) : v_null();
}

/* Every field of program record i, in SCHEMA.md's order. */
static void program_fields(const bench_report *rep, size_t i, emit_fn emit, void *ctx) {
    const bench_program_record *rec = &rep->programs[i];
    const bench_program_job *job = &rec->job;
    const bench_program_result *r = &rec->r;
    bool sized = job->program->id == BENCH_INTERP;
    static const char *const gens[GPUGC_GENERATIONS] = {"gen0", "gen1", "gen2"};

    emit(ctx, "kind", v_str("program"));
    emit(ctx, "program", v_str(job->program->name));
    emit(ctx, "runner", v_str(r->runner));
    emit(ctx, "runner_kind", v_str(r->peer ? "peer" : "backend"));
    emit(ctx, "depth", sized ? v_null() : v_int(job->depth));
    emit(ctx, "objects", sized ? v_int(job->objects) : v_null());
    emit(ctx, "steps", sized ? v_int(job->steps) : v_null());
    emit(ctx, "cycles", v_nan_or(sized, job->cycles));
    emit(ctx, "seed", sized ? v_int(job->seed) : v_null());
    emit(ctx, "check", v_str(r->check));
    emit(ctx, "total_ms", v_num(r->total_ms));
    emit(ctx, "gc_ms", v_num(r->gc_ms));
    emit(ctx, "collections", v_int(r->collections));
    emit(ctx, "generations", (value){.kind = V_BEGIN});
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        emit(ctx, gens[g], r->generations ? v_int(r->gen[g]) : v_null());
    emit(ctx, "generations", (value){.kind = V_END});
    emit(ctx, "max_pause_ms", v_num(r->max_pause_ms));
    emit(ctx, "peak_rss_bytes", v_int(r->peak_rss));
    emit(ctx, "speedup", (value){.kind = V_BEGIN});
    const char *refs[MAX_REFS];
    for (size_t k = 0, n = program_refs(rep, refs); k < n; k++)
        emit(ctx, refs[k], v_num(program_ratio(rep, rec, refs[k])));
    emit(ctx, "speedup", (value){.kind = V_END});
    emit(ctx, "note", v_str(r->note));
}

/* The microbenchmark's records: one per runner and row it measured. */
static size_t micro_count(const bench_report *rep) {
    size_t n = 0;
    for (size_t k = 0; k < rep->nmicro; k++)
        for (size_t i = 0; i < bench_nmicro_rows; i++)
            n += !isnan(rep->micro[k].ns[i]);
    return n;
}

static void micro_fields(const bench_report *rep, size_t n, emit_fn emit, void *ctx) {
    const bench_micro_result *res = NULL;
    size_t i = 0;
    for (size_t k = 0; k < rep->nmicro && res == NULL; k++)
        for (i = 0; i < bench_nmicro_rows; i++)
            if (!isnan(rep->micro[k].ns[i]) && n-- == 0) {
                res = &rep->micro[k];
                break;
            }
    const bench_micro_row *row = &bench_micro_rows[i];
    bool tree = row->op == BENCH_MICRO_FREE_TREE;
    emit(ctx, "kind", v_str("micro"));
    emit(ctx, "op", v_str(row->name));
    emit(ctx, "runner", v_str(res->runner));
    emit(ctx, "size", v_int(row->size));
    emit(ctx, "slots", v_int(row->slots));
    emit(ctx, "ns_per_op", v_num(res->ns[i]));
    emit(ctx, "ops_per_round", v_int(tree ? (1u << (BENCH_MICRO_TREE_DEPTH + 1)) - 1
                                          : BENCH_MICRO_BATCH));
    emit(ctx, "rounds", v_int(BENCH_MICRO_ROUNDS));
    emit(ctx, "peak_rss_bytes", v_int(res->peak_rss));
    emit(ctx, "speedup", (value){.kind = V_BEGIN});
    for (size_t k = 0; k < NMICRO_REFS; k++)
        if (micro_of(rep, micro_refs[k]) != NULL)
            emit(ctx, micro_refs[k], v_num(micro_ratio(rep, res, i, micro_refs[k])));
    emit(ctx, "speedup", (value){.kind = V_END});
    emit(ctx, "note", v_str(res->note));
}

static void collection_fields(const bench_report *rep, size_t i, emit_fn emit, void *ctx) {
    run_fields(rep, &rep->records[i], emit, ctx);
}

/* Every field of heap pause record i, in SCHEMA.md's order; a record that
 * did not succeed has null for every figure. */
static void bg_fields(const bench_report *rep, size_t i, emit_fn emit, void *ctx) {
    const bench_bg_record *rec = &rep->bg[i];
    const bench_bg_result *r = &rec->r;
    static const char *const rounds[2] = {"first", "steady"};
    bool m = rec->status == BENCH_OK;
    value null = v_null();
    char by[32];
    bg_marked_by(r, by, sizeof by);
    double longest = bench_bg_longest_ms(r), t = bench_bg_target(r->objects);
    emit(ctx, "kind", v_str("heap_pause"));
    emit(ctx, "backend", v_str(r->runner));
    emit(ctx, "backend_ran", m ? v_str(gpugc_backend_name((gpugc_backend)r->backend_ran)) : null);
    emit(ctx, "fallback", m ? v_int((uint64_t)r->fallback) : null);
    emit(ctx, "status", v_str(bench_status_name(rec->status)));
    emit(ctx, "message", v_str(rec->message));
    emit(ctx, "workload", v_str("random"));
    emit(ctx, "objects", v_int(r->objects));
    emit(ctx, "degree", v_int(rec->degree));
    emit(ctx, "hold", v_num(rec->hold));
    emit(ctx, "seed", v_int(rec->seed));
    emit(ctx, "held", v_int(r->held));
    emit(ctx, "set_objects", m ? v_int(r->set_objects) : null);
    emit(ctx, "stw_ms", m ? v_num(r->stw_ms) : null);
    emit(ctx, "rounds", m ? v_int(r->rounds) : null);
    for (int k = 0; k < 2; k++) {
        emit(ctx, rounds[k], (value){.kind = V_BEGIN});
        emit(ctx, "start_ms", m ? v_num(r->start_ms[k]) : null);
        emit(ctx, "finish_ms", m ? v_num(r->finish_ms[k]) : null);
        emit(ctx, "longest_step_ms", m ? v_num(r->call_ms[k]) : null);
        emit(ctx, "stats_start_ms", m ? v_num(r->stats_start_ms[k]) : null);
        emit(ctx, "stats_finish_ms", m ? v_num(r->stats_finish_ms[k]) : null);
        emit(ctx, "mark_ms", m ? v_num(r->mark_ms[k]) : null);
        emit(ctx, rounds[k], (value){.kind = V_END});
    }
    emit(ctx, "longest_pause_ms", m ? v_num(longest) : null);
    emit(ctx, "median_round_pause_ms", m ? v_num(r->median_pause_ms) : null);
    emit(ctx, "pause_ratio", m ? v_num(longest / r->stw_ms) : null);
    emit(ctx, "target_ratio", v_num(t));
    emit(ctx, "target_met", m ? v_int(longest <= t * r->stw_ms) : null);
    emit(ctx, "steps_per_s", m ? v_num(r->steps_per_s) : null);
    emit(ctx, "idle_steps_per_s", m ? v_num(r->idle_steps_per_s) : null);
    emit(ctx, "idle_longest_step_ms", m ? v_num(r->idle_call_ms) : null);
    emit(ctx, "snapshot_bytes_per_object", m ? v_num(r->snapshot_bytes_per_object) : null);
    emit(ctx, "peak_rss_bytes", m ? v_int(r->peak_rss) : null);
    emit(ctx, "note", v_str(r->note));
}

/* Every field of steady-state record i, in SCHEMA.md's order. */
static void steady_fields(const bench_report *rep, size_t i, emit_fn emit, void *ctx) {
    const bench_steady_record *rec = &rep->steady[i];
    const bench_steady_result *s = &rec->s;
    emit(ctx, "kind", v_str("steady"));
    emit(ctx, "program", v_str(rec->job.program->name));
    emit(ctx, "runner", v_str(s->r.runner));
    emit(ctx, "runner_kind", v_str(s->r.peer ? "peer" : "backend"));
    emit(ctx, "collector", v_str(bench_gc_mode_name(s->mode)));
    emit(ctx, "objects", v_int(rec->job.objects));
    emit(ctx, "steps", v_int(rec->job.steps));
    emit(ctx, "cycles", v_num(rec->job.cycles));
    emit(ctx, "seed", v_int(rec->job.seed));
    emit(ctx, "check", v_str(s->r.check));
    emit(ctx, "total_ms", v_num(s->r.total_ms));
    emit(ctx, "collections", v_int(s->r.collections));
    emit(ctx, "pauses", v_int(s->pauses));
    emit(ctx, "paused_ms", v_num(s->r.gc_ms));
    emit(ctx, "max_pause_ms", v_num(s->r.max_pause_ms));
    emit(ctx, "p99_pause_ms", v_num(s->p99_pause_ms));
    emit(ctx, "peak_rss_bytes", v_int(s->r.peak_rss));
    emit(ctx, "note", v_str(s->r.note));
}

/* The three kinds of record, as JSON lists and CSV files. */
typedef void (*fields_fn)(const bench_report *rep, size_t i, emit_fn emit, void *ctx);
static const struct {
    const char *json, *csv_suffix;
    fields_fn fields;
} kinds[] = {
    {"runs", "", collection_fields},
    {"programs", "-programs", program_fields},
    {"micro", "-micro", micro_fields},
    {"concurrent", "-concurrent", bg_fields},
    {"steady", "-steady", steady_fields},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

static size_t kind_count(const bench_report *rep, size_t k) {
    const size_t n[NKINDS] = {rep->nrecords, rep->nprograms, micro_count(rep), rep->nbg,
                              rep->nsteady};
    return n[k];
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

typedef struct json_ctx {
    FILE *f;
    bool first;
} json_ctx;

static void json_emit(void *ctx, const char *name, value v) {
    json_ctx *j = ctx;
    if (v.kind == V_END) {
        fputc('}', j->f);
        j->first = false;
        return;
    }
    fputs(j->first ? "" : ", ", j->f);
    json_string(j->f, name);
    fputs(": ", j->f);
    j->first = v.kind == V_BEGIN;
    switch (v.kind) {
    case V_NULL: fputs("null", j->f); break;
    case V_INT: fprintf(j->f, "%lld", v.i); break;
    case V_NUM: fprintf(j->f, "%.9g", v.d); break;
    case V_STR: json_string(j->f, v.s); break;
    case V_BEGIN: fputc('{', j->f); break;
    case V_END: break;
    }
}

int bench_report_json(const char *path, const bench_report *rep) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char cpu[256], date[32];
    unsigned cores;
    uint64_t memory;
    time_t now = time(NULL);
    bench_machine(cpu, sizeof cpu, &cores, &memory);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    fprintf(f, "{\n  \"gpugc_bench\": {\"version\": \"%d.%d.%d\", \"command\": ",
            GPUGC_VERSION_MAJOR, GPUGC_VERSION_MINOR, GPUGC_VERSION_PATCH);
    json_string(f, rep->o->command);
    fprintf(f, ", \"date\": \"%s\",\n    \"machine\": {\"cpu\": ", date);
    json_string(f, cpu);
    fprintf(f, ", \"cores\": %u, \"memory_bytes\": %llu}},\n", cores,
            (unsigned long long)memory);
    for (size_t k = 0; k < NKINDS; k++) {
        size_t n = kind_count(rep, k);
        fprintf(f, "  \"%s\": [%s", kinds[k].json, n > 0 ? "\n" : "");
        for (size_t i = 0; i < n; i++) {
            json_ctx j = {f, true};
            fputs("    {", f);
            kinds[k].fields(rep, i, json_emit, &j);
            fputs(i + 1 < n ? "},\n" : "}\n  ", f);
        }
        fputs("],\n", f);
    }
    fputs("  \"skipped\": [", f);
    for (size_t i = 0; i < rep->nskips; i++) {
        const bench_skip *s = &rep->skips[i];
        fputs(i > 0 ? ",\n    {\"backend\": " : "\n    {\"backend\": ", f);
        json_string(f, s->runner);
        fputs(", \"reason\": ", f);
        json_string(f, s->reason);
        fputs(", \"workload\": ", f);
        if (s->workload != NULL) {
            json_string(f, s->workload->name);
            fprintf(f, ", \"objects\": %llu}", (unsigned long long)s->objects);
        } else if (s->program != NULL) {
            json_string(f, s->program->name);
            fputs(", \"objects\": null}", f);
        } else {
            fputs("null, \"objects\": null}", f);
        }
    }
    fputs("]\n}\n", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        perror(path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */
/* ------------------------------------------------------------------------ */

typedef struct csv_ctx {
    FILE *f;
    bool header, first;
    const char *group; /* the group being walked, or NULL */
} csv_ctx;

static void csv_text(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_emit(void *ctx, const char *name, value v) {
    csv_ctx *c = ctx;
    if (v.kind == V_BEGIN || v.kind == V_END) {
        c->group = v.kind == V_BEGIN ? name : NULL;
        return;
    }
    fputs(c->first ? "" : ",", c->f);
    c->first = false;
    if (c->header) {
        if (c->group != NULL)
            fprintf(c->f, "%s.", c->group);
        fputs(name, c->f);
        return;
    }
    switch (v.kind) {
    case V_INT: fprintf(c->f, "%lld", v.i); break;
    case V_NUM: fprintf(c->f, "%.9g", v.d); break;
    case V_STR: csv_text(c->f, v.s); break;
    default: break; /* null: an empty cell */
    }
}

/* One kind's records into path: a header row, then a row each. */
static int csv_file(const char *path, const bench_report *rep, size_t k) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (size_t i = 0, n = kind_count(rep, k); i < n; i++) {
        if (i == 0) {
            csv_ctx h = {f, true, true, NULL};
            kinds[k].fields(rep, 0, csv_emit, &h);
            fputc('\n', f);
        }
        csv_ctx c = {f, false, true, NULL};
        kinds[k].fields(rep, i, csv_emit, &c);
        fputc('\n', f);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        perror(path);
        return -1;
    }
    return 0;
}

int bench_report_csv(const char *path, const bench_report *rep) {
    size_t len = strlen(path);
    size_t stem = len >= 4 && strcmp(path + len - 4, ".csv") == 0 ? len - 4 : len;
    for (size_t k = 0; k < NKINDS; k++) {
        char name[4096];
        /* Collection runs go to path itself (an empty file when nothing
         * ran at all), programs and micro records beside it when they ran. */
        if (k > 0 && kind_count(rep, k) == 0)
            continue;
        snprintf(name, sizeof name, "%.*s%s%s", (int)stem, path, kinds[k].csv_suffix,
                 path + stem);
        if (k > 0 || kind_count(rep, 0) > 0 ||
            (rep->nprograms == 0 && rep->nmicro == 0 && rep->nbg + rep->nsteady == 0)) {
            if (csv_file(name, rep, k) != 0)
                return -1;
            printf("csv: %s\n", name);
        }
    }
    return 0;
}

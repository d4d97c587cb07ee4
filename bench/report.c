/* report.c - what gpugc-bench prints: the human tables on stdout and the
 * JSON file.  Stage figures come from walking GPUGC_COLLECTION_STATS, so a
 * stage the library adds shows up here without a change. */
#include "bench.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* The statistics fields, walked once                                        */
/* ------------------------------------------------------------------------ */

#define BENCH_STAT_NAME(type, name, doc) #name,
static const char *const stat_names[] = {GPUGC_COLLECTION_STATS(BENCH_STAT_NAME)};
#undef BENCH_STAT_NAME

enum { NSTATS = sizeof stat_names / sizeof stat_names[0] };

/* Every field of *s, in header order, as a double. */
static void stat_values(const gpugc_collection_stats *s, double v[NSTATS])
{
#define BENCH_STAT_VALUE(type, name, doc) (double)s->name,
    const double all[] = {GPUGC_COLLECTION_STATS(BENCH_STAT_VALUE)};
#undef BENCH_STAT_VALUE
    memcpy(v, all, sizeof all);
}

/* The stage a field times ("sync" for ns_sync), or NULL for other fields. */
static const char *stat_stage(size_t i)
{
    return strncmp(stat_names[i], "ns_", 3) == 0 ? stat_names[i] + 3 : NULL;
}

/* ------------------------------------------------------------------------ */
/* Derived figures                                                           */
/* ------------------------------------------------------------------------ */

static double collect_ms(const bench_run *r)
{
    return (double)r->stats.ns_total / 1e6;
}

/* The whole mark phase, transfers included. */
static double mark_ms(const bench_run *r)
{
    const gpugc_collection_stats *s = &r->stats;
    return (double)(s->ns_sync + s->ns_update_refs + s->ns_subtract_refs +
                    s->ns_mark + s->ns_download) / 1e6;
}

static double per_object_ns(const bench_run *r, double ms)
{
    return ms * 1e6 / (double)r->graph.objects;
}

/* The backend that ran the mark phase of s. */
static const char *ran_name(const gpugc_collection_stats *s)
{
    const char *name = gpugc_backend_name((gpugc_backend)s->backend);
    return name != NULL ? name : "an unknown backend";
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */
/* ------------------------------------------------------------------------ */

void bench_report_table(FILE *out, const bench_options *o,
                        const bench_run *runs, size_t nruns)
{
    const bench_run *cpu = NULL;
    for (size_t i = 0; i < nruns; i++)
        if (runs[i].backend == GPUGC_BACKEND_CPU)
            cpu = &runs[i];

    fprintf(out, "\nworkload %s, median of %u collections of generation 2\n",
            o->workload, o->repeat);
    fprintf(out, "%-13s %11s %11s %11s %11s %10s %11s %12s %12s %7s\n",
            "backend", "objects", "edges", "collect ms", "mark ms", "ns/object",
            "mark ns/obj", "bytes h2d", "bytes d2h", "vs cpu");
    for (size_t i = 0; i < nruns; i++) {
        const bench_run *r = &runs[i];
        fprintf(out, "%-13s %11llu %11llu %11.3f %11.3f %10.2f %11.2f %12llu %12llu",
                gpugc_backend_name(r->backend),
                (unsigned long long)r->graph.objects,
                (unsigned long long)r->stats.edges, collect_ms(r), mark_ms(r),
                per_object_ns(r, collect_ms(r)), per_object_ns(r, mark_ms(r)),
                (unsigned long long)r->stats.bytes_h2d,
                (unsigned long long)r->stats.bytes_d2h);
        if (cpu != NULL)
            fprintf(out, " %6.2fx\n", collect_ms(cpu) / collect_ms(r));
        else
            fprintf(out, " %7s\n", "-");
    }
    for (size_t i = 0; i < nruns; i++) {
        const gpugc_collection_stats *s = &runs[i].stats;
        if (s->fallback || s->backend != (int32_t)runs[i].backend)
            fprintf(out, "note: %s: the mark phase ran on %s%s\n",
                    gpugc_backend_name(runs[i].backend), ran_name(s),
                    s->fallback ? " (fallback after a backend failure)" : "");
    }

    fprintf(out, "\nstage ms\n%-13s", "backend");
    for (size_t f = 0; f < NSTATS; f++)
        if (stat_stage(f) != NULL)
            fprintf(out, " %13s", stat_stage(f));
    fputc('\n', out);
    for (size_t i = 0; i < nruns; i++) {
        double v[NSTATS];
        stat_values(&runs[i].stats, v);
        fprintf(out, "%-13s", gpugc_backend_name(runs[i].backend));
        for (size_t f = 0; f < NSTATS; f++)
            if (stat_stage(f) != NULL)
                fprintf(out, " %13.3f", v[f] / 1e6);
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
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

static void json_run(FILE *f, const bench_options *o, const bench_run *r)
{
    const gpugc_collection_stats *s = &r->stats;
    double v[NSTATS];
    stat_values(s, v);

    fputs("    {\"workload\": ", f);
    json_string(f, o->workload);
    fprintf(f, ", \"objects\": %llu, \"edges\": %llu, \"backend\": ",
            (unsigned long long)r->graph.objects, (unsigned long long)s->edges);
    json_string(f, gpugc_backend_name(r->backend));
    fprintf(f, ",\n     \"collect_ms\": %.6f, \"mark_ms\": %.6f,"
               " \"ns_per_object\": %.4f,",
            collect_ms(r), mark_ms(r), per_object_ns(r, collect_ms(r)));
    fputs("\n     \"stages\": {", f);
    const char *sep = "";
    for (size_t i = 0; i < NSTATS; i++)
        if (stat_stage(i) != NULL) {
            fprintf(f, "%s\"%s\": %.6f", sep, stat_stage(i), v[i] / 1e6);
            sep = ", ";
        }
    fprintf(f, "},\n     \"bytes_h2d\": %llu, \"bytes_d2h\": %llu,",
            (unsigned long long)s->bytes_h2d, (unsigned long long)s->bytes_d2h);
    fprintf(f, " \"generation\": %d, \"unreachable\": %llu, \"fallback\": %d,"
               " \"backend_ran\": ",
            (int)s->generation, (unsigned long long)s->unreachable, (int)s->fallback);
    json_string(f, ran_name(s));
    fprintf(f, ",\n     \"degree\": %u, \"seed\": %llu, \"hold\": %g, \"held\": %llu,"
               " \"repeat\": %u, \"build_ms\": %.3f,"
               " \"metadata_bytes_per_object\": %.2f}",
            (unsigned)o->degree, (unsigned long long)o->seed, o->hold,
            (unsigned long long)r->graph.held, o->repeat, r->build_ms,
            r->metadata_per_object);
}

int bench_report_json(const char *path, const bench_options *o,
                      const bench_run *runs, size_t nruns,
                      const bench_skip *skips, size_t nskips)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fputs("{\n  \"runs\": [\n", f);
    for (size_t i = 0; i < nruns; i++) {
        json_run(f, o, &runs[i]);
        fputs(i + 1 < nruns ? ",\n" : "\n", f);
    }
    fputs("  ],\n  \"skipped\": [", f);
    for (size_t i = 0; i < nskips; i++) {
        fputs(i > 0 ? ", {\"backend\": " : "{\"backend\": ", f);
        json_string(f, gpugc_backend_name(skips[i].backend));
        fputs(", \"reason\": ", f);
        json_string(f, skips[i].reason);
        fputc('}', f);
    }
    fputs("]\n}\n", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        perror(path);
        return -1;
    }
    return 0;
}

/* bench.h - what the parts of gpugc-bench share: the parsed options, the
 * workload table (workload.c), one backend's result and the report writers
 * (report.c).  bench.c holds main: flags, the run loop and the median. */
#ifndef GPUGC_BENCH_H
#define GPUGC_BENCH_H

#include <gpugc.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The command line, parsed and checked. */
typedef struct bench_options {
    const char *workload; /* a name in bench_workloads                       */
    uint64_t objects;     /* objects in the heap                              */
    uint32_t degree;      /* reference slots per object, >= 1                 */
    uint64_t seed;        /* same seed, same graph                            */
    double hold;          /* fraction of objects held from C, in (0, 1]       */
    unsigned repeat;      /* timed collections per backend                    */
    gpugc_backend backends[GPUGC_BACKEND_COUNT]; /* in the order given        */
    size_t nbackends;
    const char *json_path; /* NULL: no JSON                                   */
} bench_options;

/* What a workload reports about the heap it built. */
typedef struct bench_graph {
    uint64_t objects; /* objects created                                     */
    uint64_t held;    /* of those, the ones C code still holds a reference to */
} bench_graph;

/* A workload fills an empty heap (automatic collection off) with an all-live
 * graph: every object reachable from the ones it holds.  GPUGC_OK or a
 * negative status, with a message on stderr; the caller frees the heap
 * either way. */
typedef struct bench_workload {
    const char *name;
    const char *doc; /* one line for --help */
    int (*build)(gpugc_heap *h, const bench_options *o, bench_graph *g);
} bench_workload;

extern const bench_workload bench_workloads[];
extern const size_t bench_nworkloads;

/* The workload called name, or NULL. */
const bench_workload *bench_workload_find(const char *name);

/* One backend's result: the heap it ran on and its median collection. */
typedef struct bench_run {
    gpugc_backend backend;        /* as requested on the command line       */
    bench_graph graph;
    double build_ms;              /* time the workload took to build it     */
    double metadata_per_object;   /* gpugc_memory_stats.metadata_bytes / objects */
    gpugc_collection_stats stats; /* the median timed collection            */
} bench_run;

/* A backend that was asked for (or would be by default) but is not here. */
typedef struct bench_skip {
    gpugc_backend backend;
    char reason[256]; /* from gpugc_backend_available */
} bench_skip;

/* The human tables: collect and mark figures, then every stage. */
void bench_report_table(FILE *out, const bench_options *o,
                        const bench_run *runs, size_t nruns);

/* Writes {"runs":[...],"skipped":[...]} to path.  0, or -1 with a message
 * on stderr. */
int bench_report_json(const char *path, const bench_options *o,
                      const bench_run *runs, size_t nruns,
                      const bench_skip *skips, size_t nskips);

#endif /* GPUGC_BENCH_H */

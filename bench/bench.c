/* bench.c - gpugc-bench, the benchmark runner: parses the flags, builds the
 * workload's heap once per backend (same seed, same graph), times repeated
 * collections of generation 2 and reports the median one by collect time. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_USAGE = 2 };

/* ------------------------------------------------------------------------ */
/* Flags                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fputs("usage: gpugc-bench [options]\n"
          "Builds a heap, collects it on each backend and prints per-stage times.\n"
          "\n"
          "  --workload NAME  the graph to build (default random):\n",
          out);
    for (size_t i = 0; i < bench_nworkloads; i++)
        fprintf(out, "                     %-8s %s\n", bench_workloads[i].name,
                bench_workloads[i].doc);
    fputs("  --objects N      objects in the heap; a k, M or G suffix multiplies by\n"
          "                   10^3, 10^6 or 10^9 (default 4M)\n"
          "  --degree D       reference slots per object, at least 1 (default 2)\n"
          "  --seed S         generator seed: same seed, same graph (default 1)\n"
          "  --hold F         fraction of the objects held from C, in (0, 1]\n"
          "                   (default 0.01; at least one object is held)\n"
          "  --backend LIST   comma-separated: auto, cpu, cpu-parallel, opencl, cuda\n"
          "                   (default: every one of cpu..cuda available here;\n"
          "                   unavailable ones are listed as skipped)\n"
          "  --repeat R       timed collections per backend; the median by collect\n"
          "                   time is reported (default 3)\n"
          "  --json FILE      also write the results to FILE as JSON\n"
          "  --help           print this text\n"
          "\n"
          "GPUGC_BACKEND in the environment overrides the backend of every run.\n",
          out);
}

/* Reports a bad command line; returns -1. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gpugc-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see --help)\n", stderr);
    va_end(ap);
    return -1;
}

/* A decimal count in [min, max] with an optional k, M or G suffix. */
static int parse_count(const char *flag, const char *s, uint64_t min,
                       uint64_t max, uint64_t *out)
{
    char *end;
    uint64_t mult = 1;

    if (*s < '0' || *s > '9')
        return usage_error("%s %s: not a count", flag, s);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return usage_error("%s %s: too large", flag, s);
    switch (*end) {
    case 'k': case 'K': mult = 1000u; end++; break;
    case 'M': case 'm': mult = 1000000u; end++; break;
    case 'G': case 'g': mult = 1000000000u; end++; break;
    default: break;
    }
    if (*end != '\0')
        return usage_error("%s %s: not a count (suffixes: k, M, G)", flag, s);
    if (v > max / mult || v * mult < min)
        return usage_error("%s %s: out of range %llu..%llu", flag, s,
                           (unsigned long long)min, (unsigned long long)max);
    *out = v * mult;
    return 0;
}

static int parse_hold(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0 || v > 1)
        return usage_error("--hold %s: expected a fraction in (0, 1]", s);
    *out = v;
    return 0;
}

/* A comma-separated list of distinct backend names. */
static int parse_backends(const char *list, bench_options *o)
{
    o->nbackends = 0;
    for (const char *p = list;; p++) {
        char name[32];
        size_t len = strcspn(p, ",");
        gpugc_backend b;

        if (len == 0 || len >= sizeof name)
            return usage_error("--backend %s: expected names separated by commas", list);
        memcpy(name, p, len);
        name[len] = '\0';
        if (gpugc_backend_parse(name, &b) != GPUGC_OK)
            return usage_error("--backend: unknown backend '%s' (known: auto, cpu, "
                               "cpu-parallel, opencl, cuda)", name);
        for (size_t i = 0; i < o->nbackends; i++)
            if (o->backends[i] == b)
                return usage_error("--backend: '%s' listed twice", name);
        o->backends[o->nbackends++] = b;
        p += len;
        if (*p == '\0')
            return 0;
    }
}

/* Fills *o from argv.  0: run; 1: --help was printed; -1: bad flags. */
static int parse_options(int argc, char **argv, bench_options *o)
{
    static const struct option longopts[] = {
        {"workload", required_argument, NULL, 'w'},
        {"objects", required_argument, NULL, 'n'},
        {"degree", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},
        {"hold", required_argument, NULL, 'H'},
        {"backend", required_argument, NULL, 'b'},
        {"repeat", required_argument, NULL, 'r'},
        {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c, rc = 0;

    *o = (bench_options){.workload = "random", .objects = 4000000, .degree = 2,
                         .seed = 1, .hold = 0.01, .repeat = 3};
    while (rc == 0 && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'w':
            o->workload = optarg;
            if (bench_workload_find(optarg) == NULL)
                rc = usage_error("--workload: unknown workload '%s'", optarg);
            break;
        case 'n': /* ids are 32-bit, one value is reserved for NULL */
            rc = parse_count("--objects", optarg, 1, UINT32_MAX - 1, &o->objects);
            break;
        case 'd':
            rc = parse_count("--degree", optarg, 1, GPUGC_MAX_REFS, &v);
            o->degree = (uint32_t)v;
            break;
        case 's':
            rc = parse_count("--seed", optarg, 0, UINT64_MAX, &o->seed);
            break;
        case 'H':
            rc = parse_hold(optarg, &o->hold);
            break;
        case 'b':
            rc = parse_backends(optarg, o);
            break;
        case 'r':
            rc = parse_count("--repeat", optarg, 1, 1000000, &v);
            o->repeat = (unsigned)v;
            break;
        case 'j':
            o->json_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default: /* getopt_long said what was wrong */
            rc = usage_error("bad command line");
            break;
        }
    }
    if (rc == 0 && optind < argc)
        rc = usage_error("unexpected argument '%s'", argv[optind]);
    if (rc == 0 && o->nbackends == 0)
        for (int b = GPUGC_BACKEND_CPU; b <= GPUGC_BACKEND_CUDA; b++)
            o->backends[o->nbackends++] = (gpugc_backend)b;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Builds the workload into h and records build time and graph size. */
static int build_heap(gpugc_heap *h, const bench_options *o, bench_run *r)
{
    const char *name = gpugc_backend_name(r->backend);
    gpugc_memory_stats mem;
    double t0 = now_ms();

    if (bench_workload_find(o->workload)->build(h, o, &r->graph) != GPUGC_OK)
        return -1;
    r->build_ms = now_ms() - t0;
    if (gpugc_memory_stats_get(h, &mem) != GPUGC_OK) {
        fprintf(stderr, "gpugc-bench: %s: gpugc_memory_stats_get: %s\n", name,
                gpugc_last_error_message(h));
        return -1;
    }
    r->metadata_per_object = (double)mem.metadata_bytes / (double)r->graph.objects;
    printf("%s: built %llu objects (%llu held) in %.1f ms; metadata %.1f bytes/object\n",
           name, (unsigned long long)r->graph.objects,
           (unsigned long long)r->graph.held, r->build_ms, r->metadata_per_object);
    return 0;
}

/* Collects generation 2 of an all-live heap: anything unreachable is a bug,
 * in the workload or in the library. */
static int collect_all_live(gpugc_heap *h, const char *backend, const char *which)
{
    int64_t n = gpugc_collect(h, 2);
    if (n < 0)
        fprintf(stderr, "gpugc-bench: %s: %s collection failed: %s\n", backend,
                which, gpugc_last_error_message(h));
    else if (n > 0)
        fprintf(stderr, "gpugc-bench: %s: %s collection found %lld unreachable "
                "objects in an all-live heap\n", backend, which, (long long)n);
    return n == 0 ? 0 : -1;
}

static int by_collect_time(const void *a, const void *b)
{
    uint64_t x = ((const gpugc_collection_stats *)a)->ns_total;
    uint64_t y = ((const gpugc_collection_stats *)b)->ns_total;
    return (x > y) - (x < y);
}

/* One warm-up collection (it moves everything to generation 2), then
 * o->repeat timed ones; keeps the median by collect time. */
static int time_collections(gpugc_heap *h, const bench_options *o, bench_run *r)
{
    const char *name = gpugc_backend_name(r->backend);
    gpugc_collection_stats *timed = calloc(o->repeat, sizeof *timed);
    if (timed == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for %u results\n", o->repeat);
        return -1;
    }
    int status = collect_all_live(h, name, "warm-up");
    for (unsigned i = 0; i < o->repeat && status == 0; i++) {
        status = collect_all_live(h, name, "timed");
        if (status == 0 &&
            gpugc_last_collection(h, &timed[i], sizeof timed[i]) != GPUGC_OK) {
            fprintf(stderr, "gpugc-bench: %s: gpugc_last_collection: %s\n", name,
                    gpugc_last_error_message(h));
            status = -1;
        }
    }
    if (status == 0) {
        qsort(timed, o->repeat, sizeof *timed, by_collect_time);
        r->stats = timed[(o->repeat - 1) / 2];
    }
    free(timed);
    return status;
}

/* Builds the heap on r->backend and times it.  0, or -1 with a message. */
static int run_backend(const bench_options *o, bench_run *r)
{
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = r->backend;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    if (h == NULL) {
        fprintf(stderr, "gpugc-bench: %s: no heap: %s\n",
                gpugc_backend_name(r->backend), gpugc_last_error_message(NULL));
        return -1;
    }
    gpugc_disable(h);
    int status = build_heap(h, o, r);
    if (status == 0)
        status = time_collections(h, o, r);
    gpugc_heap_free(h);
    return status;
}

int main(int argc, char **argv)
{
    bench_options o;
    bench_run runs[GPUGC_BACKEND_COUNT];
    bench_skip skips[GPUGC_BACKEND_COUNT];
    size_t nruns = 0, nskips = 0;

    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines interleave with errors */
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : EXIT_USAGE;
    const char *env = getenv("GPUGC_BACKEND");
    if (env != NULL)
        fprintf(stderr, "gpugc-bench: warning: GPUGC_BACKEND=%s overrides "
                "--backend for every run\n", env);

    printf("gpugc-bench %d.%d.%d: workload %s, %llu objects, degree %u, seed %llu, "
           "hold %g, repeat %u\n", GPUGC_VERSION_MAJOR, GPUGC_VERSION_MINOR,
           GPUGC_VERSION_PATCH, o.workload, (unsigned long long)o.objects,
           (unsigned)o.degree, (unsigned long long)o.seed, o.hold, o.repeat);
    for (size_t i = 0; i < o.nbackends; i++) {
        bench_skip *s = &skips[nskips];
        if (gpugc_backend_available(o.backends[i], s->reason, sizeof s->reason) !=
            GPUGC_OK) {
            s->backend = o.backends[i];
            printf("%s: skipped: %s\n", gpugc_backend_name(s->backend), s->reason);
            nskips++;
            continue;
        }
        runs[nruns] = (bench_run){.backend = o.backends[i]};
        if (run_backend(&o, &runs[nruns]) != 0)
            return EXIT_FAILURE;
        nruns++;
    }
    if (nruns == 0) {
        fprintf(stderr, "gpugc-bench: none of the backends asked for is available\n");
        return EXIT_FAILURE;
    }
    bench_report_table(stdout, &o, runs, nruns);
    if (o.json_path != NULL &&
        bench_report_json(o.json_path, &o, runs, nruns, skips, nskips) != 0)
        return EXIT_FAILURE;
    return EXIT_SUCCESS;
}

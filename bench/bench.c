/* bench.c - gpugc-bench, the benchmark runner: parses the flags, checks
 * before building anything which runs fit in this machine's memory, then
 * for each workload and size generates the shape once and measures it on
 * every backend and peer, runs the whole programs and the microbenchmark,
 * runs --concurrent's background collections, each run in a child
 * process of its own, and reports.  A run that fails
 * (or is refused, or times out) is recorded as such and the others go on:
 * a GPU machine's one call must come back with everything that did run.
 * Without flags it runs the default comparison. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

/* The peers --peers can name. */
static const bench_runner *const known_peers[] = {&bench_runner_bdwgc, &bench_runner_malloc,
                                                  &bench_runner_cpython};
enum { NPEERS = sizeof known_peers / sizeof known_peers[0] };

/* ------------------------------------------------------------------------ */
/* Flags                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *out) {
    fputs("usage: gpugc-bench [options]\n"
          "Builds object graphs and times their collection on every gpugc backend and\n"
          "on the peers (Boehm GC, CPython), on the same graph from the same seed; runs\n"
          "whole programs end to end on each, and malloc/free; times single operations.\n"
          "Without options: the default comparison (pylike, 10k..1M objects, and\n"
          "binary-trees at depth 16, on every backend and peer available here).\n"
          "\n"
          "  --workload LIST  comma-separated graphs to build (default pylike):\n",
          out);
    for (size_t i = 0; i < bench_nworkloads; i++)
        fprintf(out, "                     %-9s %s\n", bench_workloads[i].name,
                bench_workloads[i].doc);
    fputs("                     pyheap:FILE  a Python program's heap that\n"
          "                               bench/pyheap_capture.py captured: replayed at its\n"
          "                               own size, full collections, every count checked\n"
          "                               against CPython's (FILE.json)\n",
          out);
    fputs("  --objects LIST   sizes: counts with an optional k, M or G suffix (10^3,\n"
          "                   10^6, 10^9), comma-separated, or A..B for A, the 1-2-5\n"
          "                   steps between, and B (default 10k,100k,1M; interp: 100k)\n"
          "  --degree D       random: slots per object (default 2); powerlaw: slots per\n"
          "                   object on average, one of them on a cycle (default 16)\n"
          "  --chains K       list: chains, and garbage rings (default 1)\n"
          "  --garbage F      fraction of the objects unreachable, in [0, 1] (default\n"
          "                   0.15 for pylike and for pause's young objects, else 0)\n"
          "  --hold F         random, powerlaw, pylike: fraction of the live objects held\n"
          "                   from C, in (0, 1] (default 0.01; at least one)\n"
          "  --seed S         generator seed: same seed, same graph (default 1)\n"
          "  --backend LIST   comma-separated: auto, cpu, cpu-parallel, opencl, cuda\n"
          "                   (default: every one of cpu..cuda; unavailable ones are\n"
          "                   listed as skipped, with the reason)\n"
          "  --peers LIST     comma-separated: bdwgc, malloc, cpython, or none (default:\n"
          "                   all; malloc runs programs without cycles and --micro)\n"
          "  --repeat R       timed collections per run; the median is reported\n"
          "                   (default 3)\n"
          "  --pause          the pause benchmark: --objects sizes the old heap (aged\n"
          "                   into generation 2), and generation 0 collections of\n"
          "                   --young pylike objects on top are timed\n"
          "  --young N        young objects for --pause (default 1M)\n"
          "  --program LIST   comma-separated whole programs, each timed end to end with\n"
          "                   automatic collection on (allocation, counting, collections,\n"
          "                   freeing); every runner's check values must agree:\n",
          out);
    for (size_t i = 0; i < bench_nprograms; i++)
        fprintf(out, "                     %-13s %s\n", bench_programs[i].name,
                bench_programs[i].doc);
    fputs("  --depth D        binary-trees, gcbench: tree depth, 4..21 (default 16)\n"
          "  --cycles F       interp: fraction of steps making a cycle (default 0.05)\n"
          "  --micro          the microbenchmark: ns per gpugc_new (by size class, with\n"
          "                   and without slots), free by count, incref, decref, set_ref,\n"
          "                   get_ref, resize_refs, beside malloc/free and GC_MALLOC\n"
          "  --concurrent     background collection (gpugc_collect_start): on random heaps\n"
          "                   of --objects (default 4M,16M; degree 2, --hold default 0.1)\n"
          "                   a stop-the-world full collection beside background ones\n"
          "                   while the program allocates and writes slots: each pause,\n"
          "                   the longest program step, throughput, the snapshot's bytes;\n"
          "                   then interp's steady state with background collections\n"
          "                   beside stop-the-world ones, Boehm's incremental mode beside\n"
          "                   its default, and CPython: longest and 99th-percentile pause\n"
          "  --steady N       --concurrent: interp's table entries (default 1M)\n"
          "  --json FILE      also write the results as JSON (see bench/SCHEMA.md)\n"
          "  --csv FILE       also write them as CSV, one row per run (programs and\n"
          "                   micro records in FILE-programs.csv, FILE-micro.csv)\n"
          "  --plot FILE      draw FILE (.png or .svg, with gnuplot): time per object\n"
          "                   against size for each runner, and the stages; a bar per\n"
          "                   runner for each program; micro ns per operation\n"
          "  --no-memory-check  run what the memory check would refuse (also\n"
          "                   GPUGC_BENCH_NO_MEMORY_CHECK=1): for machines whose\n"
          "                   MemAvailable grows as memory is used, such as some VMs\n"
          "  --run-timeout S  kill a run after S seconds and record it as timed out\n"
          "                   (default: no limit)\n"
          "  --help           print this text\n"
          "\n"
          "--program or --micro alone runs no collection benchmark; add --workload for\n"
          "both.  Runs that need more memory than this machine has are refused before\n"
          "anything is built (peers: skipped).  A run that fails, crashes, times out or\n"
          "is refused is recorded with its status and message, the others still run,\n"
          "the files are written, and gpugc-bench exits 1 (2 when runs were only\n"
          "refused).  SIGTERM or SIGINT stops the run under way and writes what ran.\n"
          "GPUGC_BACKEND in the environment overrides the backend of every gpugc run;\n"
          "GPUGC_BENCH_FAULT=RUNNER:KIND makes runs fail, for testing (bench/SCHEMA.md).\n",
          out);
}

/* Reports a bad command line; returns -1. */
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gpugc-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see --help)\n", stderr);
    va_end(ap);
    return -1;
}

/* A decimal count in [min, max] with an optional k, M or G suffix, ending
 * at *end (which is moved past it). */
static int parse_count_at(const char *flag, const char **s, uint64_t min, uint64_t max,
                          uint64_t *out) {
    char *end;
    uint64_t mult = 1;
    const char *start = *s;

    if (*start < '0' || *start > '9')
        return usage_error("%s %s: not a count", flag, start);
    errno = 0;
    unsigned long long v = strtoull(start, &end, 10);
    if (errno != 0)
        return usage_error("%s %s: too large", flag, start);
    switch (*end) {
    case 'k': case 'K': mult = 1000u; end++; break;
    case 'M': case 'm': mult = 1000000u; end++; break;
    case 'G': case 'g': mult = 1000000000u; end++; break;
    default: break;
    }
    if (v > max / mult || v * mult < min)
        return usage_error("%s %s: out of range %llu..%llu", flag, start,
                           (unsigned long long)min, (unsigned long long)max);
    *out = v * mult;
    *s = end;
    return 0;
}

static int parse_count(const char *flag, const char *s, uint64_t min, uint64_t max,
                       uint64_t *out) {
    if (parse_count_at(flag, &s, min, max, out) != 0)
        return -1;
    return *s == '\0' ? 0 : usage_error("%s: '%s' is not a count (suffixes: k, M, G)", flag, s);
}

static int parse_fraction(const char *flag, const char *s, double min, bool min_open,
                          double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < min ||
        (min_open && v == min) || v > 1)
        return usage_error("%s %s: expected a fraction in %c%g, 1]", flag, s,
                           min_open ? '(' : '[', min);
    *out = v;
    return 0;
}

/* Splits a comma-separated list; calls item for each.  -1 on an empty
 * item or when item fails. */
static int each_item(const char *flag, const char *list, int (*item)(const char *, void *),
                     void *arg) {
    for (const char *p = list;; p++) {
        char name[BENCH_MAX_SPEC]; /* pyheap:FILE takes a path */
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name)
            return usage_error("%s %s: expected items separated by commas", flag, list);
        memcpy(name, p, len);
        name[len] = '\0';
        if (item(name, arg) != 0)
            return -1;
        p += len;
        if (*p == '\0')
            return 0;
    }
}

static int add_size(bench_options *o, uint64_t n) {
    for (size_t i = 0; i < o->nsizes; i++)
        if (o->sizes[i] == n)
            return 0;
    if (o->nsizes == BENCH_MAX_LIST)
        return usage_error("--objects: more than %d sizes", BENCH_MAX_LIST);
    o->sizes[o->nsizes++] = n;
    return 0;
}

/* One --objects item: N, or A..B (A, the 1-2-5 steps strictly between,
 * B).  Ids are 32-bit and one value is reserved for NULL. */
static int size_item(const char *s, void *arg) {
    bench_options *o = arg;
    uint64_t a, b;
    if (parse_count_at("--objects", &s, 1, UINT32_MAX - 1, &a) != 0)
        return -1;
    if (*s == '\0')
        return add_size(o, a);
    if (strncmp(s, "..", 2) != 0)
        return usage_error("--objects: '%s' is not a count or a range A..B", s);
    s += 2;
    if (parse_count_at("--objects", &s, a, UINT32_MAX - 1, &b) != 0 || *s != '\0')
        return *s != '\0' ? usage_error("--objects: '%s' after a range", s) : -1;
    int rc = add_size(o, a);
    for (uint64_t decade = 1; decade <= b && rc == 0; decade *= 10)
        for (unsigned f = 1; f <= 5 && rc == 0; f += f == 2 ? 3 : 1)
            if (f * decade > a && f * decade < b)
                rc = add_size(o, f * decade);
    return rc == 0 ? add_size(o, b) : rc;
}

static int workload_item(const char *name, void *arg) {
    bench_options *o = arg;
    const bench_workload *w = bench_workload_find(name);
    if (w == NULL && strncmp(name, "pyheap:", 7) == 0) {
        w = bench_workload_pyheap(name);
        if (w == NULL)
            return usage_error("--workload %s: not a heap gpugc-bench can read", name);
    }
    if (w == NULL)
        return usage_error("--workload: unknown workload '%s'", name);
    for (size_t i = 0; i < o->nworkloads; i++)
        if (strcmp(o->workloads[i], w->name) == 0)
            return usage_error("--workload: '%s' listed twice", name);
    o->workloads[o->nworkloads++] = w->name;
    return 0;
}

static int backend_item(const char *name, void *arg) {
    bench_options *o = arg;
    gpugc_backend b;
    if (gpugc_backend_parse(name, &b) != GPUGC_OK)
        return usage_error("--backend: unknown backend '%s' (known: auto, cpu, "
                           "cpu-parallel, opencl, cuda)", name);
    for (size_t i = 0; i < o->nbackends; i++)
        if (o->backends[i] == b)
            return usage_error("--backend: '%s' listed twice", name);
    o->backends[o->nbackends++] = b;
    return 0;
}

static int peer_item(const char *name, void *arg) {
    bench_options *o = arg;
    if (strcmp(name, "none") == 0)
        return 0;
    for (size_t k = 0; k < NPEERS; k++) {
        if (strcmp(known_peers[k]->name, name) != 0)
            continue;
        for (size_t i = 0; i < o->npeers; i++)
            if (o->peers[i] == known_peers[k])
                return usage_error("--peers: '%s' listed twice", name);
        o->peers[o->npeers++] = known_peers[k];
        return 0;
    }
    return usage_error("--peers: unknown peer '%s' (known: bdwgc, malloc, cpython, none)",
                       name);
}

static int program_item(const char *name, void *arg) {
    bench_options *o = arg;
    const bench_program *p = bench_program_find(name);
    if (p == NULL)
        return usage_error("--program: unknown program '%s' (known: binary-trees, gcbench, "
                           "interp)", name);
    for (size_t i = 0; i < o->nprograms; i++)
        if (o->programs[i] == p)
            return usage_error("--program: '%s' listed twice", name);
    o->programs[o->nprograms++] = p;
    return 0;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The command line, for the record; arguments with spaces quoted. */
static void record_command(bench_options *o, int argc, char **argv) {
    size_t len = 0;
    o->command[0] = '\0';
    for (int i = 0; i < argc && len < sizeof o->command; i++) {
        const char *q = strchr(argv[i], ' ') != NULL ? "'" : "";
        int k = snprintf(o->command + len, sizeof o->command - len, "%s%s%s%s",
                         i > 0 ? " " : "", q, argv[i], q);
        len += k > 0 ? (size_t)k : 0;
    }
}

/* Fills *o from argv.  0: run; 1: --help was printed; -1: bad flags. */
static int parse_options(int argc, char **argv, bench_options *o) {
    static const struct option longopts[] = {
        {"workload", required_argument, NULL, 'w'},
        {"objects", required_argument, NULL, 'n'},
        {"degree", required_argument, NULL, 'd'},
        {"chains", required_argument, NULL, 'k'},
        {"garbage", required_argument, NULL, 'g'},
        {"hold", required_argument, NULL, 'H'},
        {"seed", required_argument, NULL, 's'},
        {"backend", required_argument, NULL, 'b'},
        {"peers", required_argument, NULL, 'P'},
        {"repeat", required_argument, NULL, 'r'},
        {"pause", no_argument, NULL, 'p'},
        {"young", required_argument, NULL, 'y'},
        {"program", required_argument, NULL, 'G'},
        {"depth", required_argument, NULL, 'D'},
        {"cycles", required_argument, NULL, 'C'},
        {"micro", no_argument, NULL, 'm'},
        {"concurrent", no_argument, NULL, 'B'},
        {"steady", required_argument, NULL, 'S'},
        {"json", required_argument, NULL, 'j'},
        {"csv", required_argument, NULL, 'c'},
        {"plot", required_argument, NULL, 'o'},
        {"no-memory-check", no_argument, NULL, 'M'},
        {"run-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool peers_given = false, workloads_given = false, programs_given = false;
    uint64_t v;
    int c, rc = 0;

    const char *no_check = getenv("GPUGC_BENCH_NO_MEMORY_CHECK");
    *o = (bench_options){.chains = 1, .seed = 1, .hold = 0.01, .garbage = -1,
                         .repeat = 3, .young = 1000000, .depth = 16, .cycles = 0.05,
                         .steady = 1000000,
                         .no_memory_check = no_check != NULL && *no_check != '\0' &&
                                            strcmp(no_check, "0") != 0};
    record_command(o, argc, argv);
    while (rc == 0 && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'w':
            o->nworkloads = 0;
            workloads_given = true;
            rc = each_item("--workload", optarg, workload_item, o);
            break;
        case 'n':
            o->nsizes = 0;
            o->sizes_given = true;
            rc = each_item("--objects", optarg, size_item, o);
            break;
        case 'd':
            rc = parse_count("--degree", optarg, 1, GPUGC_MAX_REFS, &v);
            o->degree = (uint32_t)v;
            break;
        case 'k':
            rc = parse_count("--chains", optarg, 1, UINT32_MAX - 1, &v);
            o->chains = (uint32_t)v;
            break;
        case 'g':
            rc = parse_fraction("--garbage", optarg, 0, false, &o->garbage);
            break;
        case 'H':
            rc = parse_fraction("--hold", optarg, 0, true, &o->hold);
            o->hold_given = true;
            break;
        case 's':
            rc = parse_count("--seed", optarg, 0, UINT64_MAX, &o->seed);
            break;
        case 'b':
            o->nbackends = 0;
            rc = each_item("--backend", optarg, backend_item, o);
            break;
        case 'P':
            o->npeers = 0;
            peers_given = true;
            rc = each_item("--peers", optarg, peer_item, o);
            break;
        case 'r':
            rc = parse_count("--repeat", optarg, 1, 1000000, &v);
            o->repeat = (unsigned)v;
            break;
        case 'p':
            o->mode = BENCH_PAUSE;
            break;
        case 'y':
            rc = parse_count("--young", optarg, 1, UINT32_MAX - 1, &o->young);
            break;
        case 'G':
            o->nprograms = 0;
            programs_given = true;
            rc = each_item("--program", optarg, program_item, o);
            break;
        case 'D':
            rc = parse_count("--depth", optarg, 4, 21, &v);
            o->depth = (uint32_t)v;
            break;
        case 'C':
            rc = parse_fraction("--cycles", optarg, 0, false, &o->cycles);
            break;
        case 'm':
            o->micro = true;
            break;
        case 'B':
            o->concurrent = true;
            break;
        case 'S':
            rc = parse_count("--steady", optarg, 1, UINT32_MAX / BENCH_INTERP_STEPS_PER_OBJECT,
                             &o->steady);
            break;
        case 'j':
            o->json_path = optarg;
            break;
        case 'c':
            o->csv_path = optarg;
            break;
        case 'o':
            o->plot_path = optarg;
            break;
        case 'M':
            o->no_memory_check = true;
            break;
        case 'T':
            rc = parse_count("--run-timeout", optarg, 1, 1000000, &v);
            o->run_timeout = (double)v;
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
    for (size_t i = 0; rc == 0 && i < o->nworkloads; i++)
        if (o->mode == BENCH_PAUSE && bench_workload_find(o->workloads[i])->capture != NULL)
            rc = usage_error("--pause: %s is a captured heap, measured by full collections "
                             "only", o->workloads[i]);
    if (rc == 0 && o->concurrent && (workloads_given || o->mode == BENCH_PAUSE ||
                                     programs_given || o->micro))
        rc = usage_error("--concurrent runs alone: not with --workload, --pause, --program "
                         "or --micro");
    if (rc == 0 && o->concurrent && o->degree == 1)
        rc = usage_error("--concurrent: --degree 1 leaves no slot to write but the heap's "
                         "cycle");
    if (rc != 0)
        return rc;
    /* What runs: --program and --micro leave the collection benchmark out
     * unless a workload or --pause asks for it; no choice at all is the
     * default comparison, which includes binary-trees. */
    o->collections = !o->concurrent && (workloads_given || o->mode == BENCH_PAUSE ||
                                        (!programs_given && !o->micro));
    if (!workloads_given && !programs_given && !o->micro && !o->sizes_given &&
        o->mode != BENCH_PAUSE && !o->concurrent)
        o->programs[o->nprograms++] = bench_program_find("binary-trees");
    if (o->nworkloads == 0)
        o->workloads[o->nworkloads++] = "pylike";
    if (o->nsizes == 0) {
        static const uint64_t defaults[] = {10000, 100000, 1000000};
        static const uint64_t concurrent[] = {4000000, 16000000};
        for (size_t i = 0; i < (o->concurrent ? 2 : 3); i++)
            o->sizes[o->nsizes++] = o->concurrent ? concurrent[i] : defaults[i];
    }
    qsort(o->sizes, o->nsizes, sizeof o->sizes[0], by_value);
    if (o->mode == BENCH_PAUSE && o->sizes[o->nsizes - 1] > UINT32_MAX - 1 - o->young)
        return usage_error("--objects plus --young: more than 2^32 - 2 objects");
    if (o->nbackends == 0)
        for (int b = GPUGC_BACKEND_CPU; b <= GPUGC_BACKEND_CUDA; b++)
            o->backends[o->nbackends++] = (gpugc_backend)b;
    if (!peers_given)
        for (size_t k = 0; k < NPEERS; k++)
            o->peers[o->npeers++] = known_peers[k];
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Memory: refuse what cannot fit, before building anything                  */
/* ------------------------------------------------------------------------ */

/* The sizes workload w runs at: a captured heap has its own. */
static size_t sizes_of(const bench_options *o, const bench_workload *w,
                       const uint64_t **sizes) {
    *sizes = w->capture != NULL ? &w->capture->objects : o->sizes;
    return w->capture != NULL ? 1 : o->nsizes;
}

static double gib(uint64_t bytes) {
    return (double)bytes / (double)(UINT64_C(1) << 30);
}

/* Bytes a run of r on workload w with n objects needs at its peak: the
 * parent's shape (with the generator's scratch while generating), plus the
 * run's heap. */
static uint64_t run_needs(const bench_options *o, const bench_workload *w, uint64_t n,
                          const bench_runner *r) {
    bench_params p = bench_params_for(o, w, n);
    uint64_t young = o->mode == BENCH_PAUSE ? o->young : 0;
    bench_params yp = bench_params_for(o, bench_workload_find("pylike"), young);
    uint64_t slots = w->max_slots(&p) + (young ? yp.n * 3 : 0);
    bench_counts c = {.objects = n + young, .slots = slots, .edges = slots,
                      .tracked = n + young};
    uint64_t shape = 5 * c.objects + 4 * slots;
    uint64_t generating = bench_shape_bytes(w, &p, young);
    uint64_t running = shape + r->estimate(&c);
    return generating > running ? generating : running;
}

/* The largest size of w that r fits into `avail` bytes. */
static uint64_t largest_fit(const bench_options *o, const bench_workload *w,
                            const bench_runner *r, uint64_t avail, uint64_t hi) {
    uint64_t lo = 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (run_needs(o, w, mid, r) <= avail)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Lists in *refused the gpugc runs that cannot fit, and as skipped the
 * peers that cannot; with --no-memory-check only warns.  Leaves a tenth of
 * what is available as room. */
static void check_memory(const bench_options *o, const bench_runner *runners, size_t nrunners,
                         bench_skip *skips, size_t *nskips, bench_skip *refused,
                         size_t *nrefused) {
    uint64_t avail = bench_memory_available();
    avail -= avail / 10;
    for (size_t w = 0; w < o->nworkloads; w++) {
        const bench_workload *wl = bench_workload_find(o->workloads[w]);
        const uint64_t *sizes;
        for (size_t k = 0, nsizes = sizes_of(o, wl, &sizes); k < nsizes; k++)
            for (size_t i = 0; i < nrunners; i++) {
                const bench_runner *r = &runners[i];
                uint64_t need = run_needs(o, wl, sizes[k], r);
                if (need <= avail)
                    continue;
                char reason[256];
                snprintf(reason, sizeof reason,
                         "needs about %.1f GiB of memory, this machine has %.1f GiB to give%s",
                         gib(need), gib(avail), r->peer ? "" : "; at most about ");
                if (!r->peer)
                    snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
                             "%llu objects fit",
                             (unsigned long long)largest_fit(o, wl, r, avail, sizes[k]));
                if (o->no_memory_check) {
                    fprintf(stderr, "gpugc-bench: warning: %s with %llu objects on %s %s; "
                            "running it anyway (--no-memory-check)\n", wl->name,
                            (unsigned long long)sizes[k], r->name, reason);
                    continue;
                }
                bench_skip *s = r->peer ? &skips[(*nskips)++] : &refused[(*nrefused)++];
                *s = (bench_skip){r->name, wl, sizes[k], "", NULL};
                snprintf(s->reason, sizeof s->reason, "%s", reason);
                if (!r->peer)
                    fprintf(stderr, "gpugc-bench: refusing: %s with %llu objects on %s %s "
                            "(--no-memory-check runs it anyway)\n", wl->name,
                            (unsigned long long)sizes[k], r->name, reason);
            }
    }
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The entry of runner on w at size n in list, or NULL. */
static const bench_skip *listed_at(const bench_skip *list, size_t n_list, const char *runner,
                                   const bench_workload *w, uint64_t n) {
    for (size_t i = 0; i < n_list; i++)
        if (strcmp(list[i].runner, runner) == 0 && list[i].workload == w &&
            list[i].objects == n)
            return &list[i];
    return NULL;
}

/* Where the runners of one size go: the lists to consult and the records
 * to append to. */
typedef struct run_lists {
    const bench_skip *skips, *refused;
    size_t nskips, nrefused;
    bench_record *records;
    size_t nrecords;
} run_lists;

/* Generates workload w at size n (unless no runner can run on it) and
 * measures it on every runner, appending a record for each that is not
 * skipped: measured, or with the status and message of its failure.
 * Returns the number of records that are not BENCH_OK. */
static size_t run_size(const bench_options *o, const bench_workload *w, uint64_t n,
                       const bench_runner *runners, size_t nrunners, run_lists *l) {
    bench_params p = bench_params_for(o, w, n);
    bench_shape shape = {0};
    bench_job job = {o, &shape, {0}, {0}, w->capture};
    bool wanted = false;
    for (size_t i = 0; i < nrunners; i++)
        wanted |= !listed_at(l->skips, l->nskips, runners[i].name, w, n) &&
                  !listed_at(l->refused, l->nrefused, runners[i].name, w, n);
    const char *no_shape = NULL;
    if (wanted && bench_stop_signal() == 0) {
        bench_progress_begin("generating %s, %llu objects", w->name, (unsigned long long)n);
        double t0 = now_ms();
        int st;
        if (o->mode == BENCH_PAUSE) {
            bench_params yp = bench_params_for(o, bench_workload_find("pylike"), o->young);
            yp.seed = o->seed + 1;
            st = bench_shape_pause(w, &p, &yp, &shape);
        } else {
            st = w->generate(&p, &shape);
        }
        bench_progress_end();
        if (st != GPUGC_OK) {
            no_shape = "generating the shape failed (see the messages before)";
        } else {
            printf("%s, %llu objects: generated in %.0f ms\n", w->name, (unsigned long long)n,
                   now_ms() - t0);
            bench_shape_count(&shape, 0, shape.nold, &job.old);
            bench_shape_count(&shape, shape.nold, shape.n, &job.young);
        }
    }

    size_t failed = 0;
    for (size_t i = 0; i < nrunners; i++) {
        const bench_runner *r = &runners[i];
        if (listed_at(l->skips, l->nskips, r->name, w, n))
            continue;
        const bench_skip *refusal = listed_at(l->refused, l->nrefused, r->name, w, n);
        bench_record *rec = &l->records[l->nrecords++];
        *rec = (bench_record){w, p, n, job.old, job.young, BENCH_OK, "", {.peer = r->peer}};
        snprintf(rec->r.runner, sizeof rec->r.runner, "%s", r->name);
        if (refusal != NULL) {
            rec->status = BENCH_REFUSED;
            snprintf(rec->message, sizeof rec->message, "%s", refusal->reason);
        } else if (bench_stop_signal() != 0) {
            rec->status = BENCH_STOPPED;
            snprintf(rec->message, sizeof rec->message,
                     "not run: gpugc-bench got signal %d before", bench_stop_signal());
        } else if (no_shape != NULL) {
            rec->status = BENCH_FAILED;
            snprintf(rec->message, sizeof rec->message, "%s", no_shape);
        } else {
            rec->status = bench_run_isolated(r, &job, &rec->r, rec->message,
                                             sizeof rec->message);
        }
        if (rec->status == BENCH_OK) {
            printf("  %-13s built in %8.1f ms, collected in %9.3f ms (median of %u)\n",
                   r->name, rec->r.build_ms, (double)rec->r.stats.ns_total / 1e6, o->repeat);
        } else {
            printf("  %-13s %s: %s\n", r->name, bench_status_name(rec->status), rec->message);
            failed++;
        }
    }
    bench_shape_free(&shape);
    return failed;
}

/* Draws o->plot_path from the results with plot.py, through a JSON file
 * (o->json_path, or a temporary one). */
static int plot(const bench_options *o, const bench_report *rep) {
#ifdef BENCH_PYTHON
    char tmp[4096] = "";
    const char *json = o->json_path;
    if (json == NULL) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/gpugc-bench-XXXXXX.json",
                 dir != NULL && *dir != '\0' ? dir : "/tmp");
        int fd = mkstemps(tmp, 5);
        if (fd < 0) {
            perror("gpugc-bench: a temporary file for --plot");
            return -1;
        }
        close(fd);
        json = tmp;
        if (bench_report_json(json, rep) != 0) {
            unlink(tmp);
            return -1;
        }
    }
    char *argv[] = {BENCH_PYTHON, BENCH_DIR "/plot.py", (char *)json, (char *)o->plot_path,
                    NULL};
    char *out = NULL;
    int rc = bench_spawn(argv, &out);
    if (out != NULL)
        fputs(out, stdout);
    free(out);
    if (tmp[0] != '\0')
        unlink(tmp);
    return rc == 0 ? 0 : -1;
#else
    (void)rep;
    fprintf(stderr, "gpugc-bench: cannot draw %s: python3 was not found at configure time\n",
            o->plot_path);
    return -1;
#endif
}

int main(int argc, char **argv) {
    bench_options o;
    bench_runner runners[GPUGC_BACKEND_COUNT + NPEERS], collectors[GPUGC_BACKEND_COUNT + NPEERS];
    size_t nrunners = 0, ncollectors = 0, nskips = 0, nrecords = 0, nprograms = 0, nmicro = 0;

    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines interleave with errors */
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : EXIT_USAGE;
    bench_progress_init();
    bench_catch_stop();
    bench_set_run_timeout(o.run_timeout);
    const char *env = getenv("GPUGC_BACKEND");
    if (env != NULL)
        fprintf(stderr, "gpugc-bench: warning: GPUGC_BACKEND=%s overrides "
                "--backend for every run\n", env);

    size_t ngroups = o.collections ? o.nworkloads * o.nsizes : 0, nall = o.nbackends + o.npeers;
    size_t njobs = bench_programs_count(&o);
    bench_skip *skips = calloc(nall * (ngroups + 1) + o.nprograms + 1, sizeof *skips);
    bench_skip *refused = calloc(nall * ngroups + 1, sizeof *refused);
    bench_record *records = calloc(nall * ngroups + 1, sizeof *records);
    bench_program_record *programs = calloc(nall * njobs + 1, sizeof *programs);
    bench_micro_result *micro = calloc(nall + 1, sizeof *micro);
    size_t nconc = bench_concurrent_count(&o, nall), nbg = 0, nsteady = 0;
    bench_bg_record *bg = calloc(nconc + 1, sizeof *bg);
    bench_steady_record *steady = calloc(nconc + 1, sizeof *steady);
    if (skips == NULL || refused == NULL || records == NULL || programs == NULL ||
        micro == NULL || bg == NULL || steady == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for the results\n");
        return EXIT_FAILURE;
    }
    for (size_t i = 0; i < nall; i++) {
        bench_runner r = i < o.nbackends ? bench_runner_gpugc(o.backends[i])
                                         : *o.peers[i - o.nbackends];
        bench_skip *s = &skips[nskips];
        if (bench_available_isolated(&r, s->reason, sizeof s->reason) != 0) {
            s->runner = r.name;
            nskips++;
            continue;
        }
        /* One with nothing to do here (malloc collects nothing, CPython
         * has no microbenchmark) is left out, not skipped. */
        if (!(r.run != NULL && o.collections) && !(r.program != NULL && njobs > 0) &&
            !(r.micro != NULL && o.micro) && !(r.steady != NULL && o.concurrent))
            continue;
        runners[nrunners++] = r;
        if (r.run != NULL)
            collectors[ncollectors++] = r;
    }

    if (o.collections)
        printf("gpugc-bench %d.%d.%d: %s collections, repeat %u, seed %llu; runners:",
               GPUGC_VERSION_MAJOR, GPUGC_VERSION_MINOR, GPUGC_VERSION_PATCH,
               o.mode == BENCH_PAUSE ? "pause (generation 0)" : "full", o.repeat,
               (unsigned long long)o.seed);
    else if (o.concurrent)
        printf("gpugc-bench %d.%d.%d: background collection, repeat %u, seed %llu; runners:",
               GPUGC_VERSION_MAJOR, GPUGC_VERSION_MINOR, GPUGC_VERSION_PATCH, o.repeat,
               (unsigned long long)o.seed);
    else
        printf("gpugc-bench %d.%d.%d: %s%s%s; runners:", GPUGC_VERSION_MAJOR,
               GPUGC_VERSION_MINOR, GPUGC_VERSION_PATCH, njobs > 0 ? "programs" : "",
               njobs > 0 && o.micro ? " and " : "", o.micro ? "the microbenchmark" : "");
    for (size_t i = 0; i < nrunners; i++)
        printf(" %s", runners[i].name);
    putchar('\n');
    for (size_t i = 0; i < nskips; i++)
        printf("%s: skipped: %s\n", skips[i].runner, skips[i].reason);
    /* From here on every run is recorded, whatever happens to the others,
     * and the report is written. */
    size_t failed = 0, nrefused = 0;
    if (nrunners == 0 || (o.collections && ncollectors == 0)) {
        fprintf(stderr, "gpugc-bench: none of the backends and peers asked for is available\n");
        rc = EXIT_FAILURE;
    } else if (o.collections) {
        size_t before = nskips;
        check_memory(&o, collectors, ncollectors, skips, &nskips, refused, &nrefused);
        for (size_t i = before; i < nskips; i++)
            printf("%s: skipped on %s with %llu objects: %s\n", skips[i].runner,
                   skips[i].workload->name, (unsigned long long)skips[i].objects,
                   skips[i].reason);
        run_lists l = {skips, refused, nskips, nrefused, records, 0};
        for (size_t w = 0; w < o.nworkloads; w++) {
            const bench_workload *wl = bench_workload_find(o.workloads[w]);
            const uint64_t *sizes;
            for (size_t k = 0, nsizes = sizes_of(&o, wl, &sizes); k < nsizes; k++)
                failed += run_size(&o, wl, sizes[k], collectors, ncollectors, &l);
        }
        nrecords = l.nrecords;
    }
    /* Programs that failed, or whose runners disagree on the checks,
     * still get the table of what ran: it shows which runner is off. */
    if (rc == 0 && njobs > 0 && bench_stop_signal() == 0 &&
        bench_programs_run(&o, runners, nrunners, programs, &nprograms, skips, &nskips) != 0)
        rc = EXIT_FAILURE;
    if (rc == 0 && o.micro && bench_stop_signal() == 0 &&
        bench_micro_run(runners, nrunners, micro, &nmicro) != 0)
        rc = EXIT_FAILURE;
    if (rc == 0 && o.concurrent && bench_stop_signal() == 0) {
        int crc = bench_concurrent_run(&o, runners, nrunners, bg, &nbg, steady, &nsteady);
        rc = crc < 0 ? EXIT_FAILURE : crc > 0 ? EXIT_USAGE : 0;
    }
    /* Every failure is in the records: 1 when a run failed, 2 when runs
     * were only refused (this machine cannot hold them). */
    size_t not_ok = 0;
    for (size_t i = 0; i < nrecords; i++)
        not_ok += records[i].status != BENCH_OK && records[i].status != BENCH_REFUSED;
    if (rc == 0 && (not_ok > 0 || bench_stop_signal() != 0))
        rc = EXIT_FAILURE;
    else if (rc == 0 && failed > 0)
        rc = EXIT_USAGE;
    bench_report rep = {&o, records, nrecords, programs, nprograms, micro, nmicro,
                        skips, nskips, bg, nbg, steady, nsteady};
    bench_report_table(stdout, &rep);
    if ((o.json_path != NULL && bench_report_json(o.json_path, &rep) != 0) ||
        (o.csv_path != NULL && bench_report_csv(o.csv_path, &rep) != 0) ||
        (o.plot_path != NULL && nrecords + nprograms + nmicro + nbg + nsteady > 0 &&
         plot(&o, &rep) != 0))
        rc = EXIT_FAILURE;
    if (failed > 0)
        fprintf(stderr, "gpugc-bench: %zu of %zu runs did not succeed (see the table)\n",
                failed, nrecords);
    free(steady);
    free(bg);
    free(micro);
    free(programs);
    free(records);
    free(refused);
    free(skips);
    return rc;
}

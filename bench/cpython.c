/* cpython.c - the CPython peer, C side: writes the shape to a temporary
 * file, runs peer_cpython.py on it with the python3 found at configure
 * time, and reads back the one flat JSON object the script prints.  A
 * captured heap (pyheap:FILE) is not rebuilt: CPython already collected
 * it, in the program itself, right after the capture, on this machine, and
 * the sidecar FILE.json holds that collection's time and counts.  The
 * script builds the same graph and times gc.collect() the way measure.c
 * times the in-process heaps; building is not what is measured.  The
 * whole programs run the same way, in peer_programs.py, which times itself
 * (the interpreter's start is not part of a program).
 *
 * The file, native byte order: "GPUGCSH1", then seven uint64 (n, nold,
 * slots, mode (1: pause), repeat, the unreachable count of the first
 * collection and of each timed one), then off (n + 1 uint32), dst (slots
 * uint32) and flags (n bytes). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef BENCH_PYTHON

#define SCRIPT BENCH_DIR "/peer_cpython.py"
#define PROGRAMS BENCH_DIR "/peer_programs.py"

static int cpython_available(const bench_runner *r, char *why, size_t size) {
    (void)r;
    if (access(BENCH_PYTHON, X_OK) != 0) {
        snprintf(why, size, "%s is not there any more", BENCH_PYTHON);
        return -1;
    }
    if (access(SCRIPT, R_OK) != 0 || access(PROGRAMS, R_OK) != 0) {
        snprintf(why, size, "%s is missing",
                 access(SCRIPT, R_OK) != 0 ? SCRIPT : PROGRAMS);
        return -1;
    }
    return 0;
}

/* __slots__ instances: 16 bytes of GC header, 16 of object header, 8 per
 * slot, rounded; floats for leaves; the shape's arrays, the table of
 * objects and of addresses, and the interpreter; a fifth more. */
static uint64_t cpython_estimate(const bench_counts *c) {
    uint64_t heap = 48 * c->tracked + 8 * c->slots + 32 * (c->objects - c->tracked);
    uint64_t tables = 4 * c->slots + 21 * c->objects + (24u << 20);
    return (heap + tables) * 6 / 5;
}

static int write_shape(FILE *f, const bench_job *job) {
    const bench_shape *s = job->shape;
    bool pause = job->o->mode == BENCH_PAUSE;
    uint64_t slots = s->off[s->n];
    const uint64_t header[7] = {
        s->n, s->nold, slots, pause, job->o->repeat, job->old.garbage_tracked,
        pause ? job->young.garbage_tracked : job->old.garbage_tracked,
    };
    fwrite("GPUGCSH1", 1, 8, f);
    fwrite(header, sizeof header[0], 7, f);
    fwrite(s->off, sizeof *s->off, s->n + 1, f);
    fwrite(s->dst, sizeof *s->dst, slots, f);
    fwrite(s->flags, 1, s->n, f);
    return ferror(f) ? -1 : 0;
}

/* The number after "key": in a flat JSON object. */
static int json_number(const char *doc, const char *key, double *v) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(doc, pattern);
    char *end;
    if (p == NULL)
        return -1;
    *v = strtod(p + strlen(pattern), &end);
    return end == p + strlen(pattern) ? -1 : 0;
}

/* The string after "key": (without escapes), into buf. */
static int json_string(const char *doc, const char *key, char *buf, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *p = strstr(doc, pattern);
    if (p == NULL)
        return -1;
    p += strlen(pattern);
    snprintf(buf, size, "%.*s", (int)strcspn(p, "\"\\"), p);
    return 0;
}

/* Fills *res from the script's output. */
static int read_result(const char *out, const bench_job *job, bench_result *res) {
    static const char *const keys[] = {
        "collect_ns", "collect_ns_min", "collect_ns_max", "unreachable", "build_ms",
        "peak_rss_bytes", "rss_growth_bytes", "metadata_bytes",
    };
    double v[sizeof keys / sizeof keys[0]];
    char version[32];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_number(out, keys[i], &v[i]) != 0) {
            fprintf(stderr, "gpugc-bench: cpython: no \"%s\" in the script's output:\n%s\n",
                    keys[i], out);
            return -1;
        }
    if (json_string(out, "python", version, sizeof version) != 0)
        snprintf(version, sizeof version, "?");
    bool pause = job->o->mode == BENCH_PAUSE;
    const bench_counts *set = pause ? &job->young : &job->old;
    res->stats.ns_total = (uint64_t)v[0];
    res->collect_ms_min = v[1] / 1e6;
    res->collect_ms_max = v[2] / 1e6;
    res->stats.unreachable = (uint64_t)v[3];
    res->stats.generation = pause ? 0 : 2;
    res->stats.objects = set->tracked;
    res->stats.edges = set->slots;
    res->measured = BENCH_STAT_BIT(ns_total) | BENCH_STAT_BIT(unreachable) |
                    BENCH_STAT_BIT(generation) | BENCH_STAT_BIT(objects) |
                    BENCH_STAT_BIT(edges);
    res->build_ms = v[4];
    res->peak_rss = (uint64_t)v[5];
    res->rss_growth = (uint64_t)v[6];
    res->metadata_bytes = v[7];
    res->heap_objects = pause ? job->old.objects - job->old.garbage + job->young.objects
                              : job->old.objects;
    snprintf(res->note, sizeof res->note, "Python %s, gc.collect(%d), __slots__ objects",
             version, pause ? 0 : 2);
    if (res->stats.unreachable != set->garbage_tracked) {
        fprintf(stderr, "gpugc-bench: cpython: gc.collect() found %llu unreachable "
                "objects; the graph has %llu\n", (unsigned long long)res->stats.unreachable,
                (unsigned long long)set->garbage_tracked);
        return -1;
    }
    return 0;
}

/* A captured heap's CPython figures, from its sidecar, which must belong
 * to the file (its checksum) and agree with it on every count. */
static int capture_result(const bench_job *job, bench_result *res) {
    const bench_capture *c = job->capture;
    static const char *const keys[] = {
        "heap_crc32", "objects", "unreachable", "collect_ns", "collect_returned",
        "peak_rss_bytes", "rss_bytes", "gc_head_bytes",
    };
    double v[sizeof keys / sizeof keys[0]];
    char path[4096 + 8], doc[1 << 16], version[32], label[64];
    snprintf(path, sizeof path, "%s.json", c->path);
    FILE *f = fopen(path, "r");
    size_t len = f != NULL ? fread(doc, 1, sizeof doc - 1, f) : 0;
    if (f == NULL || ferror(f) || !feof(f)) {
        fprintf(stderr, "gpugc-bench: cpython: %s: %s\n", path,
                f == NULL ? "missing (pyheap_capture.py writes it beside the heap)"
                          : "unreadable, or longer than a sidecar");
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    doc[len] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_number(doc, keys[i], &v[i]) != 0) {
            fprintf(stderr, "gpugc-bench: cpython: %s: no \"%s\"\n", path, keys[i]);
            return -1;
        }
    if ((uint32_t)v[0] != c->crc || (uint64_t)v[1] != c->objects ||
        (uint64_t)v[2] != c->unreachable) {
        fprintf(stderr, "gpugc-bench: cpython: %s belongs to another heap than %s (checksum "
                "%08x, %.0f objects, %.0f unreachable)\n", path, c->path, (uint32_t)v[0], v[1],
                v[2]);
        return -1;
    }
    if (json_string(doc, "python", version, sizeof version) != 0)
        snprintf(version, sizeof version, "?");
    if (json_string(doc, "label", label, sizeof label) != 0)
        label[0] = '\0';
    res->stats.ns_total = (uint64_t)v[3];
    res->collect_ms_min = res->collect_ms_max = v[3] / 1e6;
    res->stats.unreachable = (uint64_t)v[2];
    res->stats.generation = 2;
    res->stats.objects = job->old.tracked;
    res->stats.edges = job->old.slots;
    res->measured = BENCH_STAT_BIT(ns_total) | BENCH_STAT_BIT(unreachable) |
                    BENCH_STAT_BIT(generation) | BENCH_STAT_BIT(objects) |
                    BENCH_STAT_BIT(edges);
    res->peak_rss = (uint64_t)v[5];
    res->rss_growth = (uint64_t)v[6];
    res->metadata_bytes = (double)c->objects * v[7];
    res->heap_objects = c->objects;
    snprintf(res->note, sizeof res->note, "Python %.12s%s%.40s; its gc.collect() after the "
             "capture (returned %llu); RSS: its own", version, label[0] ? ", " : "", label,
             (unsigned long long)v[4]);
    if (res->stats.unreachable != job->old.garbage_tracked) {
        fprintf(stderr, "gpugc-bench: cpython: %s: CPython found %llu unreachable objects; "
                "the graph has %llu\n", path, (unsigned long long)res->stats.unreachable,
                (unsigned long long)job->old.garbage_tracked);
        return -1;
    }
    return 0;
}

static int cpython_run(const bench_runner *r, const bench_job *job, bench_result *res) {
    (void)r;
    if (job->capture != NULL)
        return capture_result(job, res);
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/gpugc-bench-shape-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        perror("gpugc-bench: cpython: the shape's temporary file");
        if (fd >= 0)
            unlink(path);
        return -1;
    }
    bench_progress_begin("cpython: writing the graph");
    int rc = write_shape(f, job);
    rc |= fclose(f);
    bench_progress_end();
    char *out = NULL;
    if (rc != 0) {
        perror("gpugc-bench: cpython: writing the shape");
    } else {
        char *argv[] = {BENCH_PYTHON, SCRIPT, path, NULL};
        rc = bench_spawn(argv, &out);
        if (rc == 0)
            rc = read_result(out, job, res);
        else if (rc > 0)
            fprintf(stderr, "gpugc-bench: cpython: %s failed\n", SCRIPT);
    }
    unlink(path);
    free(out);
    return rc == 0 ? 0 : -1;
}

/* Runs peer_programs.py PROGRAM DEPTH OBJECTS STEPS CYCLES SEED and reads
 * its figures back; the check values come as a string.  steady: the
 * pauses' figures too (each a whole collection), or NULL. */
static int run_program(const bench_program_job *job, bench_program_result *res,
                       bench_steady_result *steady) {
    static const char *const keys[] = {
        "total_ns", "gc_ns", "collections", "gen0", "gen1", "gen2", "max_pause_ns",
        "peak_rss_bytes", "p99_pause_ns",
    };
    double v[sizeof keys / sizeof keys[0]];
    char args[5][32], version[32];
    snprintf(args[0], sizeof args[0], "%u", job->depth);
    snprintf(args[1], sizeof args[1], "%llu", (unsigned long long)job->objects);
    snprintf(args[2], sizeof args[2], "%llu", (unsigned long long)job->steps);
    snprintf(args[3], sizeof args[3], "%.17g", job->cycles);
    snprintf(args[4], sizeof args[4], "%llu", (unsigned long long)job->seed);
    char *argv[] = {BENCH_PYTHON, PROGRAMS, (char *)job->program->name, args[0], args[1],
                    args[2], args[3], args[4], NULL};
    char *out = NULL;
    int rc = bench_spawn(argv, &out);
    if (rc != 0) {
        if (rc > 0)
            fprintf(stderr, "gpugc-bench: cpython: %s failed\n", PROGRAMS);
        free(out);
        return -1;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && rc == 0; i++)
        if (json_number(out, keys[i], &v[i]) != 0) {
            fprintf(stderr, "gpugc-bench: cpython: no \"%s\" in the script's output:\n%s\n",
                    keys[i], out);
            rc = -1;
        }
    if (rc == 0 && json_string(out, "check", res->check, sizeof res->check) != 0) {
        fprintf(stderr, "gpugc-bench: cpython: no check values in:\n%s\n", out);
        rc = -1;
    }
    if (json_string(out, "python", version, sizeof version) != 0)
        snprintf(version, sizeof version, "?");
    free(out);
    if (rc != 0)
        return -1;
    res->total_ms = v[0] / 1e6;
    res->gc_ms = v[1] / 1e6;
    res->collections = (uint64_t)v[2];
    res->generations = true;
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        res->gen[g] = (uint64_t)v[3 + g];
    res->max_pause_ms = res->collections > 0 ? v[6] / 1e6 : NAN;
    res->peak_rss = (uint64_t)v[7];
    snprintf(res->note, sizeof res->note, "Python %s, automatic collection, __slots__ objects",
             version);
    if (steady != NULL) {
        steady->pauses = res->collections;
        steady->p99_pause_ms = res->collections > 0 ? v[8] / 1e6 : NAN;
    }
    return 0;
}

static int cpython_program(const bench_runner *r, const bench_program_job *job,
                           bench_program_result *res) {
    (void)r;
    return run_program(job, res, NULL);
}

/* CPython has one mode, its own: each collection stops the program. */
static int cpython_steady(const bench_runner *r, int mode, const bench_program_job *job,
                          bench_steady_result *res) {
    (void)r;
    res->mode = mode;
    return run_program(job, &res->r, res);
}

const bench_runner bench_runner_cpython = {"cpython", true, GPUGC_BACKEND_AUTO,
                                           cpython_available, cpython_estimate, cpython_run,
                                           cpython_program, NULL, cpython_steady,
                                           BENCH_GC_BIT(BENCH_GC_STOP_THE_WORLD)};

#else /* !BENCH_PYTHON */

static int cpython_missing(const bench_runner *r, char *why, size_t size) {
    (void)r;
    snprintf(why, size, "python3 was not found at configure time");
    return -1;
}

const bench_runner bench_runner_cpython = {"cpython", true, GPUGC_BACKEND_AUTO,
                                           cpython_missing, NULL, NULL, NULL, NULL, NULL, 0};

#endif

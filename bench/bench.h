/* bench.h - what the parts of gpugc-bench share.
 *
 *   workload.c   the seeded generators: a workload becomes a *shape*, an
 *                object graph held as plain arrays that every heap under
 *                test instantiates the same way
 *   pyheap.c     pyheap:FILE, a Python program's heap that
 *                pyheap_capture.py captured, read (as hostile input) into a
 *                shape
 *   measure.c    the measuring loop of the in-process heaps (gpugc, Boehm)
 *   run_gpugc.c  a gpugc heap on one backend
 *   bdwgc.c      the Boehm-Demers-Weiser GC peer (built when libgc is found)
 *   cpython.c    the CPython peer: writes the shape for peer_cpython.py;
 *                runs peer_programs.py for the whole programs
 *   program.c    the whole programs (binary-trees, gcbench, interp) and the
 *                microbenchmark: what they are, interp's seeded steps, the
 *                runs, and the check that every runner computed the same
 *   prog_gpugc.c the programs and the microbenchmark written against gpugc
 *   prog_bdwgc.c ... with Boehm GC (GC_MALLOC, its defaults)
 *   prog_malloc.c ... with malloc/free: the malloc runner
 *   concurrent.c --concurrent: background collection's pauses on a big heap
 *                while the program goes on, and interp's steady state with
 *                background collections beside stop-the-world ones
 *   proc.c       one child process per run, RSS, this machine's memory
 *   progress.c   progress lines on stderr
 *   report.c     the human tables, JSON and CSV
 *   bench.c      main: flags, the memory check, the run loop
 *
 * Glossary
 *   shape    n objects by index; object i has slots dst[off[i]..off[i+1]),
 *            each an object index or BENCH_NULL; flags say which objects
 *            C code holds and which are garbage (unreachable from them);
 *            a captured heap also says how many references C code holds
 *            to each object (ext).
 *   capture  a heap file of pyheap_capture.py: its header, and its
 *            sidecar FILE.json with CPython's own collection of it.
 *   runner   what a shape is measured on: a gpugc backend or a peer.
 *   run      one runner on one shape, in a child process of its own.
 *   program  a whole program (binary-trees, gcbench, interp), written once
 *            per runner and timed end to end with automatic collection on;
 *            its check values must agree across runners.
 */
#ifndef GPUGC_BENCH_H
#define GPUGC_BENCH_H

#include <gpugc.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

enum { BENCH_MAX_LIST = 64 }; /* workloads, sizes, runners on one command */
enum { BENCH_MAX_SPEC = 1024 }; /* one item of a list (pyheap:FILE's path) */

/* Defined below, named earlier. */
struct bench_program;
struct bench_program_job;
struct bench_program_result;
struct bench_micro_result;
struct bench_skip;
struct bench_steady_result;

typedef enum { BENCH_FULL, BENCH_PAUSE } bench_mode;

/* The command line, parsed and checked. */
typedef struct bench_options {
    const char *workloads[BENCH_MAX_LIST]; /* names in bench_workloads      */
    size_t nworkloads;
    uint64_t sizes[BENCH_MAX_LIST];   /* --objects, ascending                */
    size_t nsizes;
    uint32_t degree;      /* 0: the workload's default                       */
    uint32_t chains;      /* list: chains (and garbage rings)                */
    uint64_t seed;        /* same seed, same graph                           */
    double hold;          /* fraction of live objects held from C, in (0, 1] */
    double garbage;       /* unreachable fraction; < 0: the workload's default */
    unsigned repeat;      /* timed collections per run                       */
    bench_mode mode;
    uint64_t young;       /* pause: young objects on top of the old heap     */
    bool collections;     /* run the collection benchmark (full or pause)    */
    const struct bench_program *programs[BENCH_MAX_LIST]; /* --program     */
    size_t nprograms;
    uint32_t depth;       /* binary-trees, gcbench: --depth                  */
    double cycles;        /* interp: fraction of steps making a cycle        */
    bool sizes_given;     /* --objects was given (interp's default is 100k)  */
    bool micro;           /* --micro                                         */
    bool concurrent;      /* --concurrent                                    */
    bool hold_given;      /* --hold was given (--concurrent's default: 0.1)  */
    uint64_t steady;      /* --concurrent: interp's table entries            */
    gpugc_backend backends[GPUGC_BACKEND_COUNT]; /* in the order given       */
    size_t nbackends;
    const struct bench_runner *peers[BENCH_MAX_LIST]; /* --peers, in order   */
    size_t npeers;
    const char *json_path, *csv_path, *plot_path; /* NULL: not written      */
    bool no_memory_check; /* --no-memory-check, GPUGC_BENCH_NO_MEMORY_CHECK  */
    double run_timeout;   /* --run-timeout: seconds per run; 0: none         */
    char command[1024];   /* the command line, for the record                */
} bench_options;

/* ------------------------------------------------------------------------ */
/* Shapes and workloads (workload.c)                                         */
/* ------------------------------------------------------------------------ */

#define BENCH_NULL UINT32_MAX /* an empty slot */
enum { BENCH_HELD = 1u, BENCH_GARBAGE = 2u };

typedef struct bench_shape {
    uint64_t n;      /* objects 0..n-1                                       */
    uint64_t nold;   /* pause: [0, nold) is the old heap, built first, and
                        [nold, n) the young objects; n otherwise             */
    uint32_t *off;   /* n + 1 entries                                        */
    uint32_t *dst;   /* off[n] slot targets                                  */
    uint8_t *flags;  /* BENCH_HELD, BENCH_GARBAGE; never both                */
    uint32_t *ext;   /* n references C code holds to each object (> 0 exactly
                        for the BENCH_HELD ones); NULL: one to each held one */
} bench_shape;

/* References C code holds to object i of s. */
static inline uint32_t bench_held_refs(const bench_shape *s, uint64_t i) {
    return s->ext != NULL ? s->ext[i] : (s->flags[i] & BENCH_HELD) != 0;
}

/* A captured heap: what its header says, checked against its size (and,
 * once parsed, against its contents). */
typedef struct bench_capture {
    const char *path;
    uint32_t crc;          /* CRC-32 of the bytes after the header          */
    uint64_t objects, slots, roots;
    uint64_t unreachable;  /* CPython's mark phase's unreachable set        */
} bench_capture;

/* Figures of the objects [lo, hi) of a shape. */
typedef struct bench_counts {
    uint64_t objects;
    uint64_t slots;           /* reference slots, empty ones included        */
    uint64_t edges;           /* non-empty slots                             */
    uint64_t tracked;         /* objects with slots: what a collector scans  */
    uint64_t held;
    uint64_t garbage;         /* objects unreachable from the held ones      */
    uint64_t garbage_tracked; /* of those, with slots: what a collection of
                                 [lo, hi) must report unreachable            */
} bench_counts;

/* What a generator is asked for.  ext/next: live objects outside the
 * shape that its slots may also reference (the old heap under young
 * objects); the generator writes them as n + k for ext[k]. */
typedef struct bench_params {
    uint64_t n;
    uint64_t seed;
    uint32_t degree;
    uint32_t chains;
    double garbage;
    double hold;
    const uint32_t *ext;
    uint64_t next;
    const bench_capture *capture; /* pyheap:FILE; NULL for the generators */
} bench_params;

typedef struct bench_workload {
    const char *name;
    const char *doc;          /* one line for --help                         */
    uint32_t default_degree;  /* 0: --degree does not apply                  */
    double default_garbage;
    /* Fills *s (which the caller frees with bench_shape_free).  GPUGC_OK or
     * GPUGC_ENOMEM / GPUGC_EOVERFLOW with a message on stderr. */
    int (*generate)(const bench_params *p, bench_shape *s);
    /* Slots a shape of p will have, at most: for the memory estimate. */
    uint64_t (*max_slots)(const bench_params *p);
    /* pyheap:FILE: the file, whose size is its only size; NULL for the
     * generators. */
    const bench_capture *capture;
} bench_workload;

extern const bench_workload bench_workloads[];
extern const size_t bench_nworkloads;

/* The workload called name (a generator, or a pyheap:FILE registered
 * before), or NULL. */
const bench_workload *bench_workload_find(const char *name);

/* The generator's parameters for workload w of n objects under *o. */
bench_params bench_params_for(const bench_options *o, const bench_workload *w,
                              uint64_t n);

/* The old heap of p (workload w) with young pylike objects of yp on top,
 * which also reference the old heap's live objects: the pause benchmark's
 * shape. */
int bench_shape_pause(const bench_workload *w, const bench_params *p,
                      const bench_params *yp, bench_shape *s);

void bench_shape_free(bench_shape *s);
void bench_shape_count(const bench_shape *s, uint64_t lo, uint64_t hi,
                       bench_counts *c);

/* Bytes a shape of p takes, plus the generator's scratch at its peak. */
uint64_t bench_shape_bytes(const bench_workload *w, const bench_params *p,
                           uint64_t young);

/* ------------------------------------------------------------------------ */
/* Captured Python heaps (pyheap.c; the format: pyheap_capture.py, SCHEMA.md) */
/* ------------------------------------------------------------------------ */

#define BENCH_PYHEAP_MAGIC "GPUGCPYH"
enum { BENCH_PYHEAP_VERSION = 1, BENCH_PYHEAP_HEADER = 48 };
#define BENCH_PYHEAP_EXT_MAX (UINT32_C(1) << 31)       /* per object        */
#define BENCH_PYHEAP_EXT_TOTAL_MAX (UINT64_C(1) << 32) /* in all: the increfs
                                                          a replay makes    */

/* Registers workload "pyheap:FILE" (spec), checking FILE's header; returns
 * it, or NULL with a message naming the file and the byte offset on
 * stderr.  bench_workload_find finds it by spec afterwards. */
const bench_workload *bench_workload_pyheap(const char *spec);
/* The registered pyheap workload called name, or NULL. */
const bench_workload *bench_pyheap_find(const char *name);

/* The header of a heap file of size bytes into *c (path not set), checked
 * against size; data holds the file's first BENCH_PYHEAP_HEADER bytes (all
 * of a shorter one).  0, or -1 with "NAME: at byte N: what" in err. */
int bench_pyheap_header(const char *name, const uint8_t *data, size_t size, bench_capture *c,
                        char *err, size_t errsize);
/* A whole heap file into *s (which the caller frees with bench_shape_free)
 * and *c: every field checked, the checksum too, the unreachable set
 * marked and compared with the one the header records.  0, or -1 with
 * "NAME: at byte N: what" in err and *s empty.  Allocates at most about
 * 3 bytes per byte of the file. */
int bench_pyheap_parse(const char *name, const uint8_t *data, size_t size, bench_shape *s,
                       bench_capture *c, char *err, size_t errsize);
uint32_t bench_crc32(const uint8_t *p, size_t n);

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

/* Fields of gpugc_collection_stats by position, so that peers can say which
 * ones they measure. */
#define BENCH_STAT_INDEX(type, name, doc) BENCH_STAT_##name,
enum { GPUGC_COLLECTION_STATS(BENCH_STAT_INDEX) BENCH_NSTATS };
#undef BENCH_STAT_INDEX
#define BENCH_STAT_BIT(name) (UINT32_C(1) << BENCH_STAT_##name)
#define BENCH_STATS_ALL ((UINT32_C(1) << BENCH_NSTATS) - 1)

/* How a run ended.  A run that did not end BENCH_OK is still recorded,
 * with a message, and the others go on. */
typedef enum {
    BENCH_OK = 0,
    BENCH_FAILED,   /* exited with an error, or died of a signal             */
    BENCH_TIMEOUT,  /* ran past --run-timeout, killed                        */
    BENCH_REFUSED,  /* the memory check said it cannot fit; never started    */
    BENCH_STOPPED,  /* gpugc-bench got SIGTERM or SIGINT: killed, or not run */
} bench_status;

/* "ok", "failed", "timeout", "refused", "stopped". */
const char *bench_status_name(bench_status st);

/* What one run measured.  Plain data: it travels from the child process
 * that ran it through a pipe. */
typedef struct bench_result {
    char runner[16];          /* "cpu", "bdwgc", "cpython", ...              */
    bool peer;
    gpugc_collection_stats stats; /* the median timed collection by time     */
    uint32_t measured;        /* BENCH_STAT_BIT()s of the stats it holds     */
    double collect_ms_min, collect_ms_max; /* over the timed collections     */
    double build_ms;          /* instantiating the shape (the old heap)      */
    uint64_t heap_objects;    /* objects in the heap when it was collected   */
    double metadata_bytes;    /* what the collector keeps per heap (see SCHEMA.md) */
    uint64_t peak_rss;        /* bytes, the run's process at its peak        */
    uint64_t rss_growth;      /* peak minus the RSS before building          */
    char note[160];           /* versions, threads, caveats                  */
} bench_result;

/* A run's task: the shape and the figures of its parts.  In full mode
 * `old` covers the whole shape and `young` is empty. */
typedef struct bench_job {
    const bench_options *o;
    const bench_shape *shape;
    bench_counts old, young;
    const bench_capture *capture; /* pyheap:FILE; NULL for generated shapes */
} bench_job;

/* What a shape is measured on. */
typedef struct bench_runner {
    const char *name;
    bool peer;
    gpugc_backend backend; /* gpugc backends only */
    /* 0 when it can run here; otherwise -1 with the reason in why. */
    int (*available)(const struct bench_runner *r, char *why, size_t size);
    /* Bytes a run needs besides the shape, for shape figures c (which may
     * be upper bounds). */
    uint64_t (*estimate)(const bench_counts *c);
    /* Measures job into *res, in a child process of its own.  0, or -1
     * with a message on stderr. */
    int (*run)(const struct bench_runner *r, const bench_job *job,
               bench_result *res);
    /* Runs a whole program in this process (a child of its own) into
     * *res.  0, or -1 with a message.  NULL: runs no programs. */
    int (*program)(const struct bench_runner *r, const struct bench_program_job *job,
                   struct bench_program_result *res);
    /* The microbenchmark into *res; NULL: none. */
    int (*micro)(const struct bench_runner *r, struct bench_micro_result *res);
    /* --concurrent's steady state: interp with collector mode `mode` (a
     * bench_gc_mode), pauses listed; NULL: none. */
    int (*steady)(const struct bench_runner *r, int mode, const struct bench_program_job *job,
                  struct bench_steady_result *res);
    unsigned steady_modes; /* BENCH_GC_BIT()s of the modes steady runs      */
} bench_runner;

/* run_gpugc.c: gpugc on backend b. */
bench_runner bench_runner_gpugc(gpugc_backend b);
/* The runners' programs and microbenchmarks (prog_gpugc.c, prog_bdwgc.c),
 * named by their runners. */
int bench_gpugc_program(const bench_runner *r, const struct bench_program_job *job,
                        struct bench_program_result *res);
int bench_gpugc_micro(const bench_runner *r, struct bench_micro_result *res);
int bench_bdwgc_program(const bench_runner *r, const struct bench_program_job *job,
                        struct bench_program_result *res);
int bench_bdwgc_micro(const bench_runner *r, struct bench_micro_result *res);
int bench_gpugc_steady(const bench_runner *r, int mode, const struct bench_program_job *job,
                       struct bench_steady_result *res);
int bench_bdwgc_steady(const bench_runner *r, int mode, const struct bench_program_job *job,
                       struct bench_steady_result *res);
/* bdwgc.c and cpython.c; bdwgc's `available` says why when libgc was not
 * found at configure time. */
extern const bench_runner bench_runner_bdwgc;
extern const bench_runner bench_runner_cpython;
/* prog_malloc.c: malloc/free, a runner of programs without cycles and of
 * the microbenchmark; it collects nothing (run is NULL). */
extern const bench_runner bench_runner_malloc;

/* ------------------------------------------------------------------------ */
/* The measuring loop (measure.c)                                            */
/* ------------------------------------------------------------------------ */

/* A heap the loop drives: gpugc on one backend, or Boehm GC. */
typedef struct bench_heap_ops {
    /* Instantiates the objects [lo, hi) of s, or only its garbage ones:
     * creates them, stores their slots, then drops every reference to them
     * but those C code holds (BENCH_HELD).  0, or -1 with a message. */
    int (*build)(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi,
                 bool garbage_only);
    /* Collects generation g (or everything, for a heap without
     * generations) into *st, setting the BENCH_STAT_BIT()s of the fields
     * it measured in *measured.  0, or -1 with a message. */
    int (*collect)(void *heap, int g, gpugc_collection_stats *st,
                   uint32_t *measured);
    /* Drops the references C code holds to the held objects of [lo, hi). */
    void (*release)(void *heap, const bench_shape *s, uint64_t lo, uint64_t hi);
    /* Live objects in the heap; -1 when the heap cannot tell. */
    int64_t (*live)(void *heap);
    /* The collector's metadata now, in bytes. */
    double (*metadata)(void *heap);
    /* A conservative collector may keep garbage that some stray word
     * seems to reference: finding less than the shape's garbage is then
     * noted, not an error. */
    bool conservative;
} bench_heap_ops;

/* Full mode: builds the shape, collects it once (checking the garbage
 * count), then `repeat` times rebuilds the garbage and times a collection
 * of generation 2.  Pause mode: builds the old heap and collects it
 * (aging it into generation 2), then `repeat` times builds the young
 * objects, times a collection of generation 0, drops the young objects and
 * collects them untimed.  A count that differs from the shape's is an
 * error.  Fills everything in *res but the runner name and RSS. */
int bench_measure(const bench_heap_ops *ops, void *heap, const bench_job *job,
                  bench_result *res);

/* ------------------------------------------------------------------------ */
/* Processes and memory (proc.c)                                             */
/* ------------------------------------------------------------------------ */

/* Runs r on job in a child process and copies its result back, with the
 * child's peak RSS and growth unless the runner set them.  BENCH_OK, or
 * how it failed with a one-line message in why. */
bench_status bench_run_isolated(const bench_runner *r, const bench_job *job,
                                bench_result *res, char *why, size_t why_size);

/* r->available, asked in a child process: a backend may start threads
 * when asked (an OpenCL platform does), and a process that forks must not
 * have any, or its children may wait on them forever. */
int bench_available_isolated(const bench_runner *r, char *why, size_t size);

/* Memory this process may still use, in bytes: MemAvailable, lowered to
 * what the cgroup limit leaves; GPUGC_BENCH_MEMORY_AVAILABLE (bytes), for
 * testing, replaces both. */
uint64_t bench_memory_available(void);

/* Runs fn(arg, buf) in a child process and copies the size bytes it
 * leaves in buf back.  BENCH_OK when the child ran fn to success; else
 * BENCH_FAILED (fn failed, or the child died), BENCH_TIMEOUT (it ran past
 * the run timeout and was killed) or BENCH_STOPPED (this process was asked
 * to stop), with a message on stderr (what names the child) and in why:
 * the child's last "gpugc-bench: " line on stderr, or how it died.  The
 * child's stderr passes through this process on its way out. */
bench_status bench_in_child(int (*fn)(void *arg, void *buf), void *arg, void *buf,
                            size_t size, const char *what, char *why, size_t why_size);

/* Seconds a child may run before it is killed; 0: no limit. */
void bench_set_run_timeout(double seconds);

/* SIGTERM and SIGINT no longer end gpugc-bench at once: the running child
 * is killed, no other starts, and what ran is reported (so that a caller's
 * `timeout` still leaves the JSON).  bench_stop_signal: the signal that
 * came, or 0. */
void bench_catch_stop(void);
int bench_stop_signal(void);

/* For testing the failure paths without a GPU: the fault that
 * GPUGC_BENCH_FAULT (RUNNER:KIND, comma-separated) asks of runner, or NULL.
 * KIND: "mark" (every collection's mark phase fails: a device or
 * cpu-parallel backend falls back to the CPU reference, cpu's run fails),
 * "crash" (the run's process aborts), "hang" (it sleeps until killed). */
const char *bench_fault(const char *runner);
/* In a run's process: aborts for "crash", sleeps until killed for "hang". */
void bench_fault_crash_or_hang(const char *fault);

/* Resets this process's peak RSS to its current RSS (a child starts with
 * its parent's peak) and returns the current RSS; bench_peak_rss, the
 * peak since, in bytes (the parent's peak where the reset is refused). */
uint64_t bench_rss_reset(void);
uint64_t bench_peak_rss(void);

/* Runs argv (argv[0] a path) with stdout into *out (malloc'd, NUL ended,
 * the caller frees it).  The exit status, or -1 with a message. */
int bench_spawn(char *const argv[], char **out);

/* The machine, for the record: CPU model, cores and memory. */
void bench_machine(char *cpu, size_t cpu_size, unsigned *cores, uint64_t *memory);

/* ------------------------------------------------------------------------ */
/* Progress (progress.c)                                                     */
/* ------------------------------------------------------------------------ */

/* A step that may take long begins; progress shows on stderr once it has
 * run for a second, and only when stderr is a terminal. */
void bench_progress_begin(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* done of total; cheap enough to call every few thousand items. */
void bench_progress(uint64_t done, uint64_t total);
/* Clears the line, if one was shown. */
void bench_progress_end(void);

/* Decides, before any child process starts, whether progress shows: the
 * children's stderr is a pipe through gpugc-bench, not the terminal. */
void bench_progress_init(void);

/* Calls bench_progress every 64k items: for tight loops. */
static inline void bench_tick(uint64_t done, uint64_t total) {
    if ((done & 0xffffu) == 0)
        bench_progress(done, total);
}

/* ------------------------------------------------------------------------ */
/* Whole programs and the microbenchmark (program.c)                         */
/* ------------------------------------------------------------------------ */

typedef enum { BENCH_BINARY_TREES, BENCH_GCBENCH, BENCH_INTERP } bench_program_id;

typedef struct bench_program {
    const char *name;
    bench_program_id id;
    const char *doc;    /* one line for --help                               */
    const char *checks; /* what the check values are, in order               */
    bool cycles;        /* makes garbage cycles: malloc/free cannot run it   */
} bench_program;

extern const bench_program bench_programs[];
extern const size_t bench_nprograms;
const bench_program *bench_program_find(const char *name);

/* One program to run.  binary-trees and gcbench: depth; interp: a live set
 * of `objects` table entries, filled, then `steps` seeded steps. */
typedef struct bench_program_job {
    const bench_program *program;
    uint32_t depth;
    uint64_t objects, steps, seed;
    double cycles;
} bench_program_job;

/* What one program run measured; plain data, it travels through a pipe.
 * NAN: not measurable by this runner. */
typedef struct bench_program_result {
    char runner[16];
    bool peer;
    double total_ms;       /* the program, end to end                        */
    double gc_ms;          /* in collections                                 */
    double max_pause_ms;   /* the longest collection; NAN without any        */
    uint64_t collections;
    bool generations;      /* gen[] holds collections per generation         */
    uint64_t gen[GPUGC_GENERATIONS];
    uint64_t peak_rss;     /* bytes, the run's process                       */
    char check[200];       /* the check values, space-separated decimals     */
    char note[160];
} bench_program_result;

/* interp's steps, the same for every runner (peer_programs.py makes the
 * same from the same seed): splitmix64, one or two draws per step. */
enum { BENCH_INTERP_MAX_SLOTS = 8, BENCH_INTERP_STEPS_PER_OBJECT = 10 };
typedef enum { BENCH_OP_CREATE, BENCH_OP_LINK, BENCH_OP_RESIZE, BENCH_OP_DROP,
               BENCH_OP_CYCLE } bench_interp_kind;
typedef struct bench_interp_op {
    bench_interp_kind kind;
    uint64_t i;     /* the table entry the step works on                     */
    uint64_t j;     /* create, cycle: slot s takes entry (j + s) % n; link:
                       the entry stored                                      */
    uint32_t k;     /* create, resize: slots; cycle: objects in the ring;
                       link: the slot, modulo the object's slot count        */
} bench_interp_op;
typedef struct bench_interp {
    uint64_t rng, n, step, steps;
    uint32_t t_cycle, t_create, t_link, t_resize; /* 16-bit thresholds        */
} bench_interp;
void bench_interp_init(bench_interp *it, const bench_program_job *job);
/* The next step: the first n fill entry i with a create, then `steps`
 * drawn ones.  false when done. */
bool bench_interp_next(bench_interp *it, bench_interp_op *op);
/* Appends v to res->check. */
void bench_check_add(struct bench_program_result *res, uint64_t v);

/* One step of interp's check: the running hash of ids. */
static inline uint64_t bench_interp_hash(uint64_t h, uint64_t id) {
    return h * 31u + id;
}

/* The microbenchmark: one row per operation, size and slot count. */
typedef enum { BENCH_MICRO_NEW, BENCH_MICRO_FREE, BENCH_MICRO_NEW_FREE, BENCH_MICRO_INCREF,
               BENCH_MICRO_DECREF, BENCH_MICRO_INCREF_DECREF, BENCH_MICRO_SET_REF,
               BENCH_MICRO_GET_REF, BENCH_MICRO_RESIZE, BENCH_MICRO_FREE_TREE } bench_micro_op;
typedef struct bench_micro_row {
    bench_micro_op op;
    const char *name;
    uint32_t size, slots; /* the object's payload bytes and slots            */
} bench_micro_row;
enum { BENCH_MICRO_MAX = 48, BENCH_MICRO_BATCH = 512, BENCH_MICRO_ROUNDS = 201,
       BENCH_MICRO_TREE_DEPTH = 9 };
extern const bench_micro_row bench_micro_rows[];
extern const size_t bench_nmicro_rows;

/* Nodes of a complete tree of depth d. */
static inline uint64_t bench_tree_size(unsigned d) {
    return (UINT64_C(1) << (d + 1)) - 1;
}

typedef struct bench_micro_result {
    char runner[16];
    double ns[BENCH_MICRO_MAX]; /* per bench_micro_rows entry; NAN: none     */
    uint64_t peak_rss;
    char note[160];
} bench_micro_result;

/* ns per operation: the median over BENCH_MICRO_ROUNDS calls of round,
 * each returning ns per operation of one batch. */
double bench_micro_median(double (*round)(void *arg), void *arg);
uint64_t bench_now_ns(void);

/* A program record: the job and what the run measured. */
typedef struct bench_program_record {
    bench_program_job job;
    bench_program_result r;
} bench_program_record;

/* Runs every program of o on every runner that runs it (appending
 * records and skips; malloc skipped where a program makes cycles), and
 * checks that they agree.  0, or -1 (a run failed, or checks differ: said
 * on stderr, the records kept for the report). */
int bench_programs_run(const bench_options *o, const bench_runner *runners, size_t nrunners,
                       bench_program_record *records, size_t *nrecords,
                       struct bench_skip *skips, size_t *nskips);
/* Records a program set of o may make, at most. */
size_t bench_programs_count(const bench_options *o);
/* Runs the microbenchmark on every runner with one.  0 or -1. */
int bench_micro_run(const bench_runner *runners, size_t nrunners, bench_micro_result *out,
                    size_t *nout);

/* ------------------------------------------------------------------------ */
/* Background collection: --concurrent (concurrent.c)                        */
/* ------------------------------------------------------------------------ */

/* How a steady-state run collects: each collector's default stops the
 * world (gpugc_collect, GC_gcollect's marking, CPython's gc); gpugc can
 * mark in the background (cfg.concurrent), Boehm incrementally
 * (GC_enable_incremental). */
typedef enum { BENCH_GC_STOP_THE_WORLD, BENCH_GC_BACKGROUND, BENCH_GC_INCREMENTAL,
               BENCH_GC_MODES } bench_gc_mode;
#define BENCH_GC_BIT(m) (1u << (m))
/* "stop-the-world", "background", "incremental". */
const char *bench_gc_mode_name(int mode);

/* The pauses of one run, kept in its process until summed up. */
typedef struct bench_pauses {
    uint64_t *ns;
    size_t n, cap;
} bench_pauses;
/* Adds one; -1 (with a message) when out of memory. */
int bench_pauses_add(bench_pauses *p, uint64_t ns);
/* Sums p up into *res (pauses, the longest, the 99th percentile, their
 * total as gc_ms) and frees it. */
void bench_pauses_done(bench_pauses *p, struct bench_steady_result *res);

/* One steady-state run: interp, end to end, with its pauses.  Plain data. */
typedef struct bench_steady_result {
    bench_program_result r; /* gc_ms: the pauses' total; max_pause_ms: the longest */
    int mode;               /* bench_gc_mode                                */
    uint64_t pauses;        /* a background collection makes two: start, finish */
    double p99_pause_ms;    /* nearest rank; NAN without pauses             */
} bench_steady_result;

/* Part one: a big random heap's full collection stopping the world, then
 * in the background while the program allocates and writes slots.  Times
 * in ms.  Plain data. */
typedef struct bench_bg_result {
    char runner[16];
    uint64_t objects, held, set_objects;
    int32_t backend_ran, fallback;  /* the steady background collections'   */
    double stw_ms;                  /* the median stop-the-world collection  */
    unsigned rounds;                /* background collections, the first included */
    /* [0]: the first background collection (its start copies the whole
     * heap); [1]: the worst of the later ones, each figure on its own. */
    double start_ms[2], finish_ms[2], call_ms[2];   /* as the program saw them */
    double stats_start_ms[2], stats_finish_ms[2];   /* pause_start_ns, pause_finish_ns */
    double mark_ms[2];              /* start to gpugc_collect_ready          */
    double median_pause_ms;         /* the later rounds' longest pauses' median */
    double steps_per_s;             /* the later marks, all steps over all time */
    double idle_steps_per_s;        /* the same loop, no collection pending  */
    double idle_call_ms;            /* its longest step                      */
    double snapshot_bytes_per_object;
    uint64_t peak_rss;
    char note[160];
} bench_bg_result;

/* The longest pause of r (steady rounds) over stop-the-world, and the
 * issue's target for its size: 1/10, 1/20 from 16M objects on. */
double bench_bg_longest_ms(const bench_bg_result *r);
double bench_bg_target(uint64_t objects);

typedef struct bench_bg_record {
    bench_status status;
    char message[256];
    uint64_t seed;
    double hold;
    uint32_t degree;
    bench_bg_result r;
} bench_bg_record;

typedef struct bench_steady_record {
    bench_program_job job;
    bench_steady_result s;
} bench_steady_record;

/* Runs --concurrent: part one on every gpugc runner and size of o (a size
 * that cannot fit in memory refused, as the memory check refuses runs),
 * part two on every runner with a steady state, in each of its modes,
 * checking that they agree on interp's check values.  Records at most
 * bench_concurrent_count's.  0; 1 when runs were only refused; or -1 (said
 * on stderr; records kept). */
int bench_concurrent_run(const bench_options *o, const bench_runner *runners, size_t nrunners,
                         bench_bg_record *bg, size_t *nbg, bench_steady_record *steady,
                         size_t *nsteady);
size_t bench_concurrent_count(const bench_options *o, size_t nrunners);

/* ------------------------------------------------------------------------ */
/* Output (report.c)                                                         */
/* ------------------------------------------------------------------------ */

/* One run as reported: the workload, its size and the run's result. */
typedef struct bench_record {
    const bench_workload *workload;
    bench_params params;  /* as generated: defaults resolved              */
    uint64_t objects;     /* the size asked for (the old heap when pausing) */
    bench_counts old, young; /* as in the run's bench_job                  */
    bench_status status;  /* not BENCH_OK: r holds nothing but the runner  */
    char message[256];    /* why it did not end BENCH_OK                    */
    bench_result r;
} bench_record;

/* A runner that did not run: everywhere (workload and program NULL), at
 * one size of a workload, or on one program. */
typedef struct bench_skip {
    const char *runner;
    const bench_workload *workload;
    uint64_t objects;
    char reason[256];
    const bench_program *program;
} bench_skip;

typedef struct bench_report {
    const bench_options *o;
    const bench_record *records;
    size_t nrecords;
    const bench_program_record *programs;
    size_t nprograms;
    const bench_micro_result *micro;
    size_t nmicro;
    const bench_skip *skips;
    size_t nskips;
    const bench_bg_record *bg;
    size_t nbg;
    const bench_steady_record *steady;
    size_t nsteady;
} bench_report;

/* The human tables: per workload and size, collect and mark figures with
 * speedups, every stage, memory; then a summary across sizes; per program
 * total time, collections, pauses, peak RSS and ratios; the
 * microbenchmark's ns per operation beside malloc and Boehm; the skips. */
void bench_report_table(FILE *out, const bench_report *rep);
/* JSON and CSV files as SCHEMA.md describes: CSV one file per kind of
 * record, programs and micro records beside path (name-programs.csv,
 * name-micro.csv).  0, or -1 with a message. */
int bench_report_json(const char *path, const bench_report *rep);
int bench_report_csv(const char *path, const bench_report *rep);

#endif /* GPUGC_BENCH_H */

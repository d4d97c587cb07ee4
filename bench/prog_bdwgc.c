/* prog_bdwgc.c - the whole programs written for Boehm GC as its own
 * GCBench is: GC_MALLOC nodes with child pointers, pointer-free data from
 * GC_MALLOC_ATOMIC, nothing freed by hand, the collector's defaults
 * (GC_INIT, nothing set).  Collections are counted with GC_get_gc_no and
 * timed from its collection events (GC_EVENT_START..END), which bracket
 * each stop-the-world collection; the lazy sweep that follows, done by
 * later allocations, is not in them.  Also Boehm's side of the
 * microbenchmark: GC_MALLOC. */
#include "bench.h"
#include "ptr_tree.h"

#ifdef BENCH_HAVE_BDWGC

#define GC_THREADS /* declares GC_get_parallel */
#include <gc/gc.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *must(void *p) {
    if (p == NULL) {
        fprintf(stderr, "gpugc-bench: bdwgc: GC_MALLOC failed\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* binary-trees and gcbench                                                  */
/* ------------------------------------------------------------------------ */

static node *make_tree(unsigned d, size_t size) {
    if (d == 0)
        return must(GC_MALLOC(size));
    node *l = make_tree(d - 1, size);
    node *r = make_tree(d - 1, size);
    node *n = must(GC_MALLOC(size));
    n->left = l;
    n->right = r;
    return n;
}

static void binary_trees(unsigned depth, bench_program_result *res) {
    const unsigned min = 4, max = depth > min + 2 ? depth : min + 2;
    node *t = make_tree(max + 1, BT_NODE);
    bench_check_add(res, check_tree(t));
    node *long_lived = make_tree(max, BT_NODE);
    for (unsigned d = min; d <= max; d += 2) {
        uint64_t iterations = UINT64_C(1) << (max - d + min), check = 0;
        for (uint64_t i = 0; i < iterations; i++)
            check += check_tree(make_tree(d, BT_NODE));
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(long_lived));
}

enum { GCBENCH_ARRAY = 500000, GCBENCH_MIN = 4 };

static void populate(unsigned d, node *n) {
    if (d == 0)
        return;
    n->left = must(GC_MALLOC(GC_NODE));
    n->right = must(GC_MALLOC(GC_NODE));
    populate(d - 1, n->left);
    populate(d - 1, n->right);
}

static void gcbench(unsigned depth, bench_program_result *res) {
    const unsigned stretch = depth + 2;
    bench_check_add(res, check_tree(make_tree(stretch, GC_NODE)));
    node *long_lived = must(GC_MALLOC(GC_NODE));
    populate(depth, long_lived);
    double *array = must(GC_MALLOC_ATOMIC(GCBENCH_ARRAY * sizeof(double)));
    for (size_t i = 1; i < GCBENCH_ARRAY / 2; i++)
        array[i] = 1.0 / (double)i;
    for (unsigned d = GCBENCH_MIN; d <= depth; d += 2) {
        uint64_t iterations = 2 * bench_tree_size(stretch) / bench_tree_size(d), check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            node *t = must(GC_MALLOC(GC_NODE));
            populate(d, t);
            check += i + 1 == iterations ? check_tree(t) : 0;
        }
        for (uint64_t i = 0; i < iterations; i++) {
            node *t = make_tree(d, GC_NODE);
            check += i + 1 == iterations ? check_tree(t) : 0;
        }
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(long_lived));
    bench_check_add(res, (uint64_t)llround(array[1000] * 1000));
}

/* ------------------------------------------------------------------------ */
/* interp                                                                    */
/* ------------------------------------------------------------------------ */

/* An object and its slots apart, so that resizing moves no object. */
typedef struct bobj {
    uint64_t id;
    uint32_t n;
    struct bobj **slots;
} bobj;

static bobj *new_obj(uint32_t k, uint64_t *created) {
    bobj *o = must(GC_MALLOC(sizeof *o));
    o->id = ++*created;
    o->n = k;
    o->slots = k > 0 ? must(GC_MALLOC(k * sizeof *o->slots)) : NULL;
    return o;
}

static void resize(bobj *o, uint32_t k) {
    if (k == 0) {
        o->slots = NULL;
    } else {
        /* Dropped slots are cleared first: a block kept in place must not
         * keep their targets alive. */
        for (uint32_t s = k; s < o->n; s++)
            o->slots[s] = NULL;
        o->slots = must(GC_REALLOC(o->slots, k * sizeof *o->slots));
        for (uint32_t s = o->n; s < k; s++)
            o->slots[s] = NULL;
    }
    o->n = k;
}

static void interp(const bench_program_job *job, bench_program_result *res) {
    const uint64_t n = job->objects;
    bobj **table = must(GC_MALLOC(n * sizeof *table));
    uint64_t created = 0;
    bench_interp it;
    bench_interp_op op;
    bench_interp_init(&it, job);
    while (bench_interp_next(&it, &op)) {
        bobj *a = table[op.i], *ring[5];
        switch (op.kind) {
        case BENCH_OP_CREATE:
            a = new_obj(op.k, &created);
            for (uint32_t s = 0; s < op.k; s++)
                a->slots[s] = table[(op.j + s) % n];
            table[op.i] = a;
            break;
        case BENCH_OP_LINK:
            if (a != NULL && a->n > 0)
                a->slots[op.k % a->n] = table[op.j];
            break;
        case BENCH_OP_RESIZE:
            if (a != NULL)
                resize(a, op.k);
            break;
        case BENCH_OP_DROP:
            table[op.i] = NULL;
            break;
        case BENCH_OP_CYCLE:
            for (uint32_t q = 0; q < op.k; q++)
                ring[q] = new_obj(2, &created);
            for (uint32_t q = 0; q < op.k; q++) {
                ring[q]->slots[0] = ring[(q + 1) % op.k];
                ring[q]->slots[1] = table[(op.j + q) % n];
            }
            table[op.i] = ring[0];
            break;
        }
    }
    uint64_t live = 0, hash = 0;
    for (uint64_t i = 0; i < n; i++) {
        const bobj *a = table[i];
        if (a == NULL)
            continue;
        live++;
        hash = bench_interp_hash(hash, a->id);
        for (uint32_t s = 0; s < a->n; s++)
            hash = bench_interp_hash(hash, a->slots[s] != NULL ? a->slots[s]->id : 0);
    }
    bench_check_add(res, live);
    bench_check_add(res, created);
    bench_check_add(res, hash);
}

/* ------------------------------------------------------------------------ */
/* The runs                                                                  */
/* ------------------------------------------------------------------------ */

/* The collection in progress and the figures so far; the event callback
 * has no data pointer, and a child process runs one program.  pauses:
 * --concurrent's steady state lists each time the world stopped. */
static uint64_t started_ns, collections, gc_ns, max_ns, stopped_ns;
static bench_pauses *pauses;

static void on_event(GC_EventType e) {
    if (e == GC_EVENT_PRE_STOP_WORLD) {
        stopped_ns = bench_now_ns();
    } else if (e == GC_EVENT_POST_START_WORLD && pauses != NULL && stopped_ns != 0) {
        if (bench_pauses_add(pauses, bench_now_ns() - stopped_ns) != 0)
            exit(EXIT_FAILURE);
        stopped_ns = 0;
    } else if (e == GC_EVENT_START) {
        started_ns = bench_now_ns();
    } else if (e == GC_EVENT_END && started_ns != 0) {
        uint64_t d = bench_now_ns() - started_ns;
        collections++;
        gc_ns += d;
        max_ns = d > max_ns ? d : max_ns;
        started_ns = 0;
    }
}

static void note_version(char *note, size_t size, const char *what) {
    unsigned v = GC_get_version();
    snprintf(note, size, "libgc %u.%u.%u, %d marker threads, %s", v >> 16, (v >> 8) & 0xffu,
             v & 0xffu, GC_get_parallel() + 1, what);
}

/* incremental: GC_enable_incremental, whose collections send no
 * GC_EVENT_START/END: only the world stops say when it paused. */
static int run_program(const bench_program_job *job, bench_program_result *res,
                       bool incremental) {
    GC_INIT();
    if (incremental)
        GC_enable_incremental();
    GC_set_on_collection_event(on_event);
    GC_word before = GC_get_gc_no();
    uint64_t t0 = bench_now_ns();
    switch (job->program->id) {
    case BENCH_BINARY_TREES: binary_trees(job->depth, res); break;
    case BENCH_GCBENCH: gcbench(job->depth, res); break;
    case BENCH_INTERP: interp(job, res); break;
    }
    res->total_ms = (double)(bench_now_ns() - t0) / 1e6;
    GC_word gcs = GC_get_gc_no() - before;
    res->collections = gcs;
    res->gc_ms = (double)gc_ns / 1e6;
    res->max_pause_ms = collections > 0 ? (double)max_ns / 1e6 : NAN;
    note_version(res->note, sizeof res->note,
                 incremental ? (GC_is_incremental_mode() ? "incremental (GC_enable_incremental)"
                                                         : "incremental refused: its defaults")
                 : collections == gcs ? "its defaults, lazy sweep not in collections"
                                      : "its defaults; some collections sent no events");
    return 0;
}

int bench_bdwgc_program(const bench_runner *r, const bench_program_job *job,
                        bench_program_result *res) {
    (void)r;
    return run_program(job, res, false);
}

int bench_bdwgc_steady(const bench_runner *r, int mode, const bench_program_job *job,
                       bench_steady_result *res) {
    (void)r;
    bench_pauses p = {0};
    pauses = &p;
    int rc = run_program(job, &res->r, mode == BENCH_GC_INCREMENTAL);
    pauses = NULL;
    bench_pauses_done(&p, res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The microbenchmark                                                        */
/* ------------------------------------------------------------------------ */

typedef struct micro {
    const bench_micro_row *row;
    void **objs; /* uncollectable: the batch stays alive until dropped */
} micro;

static volatile uintptr_t sink;

static void *alloc(const bench_micro_row *row) {
    size_t size = row->size + row->slots * sizeof(void *);
    return must(row->slots > 0 ? GC_MALLOC(size) : GC_MALLOC_ATOMIC(size));
}

static double m_new(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        m->objs[i] = alloc(m->row);
    uint64_t t1 = bench_now_ns();
    memset(m->objs, 0, BENCH_MICRO_BATCH * sizeof *m->objs);
    return (double)(t1 - t0) / BENCH_MICRO_BATCH;
}

/* Allocated and dropped at once: freeing is the collections this
 * allocation rate causes, amortized. */
static double m_new_free(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        sink = (uintptr_t)alloc(m->row);
    return (double)(bench_now_ns() - t0) / BENCH_MICRO_BATCH;
}

int bench_bdwgc_micro(const bench_runner *r, bench_micro_result *res) {
    (void)r;
    GC_INIT();
    micro m = {NULL, must(GC_MALLOC_UNCOLLECTABLE(BENCH_MICRO_BATCH * sizeof(void *)))};
    GC_word before = GC_get_gc_no();
    for (size_t i = 0; i < bench_nmicro_rows; i++) {
        m.row = &bench_micro_rows[i];
        if (m.row->op == BENCH_MICRO_NEW)
            res->ns[i] = bench_micro_median(m_new, &m);
        else if (m.row->op == BENCH_MICRO_NEW_FREE)
            res->ns[i] = bench_micro_median(m_new_free, &m);
    }
    char what[96];
    snprintf(what, sizeof what, "its defaults, payload + 8 bytes per slot: %lu collections",
             (unsigned long)(GC_get_gc_no() - before));
    note_version(res->note, sizeof res->note, what);
    GC_FREE(m.objs);
    return 0;
}

#endif

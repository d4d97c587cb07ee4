/* prog_gpugc.c - the whole programs written against gpugc's API, holding
 * references as a C extension of CPython does: a new object's reference is
 * the caller's, given to a slot with gpugc_give_ref (as PyTuple_SET_ITEM
 * steals it), so that a tree is freed by count the moment its root is
 * dropped.  The heap has its defaults but the backend: automatic collection
 * on, CPython's thresholds.  Collections are counted and timed through
 * gpugc_callback_add, per generation through gpugc_get_stats.  Also
 * gpugc's side of the microbenchmark. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>

/* A failed call ends the run: the child process exits and the parent
 * reports the run as failed. */
static _Noreturn void fail(gpugc_heap *h, const char *what) {
    fprintf(stderr, "gpugc-bench: %s failed: %s\n", what, gpugc_last_error_message(h));
    exit(EXIT_FAILURE);
}

static void *new_obj(gpugc_heap *h, uint32_t nrefs, size_t size) {
    void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, nrefs, size);
    if (o == NULL)
        fail(h, "gpugc_new");
    return o;
}

static void set(gpugc_heap *h, void *o, uint32_t slot, void *target) {
    if (gpugc_set_ref(h, o, slot, target) != GPUGC_OK)
        fail(h, "gpugc_set_ref");
}

/* Moves the caller's reference to t into slot `slot` of o. */
static void give(gpugc_heap *h, void *o, uint32_t slot, void *t) {
    if (gpugc_give_ref(h, o, slot, t) != GPUGC_OK)
        fail(h, "gpugc_give_ref");
}

/* ------------------------------------------------------------------------ */
/* binary-trees and gcbench                                                  */
/* ------------------------------------------------------------------------ */

/* Bottom up: the children first, then the node holding them.  binary-trees'
 * nodes have no payload; gcbench's carry its two ints. */
static void *make_tree(gpugc_heap *h, unsigned d, size_t payload) {
    if (d == 0)
        return new_obj(h, 2, payload);
    void *l = make_tree(h, d - 1, payload);
    void *r = make_tree(h, d - 1, payload);
    void *n = new_obj(h, 2, payload);
    give(h, n, 0, l);
    give(h, n, 1, r);
    return n;
}

/* Nodes of the tree under n: the Benchmarks Game's check. */
static uint64_t check_tree(gpugc_heap *h, void *n) {
    void *l = gpugc_get_ref(h, n, 0);
    return l == NULL ? 1 : 1 + check_tree(h, l) + check_tree(h, gpugc_get_ref(h, n, 1));
}

static void binary_trees(gpugc_heap *h, unsigned depth, bench_program_result *res) {
    const unsigned min = 4, max = depth > min + 2 ? depth : min + 2;
    void *t = make_tree(h, max + 1, 0);
    bench_check_add(res, check_tree(h, t));
    gpugc_decref(h, t);
    void *long_lived = make_tree(h, max, 0);
    for (unsigned d = min; d <= max; d += 2) {
        uint64_t iterations = UINT64_C(1) << (max - d + min), check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            t = make_tree(h, d, 0);
            check += check_tree(h, t);
            gpugc_decref(h, t);
        }
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(h, long_lived));
    gpugc_decref(h, long_lived);
}

enum { GCBENCH_NODE = 8, GCBENCH_ARRAY = 500000, GCBENCH_MIN = 4 };

/* Top down: the node exists first, its children are made and stored. */
static void populate(gpugc_heap *h, unsigned d, void *node) {
    if (d == 0)
        return;
    void *l = new_obj(h, 2, GCBENCH_NODE);
    give(h, node, 0, l);
    void *r = new_obj(h, 2, GCBENCH_NODE);
    give(h, node, 1, r);
    populate(h, d - 1, l);
    populate(h, d - 1, r);
}

static void gcbench(gpugc_heap *h, unsigned depth, bench_program_result *res) {
    const unsigned stretch = depth + 2;
    void *t = make_tree(h, stretch, GCBENCH_NODE);
    bench_check_add(res, check_tree(h, t));
    gpugc_decref(h, t);
    void *long_lived = new_obj(h, 2, GCBENCH_NODE);
    populate(h, depth, long_lived);
    double *array = new_obj(h, 0, GCBENCH_ARRAY * sizeof(double));
    for (size_t i = 1; i < GCBENCH_ARRAY / 2; i++)
        array[i] = 1.0 / (double)i;
    for (unsigned d = GCBENCH_MIN; d <= depth; d += 2) {
        uint64_t iterations = 2 * bench_tree_size(stretch) / bench_tree_size(d), check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            t = new_obj(h, 2, GCBENCH_NODE);
            populate(h, d, t);
            check += i + 1 == iterations ? check_tree(h, t) : 0;
            gpugc_decref(h, t);
        }
        for (uint64_t i = 0; i < iterations; i++) {
            t = make_tree(h, d, GCBENCH_NODE);
            check += i + 1 == iterations ? check_tree(h, t) : 0;
            gpugc_decref(h, t);
        }
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(h, long_lived));
    bench_check_add(res, (uint64_t)llround(array[1000] * 1000));
    gpugc_decref(h, long_lived);
    gpugc_decref(h, array);
}

/* ------------------------------------------------------------------------ */
/* interp                                                                    */
/* ------------------------------------------------------------------------ */

/* Each object's payload is its id, given in creation order. */
static void *interp_obj(gpugc_heap *h, uint32_t nrefs, uint64_t *created) {
    uint64_t *o = new_obj(h, nrefs, sizeof(uint64_t));
    *o = ++*created;
    return o;
}

static uint64_t id_of(const void *o) {
    return o != NULL ? *(const uint64_t *)o : 0;
}

/* Entry i takes the caller's reference to o; the one it held is dropped. */
static void store(gpugc_heap *h, void **table, uint64_t i, void *o) {
    void *old = table[i];
    table[i] = o;
    if (old != NULL)
        gpugc_decref(h, old);
}

static void interp(gpugc_heap *h, const bench_program_job *job, bench_program_result *res) {
    const uint64_t n = job->objects;
    void **table = calloc(n, sizeof *table); /* the program's variables */
    uint64_t created = 0;
    if (table == NULL) {
        fprintf(stderr, "gpugc-bench: no memory for interp's table\n");
        exit(EXIT_FAILURE);
    }
    bench_interp it;
    bench_interp_op op;
    bench_interp_init(&it, job);
    while (bench_interp_next(&it, &op)) {
        void *a = table[op.i], *ring[5];
        uint32_t na;
        switch (op.kind) {
        case BENCH_OP_CREATE:
            ring[0] = interp_obj(h, op.k, &created);
            for (uint32_t s = 0; s < op.k; s++)
                if (table[(op.j + s) % n] != NULL)
                    set(h, ring[0], s, table[(op.j + s) % n]);
            store(h, table, op.i, ring[0]);
            break;
        case BENCH_OP_LINK:
            if (a != NULL && (na = gpugc_nrefs(h, a)) > 0)
                set(h, a, op.k % na, table[op.j]);
            break;
        case BENCH_OP_RESIZE:
            if (a != NULL && gpugc_resize_refs(h, a, op.k) != GPUGC_OK)
                fail(h, "gpugc_resize_refs");
            break;
        case BENCH_OP_DROP:
            store(h, table, op.i, NULL);
            break;
        case BENCH_OP_CYCLE:
            for (uint32_t q = 0; q < op.k; q++)
                ring[q] = interp_obj(h, 2, &created);
            for (uint32_t q = 0; q < op.k; q++) { /* the ring holds all but ring[0] */
                if (q + 1 < op.k)
                    give(h, ring[q], 0, ring[q + 1]);
                else
                    set(h, ring[q], 0, ring[0]);
                if (table[(op.j + q) % n] != NULL)
                    set(h, ring[q], 1, table[(op.j + q) % n]);
            }
            store(h, table, op.i, ring[0]);
            break;
        }
    }
    uint64_t live = 0, hash = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (table[i] == NULL)
            continue;
        live++;
        hash = bench_interp_hash(hash, id_of(table[i]));
        for (uint32_t s = 0, k = gpugc_nrefs(h, table[i]); s < k; s++)
            hash = bench_interp_hash(hash, id_of(gpugc_get_ref(h, table[i], s)));
    }
    bench_check_add(res, live);
    bench_check_add(res, created);
    bench_check_add(res, hash);
    for (uint64_t i = 0; i < n; i++)
        store(h, table, i, NULL);
    free(table);
}

/* ------------------------------------------------------------------------ */
/* The runs                                                                  */
/* ------------------------------------------------------------------------ */

/* pauses: NULL, or where --concurrent's steady state lists them. */
typedef struct collections {
    uint64_t n, ns, max_ns;
    bench_pauses *pauses;
} collections;

/* A background collection pauses the program twice, in its start and in
 * its finish (which a later gpugc call runs, automatic ones included);
 * gpugc_last_collection already holds its figures at STOP. */
static void on_collection(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info,
                          void *data) {
    collections *c = data;
    if (phase != GPUGC_PHASE_STOP)
        return;
    c->n++;
    c->ns += info->duration_ns;
    if (info->duration_ns > c->max_ns)
        c->max_ns = info->duration_ns;
    gpugc_collection_stats st;
    if (c->pauses == NULL || info->duration_ns == 0 ||
        gpugc_last_collection(h, &st, sizeof st) != GPUGC_OK)
        return;
    if ((st.background
             ? bench_pauses_add(c->pauses, st.pause_start_ns) != 0 ||
                   bench_pauses_add(c->pauses, st.pause_finish_ns) != 0
             : bench_pauses_add(c->pauses, info->duration_ns) != 0))
        exit(EXIT_FAILURE);
}

static gpugc_heap *heap_for(const bench_runner *r, collections *c, bool background) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = r->backend;
    cfg.concurrent = background;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    if (h == NULL) {
        fprintf(stderr, "gpugc-bench: %s: no heap: %s\n", r->name,
                gpugc_last_error_message(NULL));
        return NULL;
    }
    if (gpugc_callback_add(h, on_collection, c) != GPUGC_OK) {
        fprintf(stderr, "gpugc-bench: gpugc_callback_add: %s\n", gpugc_last_error_message(h));
        gpugc_heap_free(h);
        return NULL;
    }
    return h;
}

/* One program on a heap of r's backend, marking in the background when
 * asked. */
static int run_program(const bench_runner *r, const bench_program_job *job,
                       bench_program_result *res, bool background, bench_pauses *pauses) {
    collections c = {.pauses = pauses};
    gpugc_heap *h = heap_for(r, &c, background);
    if (h == NULL)
        return -1;
    uint64_t t0 = bench_now_ns();
    switch (job->program->id) {
    case BENCH_BINARY_TREES: binary_trees(h, job->depth, res); break;
    case BENCH_GCBENCH: gcbench(h, job->depth, res); break;
    case BENCH_INTERP: interp(h, job, res); break;
    }
    res->total_ms = (double)(bench_now_ns() - t0) / 1e6;
    res->gc_ms = (double)c.ns / 1e6;
    res->collections = c.n;
    res->max_pause_ms = c.n > 0 ? (double)c.max_ns / 1e6 : NAN;
    res->generations = true;
    for (int g = 0; g < GPUGC_GENERATIONS; g++) {
        gpugc_gen_stats s;
        gpugc_get_stats(h, g, &s, sizeof s);
        res->gen[g] = s.collections;
    }
    uint32_t th[GPUGC_GENERATIONS];
    gpugc_get_threshold(h, th);
    snprintf(res->note, sizeof res->note, "automatic collection%s, thresholds %u/%u/%u",
             background ? " in the background (cfg.concurrent)" : "", th[0], th[1], th[2]);
    gpugc_heap_free(h);
    return 0;
}

int bench_gpugc_program(const bench_runner *r, const bench_program_job *job,
                        bench_program_result *res) {
    return run_program(r, job, res, false, NULL);
}

int bench_gpugc_steady(const bench_runner *r, int mode, const bench_program_job *job,
                       bench_steady_result *res) {
    bench_pauses p = {0};
    int rc = run_program(r, job, &res->r, mode == BENCH_GC_BACKGROUND, &p);
    bench_pauses_done(&p, res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The microbenchmark                                                        */
/* ------------------------------------------------------------------------ */

typedef struct micro {
    gpugc_heap *h;
    const bench_micro_row *row;
    void *obj, *a, *b; /* obj has two slots, holding a and b */
    void *objs[BENCH_MICRO_BATCH];
} micro;

static volatile uintptr_t sink; /* what get_ref read, so that it is read */

static double per_op(uint64_t t0, uint64_t t1, size_t ops) {
    return (double)(t1 - t0) / (double)ops;
}

static double m_new(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        m->objs[i] = new_obj(m->h, m->row->slots, m->row->size);
    uint64_t t1 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_decref(m->h, m->objs[i]);
    return per_op(t0, t1, BENCH_MICRO_BATCH);
}

static double m_free(void *arg) {
    micro *m = arg;
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        m->objs[i] = new_obj(m->h, m->row->slots, m->row->size);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_decref(m->h, m->objs[i]);
    return per_op(t0, bench_now_ns(), BENCH_MICRO_BATCH);
}

static double m_new_free(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_decref(m->h, new_obj(m->h, m->row->slots, m->row->size));
    return per_op(t0, bench_now_ns(), BENCH_MICRO_BATCH);
}

static double m_incref(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_incref(m->h, m->obj);
    uint64_t t1 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_decref(m->h, m->obj);
    return per_op(t0, t1, BENCH_MICRO_BATCH);
}

static double m_decref(void *arg) {
    micro *m = arg;
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_incref(m->h, m->obj);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        gpugc_decref(m->h, m->obj);
    return per_op(t0, bench_now_ns(), BENCH_MICRO_BATCH);
}

static double m_incref_decref(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++) {
        gpugc_incref(m->h, m->obj);
        gpugc_decref(m->h, m->obj);
    }
    return per_op(t0, bench_now_ns(), BENCH_MICRO_BATCH);
}

/* Each store changes the slot's target: one count up, one down. */
static double m_set_ref(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        set(m->h, m->obj, 0, (i & 1) ? m->a : m->b);
    uint64_t t1 = bench_now_ns();
    set(m->h, m->obj, 0, m->a);
    return per_op(t0, t1, BENCH_MICRO_BATCH);
}

static double m_get_ref(void *arg) {
    micro *m = arg;
    uintptr_t x = 0;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        x ^= (uintptr_t)gpugc_get_ref(m->h, m->obj, (uint32_t)(i & 1));
    uint64_t t1 = bench_now_ns();
    sink = x;
    return per_op(t0, t1, BENCH_MICRO_BATCH);
}

/* 2 slots to 4 and back: slots appear and go, the references stay. */
static double m_resize(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        if (gpugc_resize_refs(m->h, m->obj, (i & 1) ? 2 : 4) != GPUGC_OK)
            fail(m->h, "gpugc_resize_refs");
    return per_op(t0, bench_now_ns(), BENCH_MICRO_BATCH);
}

/* A tree built with collection off (not timed), freed by one decref. */
static double m_free_tree(void *arg) {
    micro *m = arg;
    gpugc_disable(m->h);
    void *root = make_tree(m->h, BENCH_MICRO_TREE_DEPTH, m->row->size);
    gpugc_enable(m->h);
    uint64_t t0 = bench_now_ns();
    gpugc_decref(m->h, root);
    return per_op(t0, bench_now_ns(), bench_tree_size(BENCH_MICRO_TREE_DEPTH));
}

int bench_gpugc_micro(const bench_runner *r, bench_micro_result *res) {
    (void)r;
    static double (*const rounds[])(void *) = {
        [BENCH_MICRO_NEW] = m_new, [BENCH_MICRO_FREE] = m_free,
        [BENCH_MICRO_NEW_FREE] = m_new_free, [BENCH_MICRO_INCREF] = m_incref,
        [BENCH_MICRO_DECREF] = m_decref, [BENCH_MICRO_INCREF_DECREF] = m_incref_decref,
        [BENCH_MICRO_SET_REF] = m_set_ref, [BENCH_MICRO_GET_REF] = m_get_ref,
        [BENCH_MICRO_RESIZE] = m_resize, [BENCH_MICRO_FREE_TREE] = m_free_tree,
    };
    collections c = {0};
    micro *m = calloc(1, sizeof *m);
    gpugc_heap *h = gpugc_heap_new(NULL);
    if (m == NULL || h == NULL || gpugc_callback_add(h, on_collection, &c) != GPUGC_OK) {
        fprintf(stderr, "gpugc-bench: micro: no heap: %s\n", gpugc_last_error_message(h));
        gpugc_heap_free(h);
        free(m);
        return -1;
    }
    m->h = h;
    for (size_t i = 0; i < bench_nmicro_rows; i++) {
        m->row = &bench_micro_rows[i];
        m->obj = new_obj(h, m->row->slots, m->row->size);
        m->a = new_obj(h, 0, 8);
        m->b = new_obj(h, 0, 8);
        if (m->row->slots >= 2) {
            set(h, m->obj, 0, m->a);
            set(h, m->obj, 1, m->b);
        }
        res->ns[i] = bench_micro_median(rounds[m->row->op], m);
        gpugc_decref(h, m->obj);
        gpugc_decref(h, m->a);
        gpugc_decref(h, m->b);
    }
    snprintf(res->note, sizeof res->note,
             "a heap with the defaults; batches of %d stay under threshold %d: "
             "%llu collections ran", BENCH_MICRO_BATCH, GPUGC_DEFAULT_THRESHOLD0,
             (unsigned long long)c.n);
    gpugc_heap_free(h);
    free(m);
    return 0;
}

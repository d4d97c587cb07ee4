/* prog_malloc.c - the malloc runner: binary-trees and gcbench written with
 * malloc and free, each tree freed by hand the moment the program drops it
 * (neither program makes a cycle; interp does, and is not run here), and
 * malloc's side of the microbenchmark.  The floor a collector is measured
 * against: no collections, no counts. */
#include "bench.h"
#include "ptr_tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *must(void *p) {
    if (p == NULL) {
        fprintf(stderr, "gpugc-bench: malloc: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

/* Zeroed, as gpugc's and Boehm's objects are: leaves have no children. */
static node *new_node(size_t size) {
    return must(calloc(1, size));
}

static node *make_tree(unsigned d, size_t size) {
    if (d == 0)
        return new_node(size);
    node *l = make_tree(d - 1, size);
    node *r = make_tree(d - 1, size);
    node *n = new_node(size);
    n->left = l;
    n->right = r;
    return n;
}

static void free_tree(node *n) {
    if (n->left != NULL) {
        free_tree(n->left);
        free_tree(n->right);
    }
    free(n);
}

static void binary_trees(unsigned depth, bench_program_result *res) {
    const unsigned min = 4, max = depth > min + 2 ? depth : min + 2;
    node *t = make_tree(max + 1, BT_NODE);
    bench_check_add(res, check_tree(t));
    free_tree(t);
    node *long_lived = make_tree(max, BT_NODE);
    for (unsigned d = min; d <= max; d += 2) {
        uint64_t iterations = UINT64_C(1) << (max - d + min), check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            t = make_tree(d, BT_NODE);
            check += check_tree(t);
            free_tree(t);
        }
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(long_lived));
    free_tree(long_lived);
}

enum { GCBENCH_ARRAY = 500000, GCBENCH_MIN = 4 };

static void populate(unsigned d, node *n) {
    if (d == 0)
        return;
    n->left = new_node(GC_NODE);
    n->right = new_node(GC_NODE);
    populate(d - 1, n->left);
    populate(d - 1, n->right);
}

static void gcbench(unsigned depth, bench_program_result *res) {
    const unsigned stretch = depth + 2;
    node *t = make_tree(stretch, GC_NODE);
    bench_check_add(res, check_tree(t));
    free_tree(t);
    node *long_lived = new_node(GC_NODE);
    populate(depth, long_lived);
    double *array = must(calloc(GCBENCH_ARRAY, sizeof(double)));
    for (size_t i = 1; i < GCBENCH_ARRAY / 2; i++)
        array[i] = 1.0 / (double)i;
    for (unsigned d = GCBENCH_MIN; d <= depth; d += 2) {
        uint64_t iterations = 2 * bench_tree_size(stretch) / bench_tree_size(d), check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            t = new_node(GC_NODE);
            populate(d, t);
            check += i + 1 == iterations ? check_tree(t) : 0;
            free_tree(t);
        }
        for (uint64_t i = 0; i < iterations; i++) {
            t = make_tree(d, GC_NODE);
            check += i + 1 == iterations ? check_tree(t) : 0;
            free_tree(t);
        }
        bench_check_add(res, check);
    }
    bench_check_add(res, check_tree(long_lived));
    bench_check_add(res, (uint64_t)llround(array[1000] * 1000));
    free_tree(long_lived);
    free(array);
}

static int malloc_program(const bench_runner *r, const bench_program_job *job,
                          bench_program_result *res) {
    (void)r;
    uint64_t t0 = bench_now_ns();
    if (job->program->id == BENCH_BINARY_TREES)
        binary_trees(job->depth, res);
    else if (job->program->id == BENCH_GCBENCH)
        gcbench(job->depth, res);
    else {
        fprintf(stderr, "gpugc-bench: malloc cannot run %s\n", job->program->name);
        return -1;
    }
    res->total_ms = (double)(bench_now_ns() - t0) / 1e6;
    res->gc_ms = 0;
    res->max_pause_ms = NAN;
    snprintf(res->note, sizeof res->note, "glibc malloc/free, every tree freed by hand");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The microbenchmark                                                        */
/* ------------------------------------------------------------------------ */

typedef struct micro {
    const bench_micro_row *row;
    void *objs[BENCH_MICRO_BATCH];
} micro;

/* Where freed pointers go first, so that the compiler cannot pair a
 * malloc with its free and drop both. */
static volatile uintptr_t sink;

/* The object with its slots inline: the payload and 8 bytes per slot. */
static void *alloc(const bench_micro_row *row) {
    return must(calloc(1, row->size + row->slots * sizeof(void *)));
}

static double m_new(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        m->objs[i] = alloc(m->row);
    uint64_t t1 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        free(m->objs[i]);
    return (double)(t1 - t0) / BENCH_MICRO_BATCH;
}

static double m_free(void *arg) {
    micro *m = arg;
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        m->objs[i] = alloc(m->row);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++)
        free(m->objs[i]);
    return (double)(bench_now_ns() - t0) / BENCH_MICRO_BATCH;
}

static double m_new_free(void *arg) {
    micro *m = arg;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < BENCH_MICRO_BATCH; i++) {
        void *p = alloc(m->row);
        sink = (uintptr_t)p;
        free(p);
    }
    return (double)(bench_now_ns() - t0) / BENCH_MICRO_BATCH;
}

static double m_free_tree(void *arg) {
    (void)arg;
    node *root = make_tree(BENCH_MICRO_TREE_DEPTH, BT_NODE);
    uint64_t t0 = bench_now_ns();
    free_tree(root);
    return (double)(bench_now_ns() - t0) / (double)bench_tree_size(BENCH_MICRO_TREE_DEPTH);
}

static int malloc_micro(const bench_runner *r, bench_micro_result *res) {
    (void)r;
    micro *m = must(calloc(1, sizeof *m));
    for (size_t i = 0; i < bench_nmicro_rows; i++) {
        m->row = &bench_micro_rows[i];
        switch (m->row->op) {
        case BENCH_MICRO_NEW: res->ns[i] = bench_micro_median(m_new, m); break;
        case BENCH_MICRO_FREE: res->ns[i] = bench_micro_median(m_free, m); break;
        case BENCH_MICRO_NEW_FREE: res->ns[i] = bench_micro_median(m_new_free, m); break;
        case BENCH_MICRO_FREE_TREE: res->ns[i] = bench_micro_median(m_free_tree, m); break;
        default: break; /* counts and slots: malloc has none */
        }
    }
    snprintf(res->note, sizeof res->note,
             "glibc calloc/free of the payload + 8 bytes per slot");
    free(m);
    return 0;
}

static int malloc_available(const bench_runner *r, char *why, size_t size) {
    (void)r;
    (void)why;
    (void)size;
    return 0;
}

const bench_runner bench_runner_malloc = {"malloc", true, GPUGC_BACKEND_AUTO, malloc_available,
                                          NULL, NULL, malloc_program, malloc_micro, NULL, 0};

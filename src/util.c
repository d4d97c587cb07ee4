/* util.c - growable vectors and bit maps, the clock, and the debug-build
 * check's report. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

void *gpugc__array_grow(gpugc_heap *h, void *p, size_t *cap, size_t elem, size_t first,
                        const char *what) {
    size_t n = *cap ? *cap * 2 : first;
    void *q = gpugc__heap_realloc(h, p, n * elem, what);
    if (q)
        *cap = n;
    return q;
}

int gpugc__vec_push(gpugc_heap *h, u32vec *v, uint32_t x) {
    if (v->n == v->cap) {
        uint32_t *nv = gpugc__array_grow(h, v->v, &v->cap, sizeof *nv, 16, "gpugc (vector)");
        if (!nv)
            return GPUGC_ENOMEM;
        v->v = nv;
    }
    v->v[v->n++] = x;
    return GPUGC_OK;
}

bool gpugc__vec_reserve(gpugc_heap *h, u32vec *v, size_t extra, const char *what) {
    if (v->n + extra <= v->cap)
        return true;
    /* Geometric, so that entries added one at a time cost amortized O(1). */
    size_t cap = v->n + extra > 2 * v->cap ? v->n + extra : 2 * v->cap;
    uint32_t *nv = gpugc__heap_realloc(h, v->v, cap * sizeof *nv, what);
    if (!nv)
        return false;
    v->v = nv;
    v->cap = cap;
    return true;
}

bool gpugc__bits_grow(gpugc_heap *h, uint64_t **bits, size_t old_words, size_t words,
                      const char *what) {
    uint64_t *b = gpugc__heap_realloc(h, *bits, words * sizeof *b, what);
    if (!b)
        return false;
    memset(b + old_words, 0, (words - old_words) * sizeof *b);
    *bits = b;
    return true;
}

void gpugc__vec_free(u32vec *v) {
    free(v->v);
    memset(v, 0, sizeof *v);
}

uint64_t gpugc__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef GPUGC_DEBUG
void gpugc__assert_failed(const char *cond, const char *file, int line) {
    fprintf(stderr, "gpugc: %s:%d: check failed: %s\n", file, line, cond);
    abort();
}
#endif

/* util.c - growable vectors, bit maps and big arrays, the clock, and the
 * debug-build check's report. */
#define _GNU_SOURCE /* mremap */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

void *gpugc__array_grow(gpugc_heap *h, void *p, size_t *cap, size_t elem, size_t first,
                        const char *what) {
    size_t n = *cap ? *cap * 2 : first;
    void *q = gpugc__heap_realloc(h, p, n * elem, what);
    if (q)
        *cap = n;
    return q;
}

bool gpugc__vec_room(gpugc_heap *h, u32vec *v) {
    if (v->n < v->cap)
        return true;
    uint32_t *nv = gpugc__array_grow(h, v->v, &v->cap, sizeof *nv, 16, "gpugc (vector)");
    if (nv)
        v->v = nv;
    return nv != NULL;
}

int gpugc__vec_push(gpugc_heap *h, u32vec *v, uint32_t x) {
    if (!gpugc__vec_room(h, v))
        return GPUGC_ENOMEM;
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

#if defined(__SANITIZE_ADDRESS__)
#define BIG_MAPPED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_MAPPED 0
#endif
#endif
#if !defined(BIG_MAPPED) && defined(__linux__)
#define BIG_MAPPED 1
#endif

#if BIG_MAPPED
/* A mapping: its head (the bytes usable, the bytes reserved), then the
 * array (aligned as malloc aligns).  The reservation past the usable bytes
 * is PROT_NONE: growing within it is one mprotect, whatever the array's
 * size, where moving a mapping (mremap) costs per page: 1.8 ms for 256 MB
 * here, 10 ms for the id arrays of a heap going from 16M to 32M objects
 * (16 times the need reserved left that move in a background mark's
 * program step).  A new reservation, 1024 times the need (address space
 * alone: 8 MB for a new heap's 1024 ids of 4 bytes, 16 GB for such an
 * array once past 2M ids), is made only when one runs out, so an array
 * moves once, at 2M entries (8 MB), on its way to the most ids, unless
 * that much address space is refused. */
#define BIG_HEAD 64
#define BIG_RESERVE 1024u

typedef struct big_head {
    size_t len, reserved;
} big_head;

static size_t page_round(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + page - 1) / page * page;
}

/* A PROT_NONE range of BIG_RESERVE times `need` bytes, or of `need` alone
 * where that much address space is refused (a ulimit -v). */
static char *reserve(size_t need, size_t *reserved) {
    size_t want = need <= SIZE_MAX / BIG_RESERVE ? need * BIG_RESERVE : need;
    for (;;) {
        void *r = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r != MAP_FAILED) {
            *reserved = want;
            return r;
        }
        if (want == need)
            return NULL;
        want = need;
    }
}

void *gpugc__big_grow(gpugc_heap *h, void *p, size_t old_bytes, size_t bytes, const char *what) {
    (void)old_bytes; /* pages past it were never written */
    char *base = p ? (char *)p - BIG_HEAD : NULL;
    big_head hd = base ? *(big_head *)base : (big_head){0, 0};
    size_t need = page_round(BIG_HEAD + bytes);
    if (need <= hd.len)
        return p;
    bool ok = !gpugc__fault_fires(h, GPUGC_FAULT_ALLOC);
    if (ok && need > hd.reserved) {
        size_t reserved;
        char *r = reserve(need, &reserved);
        /* the pages there so far move into the new reservation's start */
        ok = r && (!base || mremap(base, hd.len, hd.len, MREMAP_MAYMOVE | MREMAP_FIXED, r) == r);
        if (ok && base && hd.reserved > hd.len)
            munmap(base + hd.len, hd.reserved - hd.len);
        if (!ok && r)
            munmap(r, reserved);
        if (ok) {
            base = r;
            hd.reserved = reserved;
        }
    }
    if (ok)
        ok = mprotect(base + hd.len, need - hd.len, PROT_READ | PROT_WRITE) == 0;
    if (!ok) {
        gpugc__set_error(h, GPUGC_ENOMEM, "%s: cannot allocate %zu bytes", what, bytes);
        return NULL;
    }
    hd.len = need;
    *(big_head *)base = hd;
    return base + BIG_HEAD;
}

bool gpugc__big_stays(const void *p, size_t bytes) {
    return p && page_round(BIG_HEAD + bytes) <= ((const big_head *)((const char *)p - BIG_HEAD))->reserved;
}

void gpugc__big_free(void *p) {
    if (p) {
        char *base = (char *)p - BIG_HEAD;
        munmap(base, ((big_head *)base)->reserved);
    }
}
#else
void *gpugc__big_grow(gpugc_heap *h, void *p, size_t old_bytes, size_t bytes, const char *what) {
    char *q = gpugc__heap_realloc(h, p, bytes, what);
    if (q)
        memset(q + old_bytes, 0, bytes - old_bytes);
    return q;
}

bool gpugc__big_stays(const void *p, size_t bytes) {
    (void)p;
    (void)bytes;
    return false;
}

void gpugc__big_free(void *p) {
    free(p);
}
#endif

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

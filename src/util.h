/* util.h - small utilities every module of the library uses: bit maps,
 * growable id vectors, big arrays, prefetching, the clock, and the
 * debug-build check of what a phase function states holds. */
#ifndef GPUGC_UTIL_H
#define GPUGC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gpugc.h"

/* ---- checks ------------------------------------------------------------- */

/* What a phase function states holds before or after it, checked in debug
 * builds (compiled out of release builds): a failure names the condition
 * and aborts. */
#ifdef GPUGC_DEBUG
#define GPUGC_ASSERT(cond) ((cond) ? (void)0 : gpugc__assert_failed(#cond, __FILE__, __LINE__))
_Noreturn void gpugc__assert_failed(const char *cond, const char *file, int line);
#else
#define GPUGC_ASSERT(cond) ((void)0)
#endif

/* An error path: kept out of line and out of the way of the fast path
 * that calls it.  GPUGC_NOINLINE: a path some programs take often, kept
 * out of line so that the loop around it keeps its registers. */
#if defined(__GNUC__)
#define GPUGC_COLD __attribute__((cold, noinline))
#define GPUGC_NOINLINE __attribute__((noinline))
#else
#define GPUGC_COLD
#define GPUGC_NOINLINE
#endif

/* ---- bits and vectors ------------------------------------------------------ */

static inline bool bit_get(const uint64_t *b, uint32_t i) {
    return (b[i >> 6] >> (i & 63)) & 1u;
}
static inline void bit_set(uint64_t *b, uint32_t i) {
    b[i >> 6] |= UINT64_C(1) << (i & 63);
}
static inline void bit_clear(uint64_t *b, uint32_t i) {
    b[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

typedef struct u32vec {
    uint32_t *v;
    size_t n, cap;
} u32vec;

/* Room for one more element in the array p of *cap elements of `elem`
 * bytes: doubles *cap (`first` when it is 0).  Returns the array, perhaps
 * moved; NULL (reported, *cap unchanged, p still valid) when memory is
 * short. */
void *gpugc__array_grow(gpugc_heap *h, void *p, size_t *cap, size_t elem, size_t first,
                        const char *what);
/* Makes room in v for one more entry, growing it geometrically; false
 * (reported) when memory is short. */
bool gpugc__vec_room(gpugc_heap *h, u32vec *v);
int gpugc__vec_push(gpugc_heap *h, u32vec *v, uint32_t x);
/* Makes room in v for `extra` more entries; false (reported on behalf of
 * what) changes nothing. */
bool gpugc__vec_reserve(gpugc_heap *h, u32vec *v, size_t extra, const char *what);
/* Grows *bits from old_words to words, the new words zero; false on
 * failure (reported). */
bool gpugc__bits_grow(gpugc_heap *h, uint64_t **bits, size_t old_words, size_t words,
                      const char *what);
void gpugc__vec_free(u32vec *v);

/* ---- big arrays --------------------------------------------------------------- */

/* The arrays that grow to hundreds of megabytes, the id arrays and the
 * slot array: each lives in an anonymous mapping of its own, inside a
 * reservation of address space that it grows into (mprotect), so that the
 * call that grows a heap pays microseconds: realloc's copies took 25 ms
 * at 4M objects, and moving the pages (mremap) 7.5 ms at 16M.  The
 * mapping's sizes are kept in front of the array.  AddressSanitizer builds use malloc instead, whose overflow
 * checks a mapping would lose.  gpugc__big_grow: p (NULL for none) of
 * old_bytes now of `bytes`, the new bytes zero (a mapping's without being
 * touched: a page fault costs about 10 us on the VM measured, 5 ms for
 * the 2 MB a 32M-id bitmap grows by); NULL (reported, p still valid) when
 * memory is short. */
void *gpugc__big_grow(gpugc_heap *h, void *p, size_t old_bytes, size_t bytes, const char *what);
/* True when gpugc__big_grow(p, bytes) leaves p where it is. */
bool gpugc__big_stays(const void *p, size_t bytes);
void gpugc__big_free(void *p);

/* ---- figures ---------------------------------------------------------------- */

/* Copies a stats struct to a caller's of `size` bytes: a program built
 * against an older, shorter struct gets the fields it knows. */
static inline void copy_figures(void *out, size_t size, const void *full, size_t full_size) {
    memcpy(out, full, size < full_size ? size : full_size);
}

/* ---- speed and time ---------------------------------------------------------- */

/* A hint to start loading addr (for writing it: PREFETCH_WRITE); marking
 * is latency-bound, and the loops know their next addresses well ahead. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#define PREFETCH_WRITE(addr) __builtin_prefetch((addr), 1)
#else
#define PREFETCH(addr) ((void)(addr))
#define PREFETCH_WRITE(addr) ((void)(addr))
#endif

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t gpugc__now_ns(void);

#endif /* GPUGC_UTIL_H */

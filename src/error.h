/* error.h - the one error path (a status and a message recorded on the
 * heap, then its handler), fault injection, allocation that honours it,
 * and the threading contract's debug-build check. */
#ifndef GPUGC_ERROR_H
#define GPUGC_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "gpugc.h"
#include "heap.h"

/* Records status and message on h (or the thread's heap-less slot) and calls
 * the handler.  Returns status, so callers can `return gpugc__set_error(...)`. */
int gpugc__set_error(const gpugc_heap *h, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void gpugc__error_handler_default_for(gpugc_heap *h);

/* The threading contract (one thread in a heap at a time), checked in
 * debug builds around every call that changes the heap: gpugc__thread_enter is
 * false, after reporting GPUGC_ETHREAD, when another thread is inside;
 * the same thread re-entering from a callback is fine. */
#ifdef GPUGC_DEBUG
bool gpugc__thread_enter(gpugc_heap *h, const char *fn);
void gpugc__thread_leave(gpugc_heap *h);
#else
static inline bool gpugc__thread_enter(gpugc_heap *h, const char *fn) {
    (void)h;
    (void)fn;
    return true;
}
static inline void gpugc__thread_leave(gpugc_heap *h) { (void)h; }
#endif

/* The entry of every public call that changes a heap, and its exit: h is
 * not NULL (else GPUGC_EINVAL, reported on behalf of fn), the threading
 * contract holds (debug builds; else GPUGC_ETHREAD), and no collection is
 * marking (an error handler called meanwhile; else GPUGC_EBUSY: the marks
 * are being computed from the heap).  GPUGC_OK, or the status of the
 * refusal, reported: the call then returns it (or NULL), having changed
 * nothing.  Debug builds check on the outermost exit that the heap is
 * settled: not busy, nothing pending. */
static inline int gpugc__enter(gpugc_heap *h, const char *fn) {
    if (!h)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "%s: heap is NULL", fn);
    if (!gpugc__thread_enter(h, fn))
        return GPUGC_ETHREAD;
    if (h->busy & BUSY_MARKING) {
        gpugc__thread_leave(h);
        return gpugc__set_error(h, GPUGC_EBUSY,
                                "%s: called while a collection marks (from an error handler)", fn);
    }
    return GPUGC_OK;
}
static inline void gpugc__leave(gpugc_heap *h) { gpugc__thread_leave(h); }

/* True when a fault armed at `site` fires now (gpugc_inject_fault). */
bool gpugc__fault_fires(gpugc_heap *h, gpugc_fault site);

/* malloc/realloc that honour fault injection and report ENOMEM. */
void *gpugc__heap_malloc(gpugc_heap *h, size_t n, const char *what);
void *gpugc__heap_realloc(gpugc_heap *h, void *p, size_t n, const char *what);

#endif /* GPUGC_ERROR_H */

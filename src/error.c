/* error.c - status strings, the one error path, handlers, fault injection.
 *
 * Every failing call goes through gpugc__set_error: it records the status and a
 * message on the heap (or, with no heap, in a thread-local slot) and calls
 * the heap's handler, whose default prints to stderr and returns.
 */
#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

static void handler_stderr(gpugc_heap *h, int status, const char *msg, void *data) {
    (void)h;
    (void)status;
    (void)data;
    fprintf(stderr, "gpugc: %s\n", msg);
}

/* The handler for errors with no heap and the default of new heaps. */
static gpugc_error_handler global_handler = handler_stderr;
static void *global_handler_data;

static _Thread_local int noheap_err;
static _Thread_local char noheap_msg[256];

const char *gpugc_strerror(int status) {
    switch (status) {
#define STATUS_TEXT(name, value, text) \
    case GPUGC_##name:                 \
        return text;
        GPUGC_STATUS_CODES(STATUS_TEXT)
#undef STATUS_TEXT
    default:
        return "unknown status";
    }
}

int gpugc__set_error(const gpugc_heap *ch, int status, const char *fmt, ...) {
    /* Errors are recorded even through a const heap: the last-error slot
     * is bookkeeping, not heap state. */
    gpugc_heap *h = (gpugc_heap *)ch;
    char *buf = h ? h->errmsg : noheap_msg;
    size_t size = h ? sizeof h->errmsg : sizeof noheap_msg;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (h) {
        h->err = status;
        h->on_error(h, status, buf, h->on_error_data);
    } else {
        noheap_err = status;
        global_handler(NULL, status, buf, global_handler_data);
    }
    return status;
}

void gpugc__error_handler_default_for(gpugc_heap *h) {
    h->on_error = global_handler;
    h->on_error_data = global_handler_data;
}

void gpugc_set_error_handler(gpugc_heap *h, gpugc_error_handler fn, void *data) {
    if (!fn) {
        fn = handler_stderr;
        data = NULL;
    }
    if (h) {
        h->on_error = fn;
        h->on_error_data = data;
    } else {
        global_handler = fn;
        global_handler_data = data;
    }
}

int gpugc_last_error(const gpugc_heap *h) { return h ? h->err : noheap_err; }

const char *gpugc_last_error_message(const gpugc_heap *h) {
    return h ? h->errmsg : noheap_msg;
}

void gpugc_clear_error(gpugc_heap *h) {
    if (h) {
        h->err = GPUGC_OK;
        h->errmsg[0] = '\0';
    } else {
        noheap_err = GPUGC_OK;
        noheap_msg[0] = '\0';
    }
}

static int inject_fault(gpugc_heap *h, gpugc_fault site, int64_t countdown) {
    if ((unsigned)site >= GPUGC_FAULT_COUNT)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_inject_fault: unknown site %d", (int)site);
    h->fault_countdown[site] = countdown;
    return GPUGC_OK;
}

int gpugc_inject_fault(gpugc_heap *h, gpugc_fault site, int64_t countdown) {
    int refused = gpugc__enter(h, "gpugc_inject_fault");
    if (refused != GPUGC_OK)
        return refused;
    int r = inject_fault(h, site, countdown);
    gpugc__leave(h);
    return r;
}

#ifdef GPUGC_DEBUG
/* One address per thread, as its token. */
static _Thread_local char thread_token;

bool gpugc__thread_enter(gpugc_heap *h, const char *fn) {
    uintptr_t self = (uintptr_t)&thread_token, none = 0;
    if (atomic_load_explicit(&h->owner, memory_order_relaxed) == self) {
        h->depth++; /* a callback of this thread's own call */
        return true;
    }
    if (atomic_compare_exchange_strong(&h->owner, &none, self)) {
        h->depth = 1;
        return true;
    }
    /* Reported without touching the heap, which the other thread owns. */
    gpugc__set_error(NULL, GPUGC_ETHREAD, "%s: heap %p is in use by another thread at the same time", fn,
              (void *)h);
    return false;
}

void gpugc__thread_leave(gpugc_heap *h) {
    if (--h->depth == 0) {
        /* a destroy run by gpugc_heap_free, unguarded, may call in */
        GPUGC_ASSERT(!(h->busy & ~(BUSY_DYING | BUSY_COPYING)) && h->pending == NO_ID);
        atomic_store(&h->owner, 0);
    }
}
#endif

bool gpugc__fault_fires(gpugc_heap *h, gpugc_fault site) {
    int64_t *c = &h->fault_countdown[site];
    if (*c < 0)
        return false;
    return (*c)-- == 0;
}

void *gpugc__heap_malloc(gpugc_heap *h, size_t n, const char *what) {
    return gpugc__heap_realloc(h, NULL, n, what);
}

void *gpugc__heap_realloc(gpugc_heap *h, void *p, size_t n, const char *what) {
    void *q = gpugc__fault_fires(h, GPUGC_FAULT_ALLOC) ? NULL : realloc(p, n);
    if (!q)
        gpugc__set_error(h, GPUGC_ENOMEM, "%s: cannot allocate %zu bytes", what, n);
    return q;
}

/* control.h - collection callbacks and debug output, as the collector
 * uses them (control.c has CPython's gc module controls). */
#ifndef GPUGC_CONTROL_H
#define GPUGC_CONTROL_H

#include "heap.h"

/* Runs the collection callbacks for one phase of a collection. */
void gpugc__run_callbacks(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info);
/* One line of debug output through the heap's output function. */
void gpugc__debug_print(gpugc_heap *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "<what> <type name> <address>" for id. */
void gpugc__debug_object(gpugc_heap *h, const char *what, uint32_t id);
void gpugc__output_default_for(gpugc_heap *h);

#endif /* GPUGC_CONTROL_H */

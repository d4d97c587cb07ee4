/* trace.h - allocation tracing, as object allocation and freeing use it
 * (trace.c keeps the records). */
#ifndef GPUGC_TRACE_H
#define GPUGC_TRACE_H

#include "heap.h"

typedef struct trace_state trace_state;
/* The site index of (file, line), registered if new; 0 (reported) when
 * memory is short. */
uint32_t gpugc__trace_site_of(gpugc_heap *h, const char *file, int line);
/* Records new object id of payload size at site / forgets id. */
void gpugc__trace_alloc(gpugc_heap *h, uint32_t id, uint32_t site, size_t size);
void gpugc__trace_free(gpugc_heap *h, uint32_t id);
/* Drops all tracing state (gpugc_trace_stop, gpugc_heap_free). */
void gpugc__trace_release(gpugc_heap *h);

#endif /* GPUGC_TRACE_H */

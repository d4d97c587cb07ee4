/* collect.h - what the rest of the library asks of the cycle collector. */
#ifndef GPUGC_COLLECT_H
#define GPUGC_COLLECT_H

#include "heap.h"

/* Runs the automatic collection CPython would run at this allocation. */
void gpugc__maybe_collect(gpugc_heap *h);

#endif /* GPUGC_COLLECT_H */

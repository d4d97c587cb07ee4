/* weakref.h - what the rest of the library asks of the weak references
 * (weakref.c keeps them). */
#ifndef GPUGC_WEAKREF_H
#define GPUGC_WEAKREF_H

#include "heap.h"

/* Clears every weak reference to the dying ids[0..n), then runs their
 * callbacks; returns how many ran (weakref.c says what holds). */
size_t gpugc__weak_clear(gpugc_heap *h, const uint32_t *ids, size_t n);
/* Frees every weak reference of the heap and the lists (gpugc_heap_free). */
void gpugc__weak_release_all(gpugc_heap *h);
/* The weak-reference part of gpugc_validate. */
int gpugc__weak_check(const gpugc_heap *h);

#endif /* GPUGC_WEAKREF_H */

/* pool.h - payload memory: the header before every payload and the
 * size-class allocator (pool.c draws its layers). */
#ifndef GPUGC_POOL_H
#define GPUGC_POOL_H

#include <stdint.h>

#include "gpugc.h"

/* Every payload follows this header.  `check` is the heap's cookie XOR the
 * size class (0 = large), so one load tells a block of this heap from a
 * stray pointer and also says how to free it. */
typedef struct obj_header {
    uint32_t id;
    uint32_t check;
} obj_header;

struct arena;
struct pool;

typedef struct pool_state {
    struct pool *used[GPUGC_SIZE_CLASSES]; /* pools with free blocks       */
    struct arena *arenas;                  /* arenas with free pools first */
    struct arena *spare;                   /* one empty arena kept mapped  */
    struct arena *all;                     /* every mapped arena           */
    gpugc_size_class_stats cls[GPUGC_SIZE_CLASSES];
    uint64_t narenas, arenas_peak, arenas_released;
    uint64_t large_objects, large_bytes;
} pool_state;

void gpugc__pool_init(pool_state *p);
void gpugc__pool_release_all(pool_state *p);
/* A block for a header plus `size` payload bytes; NULL when memory is short.
 * *cls receives the size class (0 for a large block). */
obj_header *gpugc__pool_alloc(gpugc_heap *h, size_t size, uint32_t *cls);
void gpugc__pool_free(pool_state *p, obj_header *block, uint32_t cls);
/* The pool part of gpugc_validate: one block in use per live object. */
int gpugc__pool_check(gpugc_heap *h);

#endif /* GPUGC_POOL_H */

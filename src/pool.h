/* pool.h - payload memory: the header before every payload and the
 * size-class allocator (pool.c draws its layers). */
#ifndef GPUGC_POOL_H
#define GPUGC_POOL_H

#include <stdint.h>

#include "gpugc.h"

/* Every payload follows this header (gpugc.h's gpugc__header, which the
 * inline paths read).  `check` is the heap's cookie XOR the size class (0
 * = large), so one load tells a block of this heap from a stray pointer
 * and also says how to free it. */
typedef gpugc__header obj_header;

#include <stdbool.h>
#include <string.h>

#define POOL_SIZE (1u << 14)
#define CLASS_STEP 16u

typedef struct arena {
    char *base;             /* POOL_SIZE aligned, ARENA_SIZE bytes        */
    struct pool *free_pools; /* returned pools, singly linked            */
    uint32_t nfree;         /* returned plus never-carved pools           */
    uint32_t ncarved;
    struct arena *next, *prev;   /* list of arenas with free pools        */
    struct arena *all_next;      /* every mapped arena                    */
} arena;

typedef struct pool {
    arena *arena;
    struct pool *next, *prev; /* used[c] list, or arena free list (next) */
    char *freeblock;          /* freed blocks, linked through payloads   */
    uint32_t nused;
    uint32_t cls;
    uint32_t nextoffset;      /* first never-used block                  */
    uint32_t maxnextoffset;
} pool;

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

static inline size_t gpugc__block_size(uint32_t cls) { return (size_t)cls * CLASS_STEP; }

/* The size class of a payload of `size` bytes, header included, once
 * that is at most GPUGC_SMALL_MAX. */
static inline uint32_t pool_class(size_t size) {
    return (uint32_t)((size + sizeof(obj_header) + CLASS_STEP - 1) / CLASS_STEP);
}

/* The class of the block gpugc__pool_alloc gives a payload of `size`
 * bytes: 0 for a large one. */
static inline uint32_t gpugc__size_class(size_t size) {
    return size > GPUGC_SMALL_MAX - sizeof(obj_header) ? 0 : pool_class(size);
}

/* The pool a small block lies in: pools are POOL_SIZE aligned. */
static inline pool *block_pool(const void *block) {
    return (pool *)((uintptr_t)block & ~(uintptr_t)(POOL_SIZE - 1));
}

static inline bool pool_full(const pool *pl) {
    return !pl->freeblock && pl->nextoffset > pl->maxnextoffset;
}

/* The slow paths: a large block, a new pool, a pool leaving or joining
 * its class's list, an empty pool going back to its arena. */
obj_header *gpugc__pool_alloc_slow(gpugc_heap *h, size_t size);
void gpugc__pool_free_slow(pool_state *p, obj_header *block, uint32_t cls, bool was_full);
void gpugc__pool_unlink_full(pool_state *p, pool *pl);

/* A block of class gpugc__size_class(size) for a header plus `size`
 * payload bytes, the payload zeroed; NULL when memory is short (reported).
 * The common case, a small block from a pool of its class that has one,
 * stays inline and touches that pool's header alone. */
static inline obj_header *gpugc__pool_alloc(gpugc_heap *h, pool_state *p, size_t size) {
    pool *pl;
    uint32_t c = gpugc__size_class(size);
    if (c == 0 || !(pl = p->used[c - 1]))
        return gpugc__pool_alloc_slow(h, size);
    char *b = pl->freeblock;
    if (b) {
        memcpy(&pl->freeblock, b + sizeof(obj_header), sizeof(char *));
    } else {
        b = (char *)pl + pl->nextoffset;
        pl->nextoffset += (uint32_t)gpugc__block_size(c);
    }
    pl->nused++;
    if (pool_full(pl))
        gpugc__pool_unlink_full(p, pl);
    p->cls[c - 1].allocs++; /* blocks_used is allocs - frees, when asked */
    /* The payload only: the rest of the block is never read.  Small
     * payloads in words (the block has room to the next 8 bytes), the
     * rest by memset, whose call costs more than a few stores. */
    if (size <= 64) {
        for (size_t k = 0; k < size; k += 8)
            memset(b + sizeof(obj_header) + k, 0, 8);
    } else {
        memset(b + sizeof(obj_header), 0, size);
    }
    return (obj_header *)b;
}

/* Gives back the block of an object whose header says class cls. */
static inline void gpugc__pool_free(pool_state *p, obj_header *block, uint32_t cls) {
    block->check = 0; /* a stale pointer to this block no longer passes */
    if (cls == 0) {
        gpugc__pool_free_slow(p, block, 0, false);
        return;
    }
    pool *pl = block_pool(block);
    bool was_full = pool_full(pl);
    memcpy((char *)block + sizeof(obj_header), &pl->freeblock, sizeof(char *));
    pl->freeblock = (char *)block;
    p->cls[cls - 1].frees++;
    if (--pl->nused == 0 || was_full)
        gpugc__pool_free_slow(p, block, cls, was_full);
}

/* The pool part of gpugc_validate: one block in use per live object. */
int gpugc__pool_check(gpugc_heap *h);

#endif /* GPUGC_POOL_H */

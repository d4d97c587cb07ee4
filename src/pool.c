/* pool.c - payload memory: size-class pools in arenas, as pymalloc does.
 *
 *   arena (1 MiB, mmap'd)  = 64 pools of 16 KiB, carved on demand
 *   pool  (16 KiB aligned) = pool header, then blocks of one size class
 *   block                  = obj_header (8 bytes), then the payload
 *
 *   class c (1..32) : block size 16*c bytes, payload up to 16*c - 8
 *   class 0         : large; malloc'd as [size_t size][obj_header][payload]
 *
 * A pool with free blocks sits in pool_state.used[c-1]; a full pool sits in
 * no list and rejoins when a block comes back; an empty pool goes back to
 * its arena.  An arena whose pools are all free is unmapped (one is kept as
 * a spare so that a heap hovering at an arena boundary does not thrash).
 * The block of a payload is found by masking its address to the pool size.
 */

#include "pool.h"

#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "error.h"
#include "heap.h"

#define ARENA_SIZE (1u << 20)
#define POOLS_PER_ARENA (ARENA_SIZE / POOL_SIZE)

_Static_assert(GPUGC_SMALL_MAX % CLASS_STEP == 0, "classes step by 16 bytes");
_Static_assert(sizeof(obj_header) == GPUGC_ALIGNMENT, "header keeps payloads aligned");
_Static_assert((POOL_SIZE & (POOL_SIZE - 1)) == 0, "pool lookup masks addresses");

#define POOL_HEADER ((sizeof(pool) + CLASS_STEP - 1) / CLASS_STEP * CLASS_STEP)

static uint32_t blocks_per_pool(uint32_t cls) {
    return (uint32_t)((POOL_SIZE - POOL_HEADER) / gpugc__block_size(cls));
}

void gpugc__pool_init(pool_state *p) {
    memset(p, 0, sizeof *p);
    for (uint32_t c = 1; c <= GPUGC_SIZE_CLASSES; c++)
        p->cls[c - 1].block_size = (uint32_t)gpugc__block_size(c);
}

/* ---- arenas ------------------------------------------------------------- */

static void arena_link(pool_state *p, arena *a) {
    a->prev = NULL;
    a->next = p->arenas;
    if (a->next)
        a->next->prev = a;
    p->arenas = a;
}

static void arena_unlink(pool_state *p, arena *a) {
    if (a->prev)
        a->prev->next = a->next;
    else
        p->arenas = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->next = a->prev = NULL;
}

static void arena_unmap(pool_state *p, arena *a) {
    for (arena **pp = &p->all; *pp; pp = &(*pp)->all_next) {
        if (*pp == a) {
            *pp = a->all_next;
            break;
        }
    }
    munmap(a->base, ARENA_SIZE);
    free(a);
    p->narenas--;
    p->arenas_released++;
}

/* A fresh arena: the spare if there is one, else a new POOL_SIZE-aligned
 * mapping.  NULL (error reported) when the system refuses. */
static arena *arena_new(gpugc_heap *h) {
    pool_state *p = &h->pool;
    arena *a = p->spare;
    if (a) {
        p->spare = NULL;
        return a;
    }
    a = gpugc__heap_malloc(h, sizeof *a, "gpugc_new (arena)");
    if (!a)
        return NULL;
    /* Map one pool more than needed and trim, so pools are aligned. */
    size_t len = ARENA_SIZE + POOL_SIZE;
    char *m = gpugc__fault_fires(h, GPUGC_FAULT_ALLOC)
                  ? MAP_FAILED
                  : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(a);
        gpugc__set_error(h, GPUGC_ENOMEM, "gpugc_new: cannot map an arena of %u bytes", ARENA_SIZE);
        return NULL;
    }
    char *base = (char *)(((uintptr_t)m + POOL_SIZE - 1) & ~(uintptr_t)(POOL_SIZE - 1));
    if (base > m)
        munmap(m, (size_t)(base - m));
    if (base + ARENA_SIZE < m + len)
        munmap(base + ARENA_SIZE, (size_t)(m + len - (base + ARENA_SIZE)));
    memset(a, 0, sizeof *a);
    a->base = base;
    a->nfree = POOLS_PER_ARENA;
    a->all_next = p->all;
    p->all = a;
    if (++p->narenas > p->arenas_peak)
        p->arenas_peak = p->narenas;
    return a;
}

/* ---- pools -------------------------------------------------------------- */

static void pool_link(pool_state *p, pool *pl) {
    pool **head = &p->used[pl->cls - 1];
    pl->prev = NULL;
    pl->next = *head;
    if (*head)
        (*head)->prev = pl;
    *head = pl;
}

static void pool_unlink(pool_state *p, pool *pl) {
    if (pl->prev)
        pl->prev->next = pl->next;
    else
        p->used[pl->cls - 1] = pl->next;
    if (pl->next)
        pl->next->prev = pl->prev;
    pl->next = pl->prev = NULL;
}

/* An empty pool of class cls, linked into used[cls-1]. */
static pool *pool_new(gpugc_heap *h, uint32_t cls) {
    pool_state *p = &h->pool;
    arena *a = p->arenas;
    if (!a) {
        if (!(a = arena_new(h)))
            return NULL;
        arena_link(p, a);
    }
    pool *pl = a->free_pools;
    if (pl)
        a->free_pools = pl->next;
    else
        pl = (pool *)(a->base + (size_t)a->ncarved++ * POOL_SIZE);
    if (--a->nfree == 0)
        arena_unlink(p, a);
    pl->arena = a;
    pl->freeblock = NULL;
    pl->nused = 0;
    pl->cls = cls;
    pl->nextoffset = POOL_HEADER;
    pl->maxnextoffset = (uint32_t)(POOL_SIZE - gpugc__block_size(cls));
    pool_link(p, pl);
    p->cls[cls - 1].pools++;
    return pl;
}

/* Gives an empty pool back to its arena; unmaps the arena when all of its
 * pools are free (or keeps it as the spare). */
static void pool_retire(pool_state *p, pool *pl) {
    arena *a = pl->arena;
    pool_unlink(p, pl);
    p->cls[pl->cls - 1].pools--;
    pl->next = a->free_pools;
    a->free_pools = pl;
    if (a->nfree++ == 0)
        arena_link(p, a);
    if (a->nfree < POOLS_PER_ARENA)
        return;
    arena_unlink(p, a);
    if (!p->spare) {
        a->free_pools = NULL;
        a->ncarved = 0;
        p->spare = a;
    } else {
        arena_unmap(p, a);
    }
}

/* ---- blocks ------------------------------------------------------------- */

obj_header *gpugc__pool_alloc_slow(gpugc_heap *h, size_t size) {
    pool_state *p = &h->pool;
    /* No object may exceed what pointer differences can span. */
    if (size > PTRDIFF_MAX - 2 * sizeof(obj_header)) {
        gpugc__set_error(h, GPUGC_EOVERFLOW, "gpugc_new: payload of %zu bytes is too large", size);
        return NULL;
    }
    size_t need = size + sizeof(obj_header);
    if (need > GPUGC_SMALL_MAX) {
        /* The size word keeps the large payload 16-aligned and lets
         * gpugc__pool_free account for it. */
        size_t *m = gpugc__heap_malloc(h, need + sizeof(size_t), "gpugc_new (large payload)");
        if (!m)
            return NULL;
        m[0] = size;
        obj_header *b = (obj_header *)(m + 1);
        memset(b + 1, 0, size);
        p->large_objects++;
        p->large_bytes += size;
        return b;
    }
    uint32_t c = pool_class(size);
    if (!pool_new(h, c))
        return NULL;
    return gpugc__pool_alloc(h, p, size); /* the fast path now succeeds */
}

void gpugc__pool_free_slow(pool_state *p, obj_header *block, uint32_t cls, bool was_full) {
    if (cls == 0) {
        size_t *m = (size_t *)block - 1;
        p->large_objects--;
        p->large_bytes -= m[0];
        free(m);
        return;
    }
    pool *pl = block_pool(block);
    if (was_full)
        pool_link(p, pl);
    if (pl->nused == 0)
        pool_retire(p, pl);
}

void gpugc__pool_unlink_full(pool_state *p, pool *pl) {
    pool_unlink(p, pl);
}

void gpugc__pool_release_all(pool_state *p) {
    while (p->all)
        arena_unmap(p, p->all);
    p->spare = NULL;
    p->arenas = NULL;
}

int gpugc_size_class_stats_get(const gpugc_heap *h, unsigned class_index,
                               gpugc_size_class_stats *out, size_t size) {
    if (!h || !out)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_size_class_stats_get: %s is NULL",
                         h ? "out" : "heap");
    if (class_index >= GPUGC_SIZE_CLASSES)
        return gpugc__set_error(h, GPUGC_EINVAL,
                         "gpugc_size_class_stats_get: class %u is not below %d",
                         class_index, GPUGC_SIZE_CLASSES);
    gpugc_size_class_stats st = h->pool.cls[class_index];
    st.blocks_used = st.allocs - st.frees;
    st.blocks_free = st.pools * blocks_per_pool(class_index + 1) - st.blocks_used;
    copy_figures(out, size, &st, sizeof st);
    return GPUGC_OK;
}

int gpugc_print_allocator_stats(const gpugc_heap *h, FILE *f) {
    if (!h || !f)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_print_allocator_stats: %s is NULL", h ? "f" : "heap");
    const pool_state *p = &h->pool;
    fprintf(f, "Small block threshold = %d, in %u size classes.\n\n", GPUGC_SMALL_MAX,
            (unsigned)GPUGC_SIZE_CLASSES);
    fprintf(f, "class   size   num pools   blocks in use  avail blocks\n"
               "-----   ----   ---------   -------------  ------------\n");
    uint64_t pools = 0, used_bytes = 0, free_bytes = 0;
    for (uint32_t c = 1; c <= GPUGC_SIZE_CLASSES; c++) {
        gpugc_size_class_stats st;
        gpugc_size_class_stats_get(h, c - 1, &st, sizeof st);
        if (st.pools == 0)
            continue;
        fprintf(f, "%5u %6u %11llu %15llu %13llu\n", c - 1, st.block_size,
                (unsigned long long)st.pools, (unsigned long long)st.blocks_used,
                (unsigned long long)st.blocks_free);
        pools += st.pools;
        used_bytes += st.blocks_used * st.block_size;
        free_bytes += st.blocks_free * st.block_size;
    }
    gpugc_memory_stats m;
    gpugc_memory_stats_get(h, &m, sizeof m);
    fprintf(f, "\n# arenas allocated current           = %llu\n"
               "# arenas allocated at peak           = %llu\n"
               "# arenas released                    = %llu\n"
               "# bytes in pools                     = %llu\n"
               "# bytes in allocated blocks          = %llu\n"
               "# bytes in available blocks          = %llu\n"
               "# large payloads (from the system)   = %llu\n"
               "# bytes in large payloads            = %llu\n"
               "# bytes of collector metadata        = %llu\n"
               "# reference slots in use / free      = %llu / %llu\n",
            (unsigned long long)p->narenas, (unsigned long long)p->arenas_peak,
            (unsigned long long)p->arenas_released,
            (unsigned long long)(pools * POOL_SIZE), (unsigned long long)used_bytes,
            (unsigned long long)free_bytes, (unsigned long long)m.large_objects,
            (unsigned long long)m.large_bytes, (unsigned long long)m.metadata_bytes,
            (unsigned long long)m.slots_used, (unsigned long long)m.slots_free);
    return ferror(f) ? gpugc__set_error(h, GPUGC_EINVAL, "gpugc_print_allocator_stats: write failed")
                     : GPUGC_OK;
}

int gpugc__pool_check(gpugc_heap *h) {
    uint64_t blocks = h->pool.large_objects;
    for (int c = 0; c < GPUGC_SIZE_CLASSES; c++)
        blocks += h->pool.cls[c].allocs - h->pool.cls[c].frees;
    if (blocks != h->live)
        return gpugc__set_error(h, GPUGC_ECORRUPT,
                                "gpugc_validate: pools hold %llu blocks for %zu objects",
                                (unsigned long long)blocks, h->live);
    return GPUGC_OK;
}

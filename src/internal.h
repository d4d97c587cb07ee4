/* internal.h - the heap's data model, shared by the library's files.
 *
 * Glossary
 *   id        32-bit index of an object in every id-indexed array below.
 *   slot      one reference of an object: an id in h->slots, or NO_ID.
 *   set       the objects a collection examines: tracked, generation <= g.
 *   gc_refs   per-id scratch of the collector: refcount minus references
 *             from inside the set (unsigned: past GPUGC_MAX_REFCOUNT means
 *             below zero).
 *   garbage   bitmap over ids: set members found unreachable.
 *   permanent generation 3 (PERMANENT_GEN): frozen and immortal objects,
 *             tracked but in no collection's set.
 *
 * Invariants between calls (gpugc_validate checks each one)
 *   - id i is live iff meta[i] & META_LIVE; then addr[i] is its payload, whose
 *     header holds i, and rc[i] >= 1.
 *   - rc[i] >= the number of live slots holding i (the rest are C references).
 *   - slots[slot_off[i] .. + slot_cnt[i]) belong to i alone; each holds a live
 *     id or NO_ID.
 *   - i is tracked iff slot_cnt[i] > 0 and META_UNTRACKED is clear; a
 *     tracked id sits in exactly one generation list (the permanent one
 *     included), at gen_pos[i], and meta[i] carries that generation.
 *   - i is immortal iff META_IMMORTAL is set iff rc[i] == IMMORTAL_RC; a
 *     tracked immortal id is in the permanent generation.
 *   - a weak reference reads its referent i (or NO_ID once i died) and, if
 *     i, is listed at h->weak[i]; only live ids have weak references.
 *   - every id in h->saved (SAVEALL's garbage list) is live and holds one
 *     count for the list.
 *   - every garbage bit is zero and every gc_refs entry is unused outside a
 *     collection.
 *   - a device backend's mirror of meta, slot_off, slot_cnt and the slot
 *     ranges of live objects equals these arrays except on dirty cards.
 */
#ifndef GPUGC_INTERNAL_H
#define GPUGC_INTERNAL_H

#include "gpugc.h"

/* Library-internal functions keep short names in the source and carry the
 * gpugc__ prefix in the object files, so a static link cannot clash with a
 * program's own symbols. */
#define backend_cpu gpugc__backend_cpu
#define backend_select gpugc__backend_select
#define debug_object gpugc__debug_object
#define debug_check_failed gpugc__debug_check_failed
#define debug_print gpugc__debug_print
#define drop_ref gpugc__drop_ref
#define error_handler_default_for gpugc__error_handler_default_for
#define fault_fires gpugc__fault_fires
#define gen_add gpugc__gen_add
#define gen_merge gpugc__gen_merge
#define gen_move gpugc__gen_move
#define gen_remove gpugc__gen_remove
#define heap_malloc gpugc__heap_malloc
#define heap_metadata_bytes gpugc__heap_metadata_bytes
#define heap_realloc gpugc__heap_realloc
#define id_alloc gpugc__id_alloc
#define id_release gpugc__id_release
#define maybe_collect gpugc__maybe_collect
#define now_ns gpugc__now_ns
#define object_destroy gpugc__object_destroy
#define object_free gpugc__object_free
#define object_id gpugc__object_id
#define output_default_for gpugc__output_default_for
#define pool_alloc gpugc__pool_alloc
#define pool_free gpugc__pool_free
#define pool_init gpugc__pool_init
#define pool_release_all gpugc__pool_release_all
#define release_pending gpugc__release_pending
#define run_callbacks gpugc__run_callbacks
#define set_error gpugc__set_error
#define slots_alloc gpugc__slots_alloc
#define slots_init gpugc__slots_init
#define slots_release gpugc__slots_release
#define thread_enter gpugc__thread_enter
#define thread_leave gpugc__thread_leave
#define bits_grow gpugc__bits_grow
#define trace_alloc gpugc__trace_alloc
#define trace_free gpugc__trace_free
#define trace_grow gpugc__trace_grow
#define trace_release gpugc__trace_release
#define trace_site_of gpugc__trace_site_of
#define vec_free gpugc__vec_free
#define weak_clear gpugc__weak_clear
#define weak_grow gpugc__weak_grow
#define weak_release_all gpugc__weak_release_all
#define weak_validate gpugc__weak_validate
#define vec_push gpugc__vec_push
#define array_grow gpugc__array_grow
#define vec_reserve gpugc__vec_reserve

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "layout.h"

/* Frozen and immortal objects: a fourth generation no collection's set
 * includes, since every backend takes `tracked && gen <= g` with g <= 2. */
#define PERMANENT_GEN 3u
/* The count of an immortal object: above GPUGC_MAX_REFCOUNT, so gpugc_incref
 * tells it apart in the overflow test it makes anyway. */
#define IMMORTAL_RC GPUGC_IMMORTAL_REFCOUNT

static inline uint32_t meta_gen(uint32_t m) { return m & META_GEN_MASK; }
static inline gpugc_type meta_type(uint32_t m) { return m >> META_TYPE_SHIFT; }

/* ---- pool.c: size-class allocator -------------------------------------- */

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

void pool_init(pool_state *p);
void pool_release_all(pool_state *p);
/* A block for a header plus `size` payload bytes; NULL when memory is short.
 * *cls receives the size class (0 for a large block). */
obj_header *pool_alloc(gpugc_heap *h, size_t size, uint32_t *cls);
void pool_free(pool_state *p, obj_header *block, uint32_t cls);

/* ---- slots.c: ranges of the slot array ---------------------------------- */

/* Free ranges are linked through the slot array itself, so releasing never
 * allocates: slots[off] holds the next free range's offset (NO_ID ends the
 * list); a large range keeps its length in slots[off + 1]. */
#define SLOT_SMALL 64

typedef struct u32vec {
    uint32_t *v;
    size_t n, cap;
} u32vec;

typedef struct slot_space {
    uint32_t top;                  /* slots[top..] never handed out        */
    uint64_t nfree;                /* slots in free ranges                 */
    uint32_t small[SLOT_SMALL + 1]; /* small[n]: stack of free n-ranges    */
    uint32_t large;                /* ranges above SLOT_SMALL, first fit   */
} slot_space;

void slots_init(slot_space *s);
/* The offset of a fresh range of n > 0 slots, all NO_ID; false when the
 * slot array cannot grow. */
bool slots_alloc(gpugc_heap *h, uint32_t n, uint32_t *off);
void slots_release(gpugc_heap *h, uint32_t off, uint32_t n);

/* Room for one more element in the array p of *cap elements of `elem`
 * bytes: doubles *cap (`first` when it is 0).  Returns the array, perhaps
 * moved; NULL (reported, *cap unchanged, p still valid) when memory is
 * short. */
void *array_grow(gpugc_heap *h, void *p, size_t *cap, size_t elem, size_t first, const char *what);
int vec_push(gpugc_heap *h, u32vec *v, uint32_t x);
/* Makes room in v for `extra` more entries; false (reported on behalf of
 * what) changes nothing. */
bool vec_reserve(gpugc_heap *h, u32vec *v, size_t extra, const char *what);
/* Grows *bits from old_words to words, the new words zero; false on
 * failure (reported). */
bool bits_grow(gpugc_heap *h, uint64_t **bits, size_t old_words, size_t words, const char *what);
void vec_free(u32vec *v);

/* ---- backend.h has the backend contract --------------------------------- */

struct backend_ops;

typedef struct type_entry {
    char *name;
    gpugc_type_desc desc;
} type_entry;

typedef struct generation {
    u32vec ids;          /* tracked objects of this generation            */
    uint32_t threshold;
    uint32_t count;      /* gen 0: allocations - deallocations;
                            gen g: collections of g-1 since the last of g */
    gpugc_gen_stats stats; /* cumulative, for gpugc_get_stats            */
} generation;

/* One collection callback (gpugc_callback_add). */
typedef struct callback_entry {
    gpugc_callback fn;
    void *data;
} callback_entry;

struct gpugc_heap {
    /* id-indexed arrays (structure of arrays), all of capacity `cap` */
    uint32_t *rc;
    uint32_t *slot_off;
    uint32_t *slot_cnt;
    uint32_t *meta;
    void **addr;
    uint32_t *gc_refs;   /* collector scratch; see mark_cpu.c           */
    uint32_t *gen_pos;
    uint64_t *garbage;   /* bitmap, (cap + 63) / 64 words                 */
    uint32_t cap;
    uint32_t nids;       /* ids ever handed out: 0..nids-1               */
    uint32_t free_ids;   /* dead ids, linked through slot_off         */
    size_t live;

    uint32_t *slots;     /* all reference slots; capacity slots_cap       */
    uint32_t slots_cap;
    slot_space ss;

    /* Dirty cards: bit c set when entries [c << CARD_SHIFT, +CARD_SIZE) of
     * meta/slot_off/slot_cnt (card_ids) or of slots (card_slots) changed
     * since a device backend last copied them; it clears them. */
    uint64_t *card_ids;
    uint64_t *card_slots;

    pool_state pool;
    uint32_t cookie;

    type_entry *types;
    uint32_t ntypes;
    size_t types_cap;

    generation gen[GPUGC_GENERATIONS + 1]; /* [PERMANENT_GEN]: frozen and
                            immortal objects, never collected            */
    uint64_t long_lived_total, long_lived_pending;
    bool enabled;
    bool collecting;     /* a collection's sweep is running callbacks     */
    bool freeing;        /* the sweep is destroying the garbage (the ids
                            whose garbage bits are set): none of them takes
                            a new reference                                */
    bool releasing;      /* the decref cascade is running                 */
    bool dying;          /* gpugc_heap_free is running                    */
    uint32_t pending;    /* ids whose count reached zero, linked through
                            gc_refs (unused by them: a collection never
                            runs during a release, and its garbage is
                            pinned)                                      */

    gpugc_config cfg;    /* as given to gpugc_heap_new                     */
    gpugc_backend backend; /* configured, after GPUGC_BACKEND; AUTO picks
                            per collection (backend.c)                      */
    struct {
        void *state;     /* the backend's per-heap state, made lazily      */
        int status;      /* 0 not made yet, 1 made, <0 making it failed    */
    } be[GPUGC_BACKEND_COUNT];
    int validate;

    gpugc_collection_stats last;
    bool have_last;

    callback_entry *callbacks;
    uint32_t ncallbacks;
    size_t callbacks_cap;
    bool in_callbacks;   /* gpugc_callback_add/remove refuse meanwhile     */

    unsigned debug;      /* GPUGC_DEBUG_* flags                            */
    gpugc_output out;    /* where debug output goes                        */
    void *out_data;
    u32vec saved;        /* the garbage list of GPUGC_DEBUG_SAVEALL        */

    struct gpugc_weakref **weak; /* id-indexed heads of the live weak
                            references to each object; NULL until the
                            first (weakref.c)                              */
    struct gpugc_weakref *weakrefs; /* every weak reference of the heap    */
    struct trace_state *trace; /* allocation tracing; NULL when off (trace.c) */

    gpugc_error_handler on_error;
    void *on_error_data;
    int err;
    char errmsg[256];

    int64_t fault_countdown[GPUGC_FAULT_COUNT];

    _Atomic uintptr_t owner; /* debug builds: the thread inside a call     */
    unsigned depth;          /* ...and how deep (callbacks re-enter)       */
};

/* ---- error.c ------------------------------------------------------------ */

/* Records status and message on h (or the thread's heap-less slot) and calls
 * the handler.  Returns status, so callers can `return set_error(...)`. */
int set_error(const gpugc_heap *h, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void error_handler_default_for(gpugc_heap *h);

/* The threading contract (one thread in a heap at a time), checked in
 * debug builds around every call that changes the heap: thread_enter is
 * false, after reporting GPUGC_ETHREAD, when another thread is inside;
 * the same thread re-entering from a callback is fine. */
#ifdef GPUGC_DEBUG
bool thread_enter(gpugc_heap *h, const char *fn);
void thread_leave(gpugc_heap *h);
#else
static inline bool thread_enter(gpugc_heap *h, const char *fn) {
    (void)h;
    (void)fn;
    return true;
}
static inline void thread_leave(gpugc_heap *h) { (void)h; }
#endif

/* What a phase function states holds before or after it, checked in
 * debug builds: a failure names the condition and aborts. */
#ifdef GPUGC_DEBUG
#define DEBUG_CHECK(cond) ((cond) ? (void)0 : debug_check_failed(#cond, __FILE__, __LINE__))
_Noreturn void debug_check_failed(const char *cond, const char *file, int line);
#else
#define DEBUG_CHECK(cond) ((void)0)
#endif

/* True when a fault armed at `site` fires now (gpugc_inject_fault). */
bool fault_fires(gpugc_heap *h, gpugc_fault site);

/* malloc/realloc that honour fault injection and report ENOMEM. */
void *heap_malloc(gpugc_heap *h, size_t n, const char *what);
void *heap_realloc(gpugc_heap *h, void *p, size_t n, const char *what);

/* ---- heap.c ------------------------------------------------------------- */

/* The id of obj after checking that it is a live object of h; NO_ID after
 * reporting GPUGC_ENOTOBJ (or GPUGC_EINVAL for NULL) on behalf of `fn`. */
uint32_t object_id(const gpugc_heap *h, const void *obj, const char *fn);
/* An id for a new object: grows the id arrays when needed. */
bool id_alloc(gpugc_heap *h, uint32_t *id);
void id_release(gpugc_heap *h, uint32_t id);
int gen_add(gpugc_heap *h, uint32_t id, uint32_t g);
void gen_remove(gpugc_heap *h, uint32_t id);
/* Moves tracked id to generation g (another than its own); GPUGC_ENOMEM
 * (reported) changes nothing. */
int gen_move(gpugc_heap *h, uint32_t id, uint32_t g);
/* Moves every member of generation `from` but the immortal ones to the end
 * of generation `to`, for which vec_reserve made room. */
void gen_merge(gpugc_heap *h, uint32_t from, uint32_t to);
/* The generation an object joins when it becomes tracked. */
static inline uint32_t gen_home(uint32_t meta) {
    return meta & META_IMMORTAL ? PERMANENT_GEN : 0;
}
uint64_t heap_metadata_bytes(const gpugc_heap *h);

/* A hint to start loading addr; marking is latency-bound, and the loops
 * know their next addresses well ahead. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)(addr))
#endif

static inline bool bit_get(const uint64_t *b, uint32_t i) {
    return (b[i >> 6] >> (i & 63)) & 1u;
}
static inline void bit_set(uint64_t *b, uint32_t i) {
    b[i >> 6] |= UINT64_C(1) << (i & 63);
}
static inline void bit_clear(uint64_t *b, uint32_t i) {
    b[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* ---- dirty cards -------------------------------------------------------- */

#define CARD_SIZE (1u << CARD_SHIFT)

/* Words of a card bitmap covering n entries. */
static inline size_t card_words(uint64_t n) {
    return (size_t)((((n + CARD_SIZE - 1) >> CARD_SHIFT) + 63) / 64);
}

/* meta, slot_off or slot_cnt of id is about to change. */
static inline void dirty_id(gpugc_heap *h, uint32_t id) {
    bit_set(h->card_ids, id >> CARD_SHIFT);
}

/* slots[off, off + n) is about to change. */
static inline void dirty_slots(gpugc_heap *h, uint32_t off, uint32_t n) {
    for (uint32_t c = off >> CARD_SHIFT; n && c <= (off + n - 1) >> CARD_SHIFT; c++)
        bit_set(h->card_slots, c);
}

/* ---- object.c ----------------------------------------------------------- */

/* Adds one count to id, unless it is immortal (its count never moves);
 * false when the count is at GPUGC_MAX_REFCOUNT (the caller reports). */
static inline bool count_up(gpugc_heap *h, uint32_t id) {
    uint32_t c = h->rc[id];
    if (c < GPUGC_MAX_REFCOUNT) {
        h->rc[id] = c + 1;
        return true;
    }
    return c == IMMORTAL_RC;
}

/* Drops one reference to id; an id reaching zero joins the pending list.
 * Runs no callback, so it is safe while the heap is in mid-change. */
void drop_ref(gpugc_heap *h, uint32_t id);
/* Frees the pending ids (finalize, destroy, drop their slots' references,
 * free), cascading, unless a release is already running further up. */
void release_pending(gpugc_heap *h);
/* Runs the type's destroy callback, if any. */
void object_destroy(gpugc_heap *h, uint32_t id);
/* Frees a dead object's memory (payload, slot range, id) without touching
 * what its slots reference. */
void object_free(gpugc_heap *h, uint32_t id);

/* ---- control.c ---------------------------------------------------------- */

/* Runs the collection callbacks for one phase of a collection. */
void run_callbacks(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info);
/* One line of debug output through the heap's output function. */
void debug_print(gpugc_heap *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "<what> <type name> <address>" for id. */
void debug_object(gpugc_heap *h, const char *what, uint32_t id);
void output_default_for(gpugc_heap *h);

/* ---- weakref.c ---------------------------------------------------------- */

/* Grows h->weak from old_cap to cap entries, the new ones empty. */
bool weak_grow(gpugc_heap *h, uint32_t old_cap, uint32_t cap);
/* Clears every weak reference to the dying ids[0..n), then runs their
 * callbacks; returns how many ran (weakref.c says what holds). */
size_t weak_clear(gpugc_heap *h, const uint32_t *ids, size_t n);
/* Frees every weak reference of the heap and the lists (gpugc_heap_free). */
void weak_release_all(gpugc_heap *h);
/* The weak-reference part of gpugc_validate. */
int weak_validate(const gpugc_heap *h);

/* ---- trace.c ------------------------------------------------------------ */

typedef struct trace_state trace_state;
/* Grows the trace records from old_cap to cap ids, the new ones empty. */
bool trace_grow(gpugc_heap *h, uint32_t old_cap, uint32_t cap);
/* The site index of (file, line), registered if new; 0 (reported) when
 * memory is short. */
uint32_t trace_site_of(gpugc_heap *h, const char *file, int line);
/* Records new object id of payload size at site / forgets id. */
void trace_alloc(gpugc_heap *h, uint32_t id, uint32_t site, size_t size);
void trace_free(gpugc_heap *h, uint32_t id);
/* Drops all tracing state (gpugc_trace_stop, gpugc_heap_free). */
void trace_release(gpugc_heap *h);

/* ---- collect.c ---------------------------------------------------------- */

uint64_t now_ns(void);
/* Runs the automatic collection CPython would run at this allocation. */
void maybe_collect(gpugc_heap *h);

#endif /* GPUGC_INTERNAL_H */

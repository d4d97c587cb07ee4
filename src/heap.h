/* heap.h - the heap's data model, which every module of the library shares:
 * the id-indexed arrays, the generations, the collector's state.
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
 *   snapshot  the host's copy of what a mark reads, which a background
 *             collection marks while the program changes the heap.
 *
 * Invariants between calls (gpugc_validate checks each one)
 *   - id i is live iff meta[i] & META_LIVE iff addr[i] != NULL; then addr[i]
 *     is its payload, whose header holds i, and rc[i] >= 1.
 *   - rc[i] >= the number of live slots holding i (the rest are C references).
 *   - slots[slot_off[i] .. + slot_cnt[i]) belong to i alone; each holds a live
 *     id or NO_ID.
 *   - i is tracked iff slot_cnt[i] > 0 and META_UNTRACKED is clear; a
 *     tracked id is a member of the generation meta[i] carries (the
 *     permanent one included), whose list holds it (gen.h); each
 *     generation's `members` counts them.
 *   - generation g's list holds id i (live or dead) at most once, and
 *     does iff meta[i] has g's listed bit; a dead id's meta has no other.
 *   - i is immortal iff META_IMMORTAL is set iff rc[i] == IMMORTAL_RC; a
 *     tracked immortal id is in the permanent generation.
 *   - a weak reference reads its referent i (or NO_ID once i died) and, if
 *     i, is listed at h->weak[i]; only live ids have weak references.
 *   - every id in h->saved (SAVEALL's garbage list) is live and holds one
 *     count for the list.
 *   - every garbage bit is zero and every gc_refs entry is unused outside a
 *     collection.
 *   - a device backend's mirror of meta, slot_off, slot_cnt and the slot
 *     ranges of live objects equals these arrays except on dirty cards
 *     (kept once MIRROR_DEVICE is set; a mirror's first copy is whole); so
 *     does the host's snapshot (snapshot.h) except on the host cards.
 *   - while a background collection is pending (h->bg), the dead ids of
 *     its set wait on the deferred list, not the free list: its marks
 *     name them.
 */
#ifndef GPUGC_HEAP_H
#define GPUGC_HEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gpugc.h"
#include "mark/layout.h"
#include "pool.h"
#include "util.h"

/* Frozen and immortal objects: a fourth generation no collection's set
 * includes, since every backend takes `tracked && gen <= g` with g <= 2. */
#define PERMANENT_GEN 3u
/* The count of an immortal object: above GPUGC_MAX_REFCOUNT, so gpugc_incref
 * tells it apart in the overflow test it makes anyway. */
#define IMMORTAL_RC GPUGC_IMMORTAL_REFCOUNT

static inline uint32_t meta_gen(uint32_t m) { return m & META_GEN_MASK; }
static inline gpugc_type meta_type(uint32_t m) { return m >> META_TYPE_SHIFT; }

/* What a heap is in the middle of, while it runs program code (callbacks,
 * finalizers, destructors, handlers): bits of h->busy, which nest.  Each
 * says what that code is refused. */
enum {
    BUSY_COLLECTING = 1u << 0, /* a collection: no other collection        */
    BUSY_CALLBACKS = 1u << 1,  /* its START/STOP callbacks run: no adding or
                                  removing callbacks (walks are fine)       */
    BUSY_FREEING = 1u << 2,    /* its sweep destroys the garbage (the ids
                                  whose garbage bits are set): none of them
                                  takes a new reference                     */
    BUSY_RELEASING = 1u << 3,  /* the decref cascade: a nested release
                                  leaves its ids to the running one         */
    BUSY_DYING = 1u << 4,      /* gpugc_heap_free: counts stop moving       */
    BUSY_MARKING = 1u << 5,    /* a collection's mark phase: no call that
                                  changes the heap (an error handler's)     */
    BUSY_COPYING = 1u << 6,    /* between calls too: a background start's
                                  snapshot is being copied beside the
                                  program, so every change of the arrays
                                  it copies goes through the barriers below
                                  (dirty_id, dirty_slots, touch_slots,
                                  rc_store)                                 */
};
_Static_assert((BUSY_FREEING | BUSY_DYING | BUSY_MARKING | BUSY_COPYING) == GPUGC__BUSY_SLOW,
               "gpugc.h's inline paths leave these states to the library");
_Static_assert(NO_ID == GPUGC__NO_ID, "gpugc.h's inline paths read slots as the library does");

/* A module's own id-indexed array (weak-reference lists, allocation
 * records) grows with the id arrays through a hook it registers (ids.h):
 * from old_cap to cap entries, the new ones empty; false (reported) when
 * memory is short. */
typedef bool (*id_grow_hook)(gpugc_heap *h, uint32_t old_cap, uint32_t cap);
#define ID_GROW_HOOKS 2

/* Free ranges of the slot array (slots.c), linked through the slot array itself, so releasing never
 * allocates: slots[off] holds the next free range's offset (NO_ID ends the
 * list); a large range keeps its length in slots[off + 1]. */
#define SLOT_SMALL 64

typedef struct slot_space {
    uint32_t top;                  /* slots[top..] never handed out        */
    uint64_t nfree;                /* slots in free ranges                 */
    uint32_t small[SLOT_SMALL + 1]; /* small[n]: stack of free n-ranges    */
    uint32_t large;                /* ranges above SLOT_SMALL, first fit   */
} slot_space;

typedef struct type_entry {
    char *name;
    gpugc_type_desc desc;
} type_entry;

typedef struct generation {
    u32vec ids;          /* its members, and stale entries (gen.h)        */
    size_t members;      /* tracked objects of this generation            */
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
    /* First, what gpugc.h's inline paths read: the cookie, nids, busy (BUSY_*
     * bits), checked, mirrors (MIRROR_* bits: which copies of the heap
     * exist, so which cards are kept; until a copy exists none is needed,
     * its first copy being whole), and the id-indexed arrays rc, slot_off,
     * slot_cnt, addr and the slot array slots. */
    GPUGC__HEAP_PREFIX
    /* the other id-indexed arrays (structure of arrays), all of capacity
     * `cap`, as the prefix's are */
    uint32_t *meta;      /* flags and type (mark/layout.h)                 */
    uint32_t *gc_refs;   /* collector scratch; see mark/serial.c           */
    uint64_t *garbage;   /* bitmap, (cap + 63) / 64 words                 */
    uint32_t cap;
    uint32_t free_ids;   /* dead ids, linked through slot_off         */
    id_grow_hook id_hooks[ID_GROW_HOOKS]; /* side arrays growing with them */
    size_t live;

    uint32_t slots_cap;
    slot_space ss;

    /* Dirty cards: bit c set when entries [c << CARD_SHIFT, +CARD_SIZE) of
     * meta/slot_off/slot_cnt (card_ids) or of slots (card_slots) changed
     * since a device backend last copied them; it clears them. */
    uint64_t *card_ids;
    uint64_t *card_slots;
    /* The same for the host's snapshot (snapshot.h), which background
     * collections mark: its own cards. */
    uint64_t *hcard_ids;
    uint64_t *hcard_slots;
    struct snapshot *snap;
    struct background *bg; /* the pending background collection, or NULL
                            (collect.c)                                  */
    uint32_t deferred_head, deferred_tail; /* ids of its set freed while
                            one is pending, linked through slot_off: not
                            reused before its sweep, which reads ids    */

    pool_state pool;

    type_entry *types;
    uint32_t ntypes;
    size_t types_cap;

    generation gen[GPUGC_GENERATIONS + 1]; /* [PERMANENT_GEN]: frozen and
                            immortal objects, never collected            */
    uint64_t long_lived_total, long_lived_pending;
    bool enabled;
    uint32_t pending;    /* ids whose count reached zero, linked through
                            gc_refs (unused by them: a collection never
                            runs during a release, and its garbage is
                            pinned)                                      */

    gpugc_config cfg;    /* effective: as given to gpugc_heap_new, with the
                            environment's options applied (options.h)     */
    char *strings;       /* the block cfg's strings point into            */
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

/* ---- dirty cards -------------------------------------------------------- */

#define CARD_SIZE (1u << CARD_SHIFT)

/* Bits of h->mirrors. */
enum {
    MIRROR_DEVICE = 1u << 0, /* a device backend has copied the heap      */
    MIRROR_HOST = 1u << 1,   /* the host's snapshot exists                */
};

/* Words of a card bitmap covering n entries. */
static inline size_t card_words(uint64_t n) {
    return (size_t)((((n + CARD_SIZE - 1) >> CARD_SHIFT) + 63) / 64);
}

/* Kinds of cards: of the id arrays the snapshot copies (meta, slot_off,
 * slot_cnt), of the slot array. */
enum { CARDS_IDS, CARDS_SLOTS };

/* While BUSY_COPYING: the snapshot has the card of that kind (as it was
 * at the start) before it changes (snapshot.c). */
void gpugc__snapshot_before(gpugc_heap *h, int kind, uint64_t card);

/* meta, slot_off or slot_cnt of id is about to change.  A heap with no
 * copy (no device mark, no background collection yet) tests one word
 * (copying implies MIRROR_HOST). */
static inline void dirty_id(gpugc_heap *h, uint32_t id) {
    if (!h->mirrors)
        return;
    if (h->mirrors & MIRROR_DEVICE)
        bit_set(h->card_ids, id >> CARD_SHIFT);
    if (h->mirrors & MIRROR_HOST)
        bit_set(h->hcard_ids, id >> CARD_SHIFT);
    if (h->busy & BUSY_COPYING)
        gpugc__snapshot_before(h, CARDS_IDS, id >> CARD_SHIFT);
}

/* slots[off, off + n) is about to change. */
static inline void dirty_slots(gpugc_heap *h, uint32_t off, uint32_t n) {
    if (!h->mirrors)
        return;
    for (uint32_t c = off >> CARD_SHIFT; n && c <= (off + n - 1) >> CARD_SHIFT; c++) {
        if (h->mirrors & MIRROR_DEVICE)
            bit_set(h->card_slots, c);
        if (h->mirrors & MIRROR_HOST)
            bit_set(h->hcard_slots, c);
        if (h->busy & BUSY_COPYING)
            gpugc__snapshot_before(h, CARDS_SLOTS, c);
    }
}

/* slots[off, off + n) of a free range is about to change: no mirror keeps
 * free ranges, but the snapshot's copy may be reading them. */
static inline void touch_slots(gpugc_heap *h, uint32_t off, uint32_t n) {
    if (h->busy & BUSY_COPYING)
        for (uint32_t c = off >> CARD_SHIFT; n && c <= (off + n - 1) >> CARD_SHIFT; c++)
            gpugc__snapshot_before(h, CARDS_SLOTS, c);
}

/* ---- counts ------------------------------------------------------------- */

/* While BUSY_COPYING (snapshot.h): keeps id's count as it was at the
 * start for the copy, then stores v where the copying thread may read it. */
void gpugc__snapshot_keep(gpugc_heap *h, uint32_t id, uint32_t v);

/* Every change of a live object's count goes through here. */
static inline void rc_store(gpugc_heap *h, uint32_t id, uint32_t v) {
    if (h->busy & BUSY_COPYING)
        gpugc__snapshot_keep(h, id, v);
    else
        h->rc[id] = v;
}

/* The count of an id that is no set member's as the copy needs it: a new
 * object's (its id was dead at the start, or past the ids copied), a dead
 * one's (the change to zero was kept).  Still an atomic store: the copy
 * may be reading it. */
static inline void rc_reset(gpugc_heap *h, uint32_t id, uint32_t v) {
    __atomic_store_n(&h->rc[id], v, __ATOMIC_RELAXED);
}

/* Collecting, releasing or dying: no collection may start, nor any call
 * that must see a settled heap. */
static inline bool heap_busy(const gpugc_heap *h) {
    return h->busy & (BUSY_COLLECTING | BUSY_RELEASING | BUSY_DYING);
}

/* Collector metadata bytes (gpugc_memory_stats_get). */
uint64_t gpugc__heap_metadata_bytes(const gpugc_heap *h);

/* The threads the heap may run at once: cfg.threads, 0 meaning one per
 * online core (the cpu-parallel team, a background start's copy). */
unsigned gpugc__heap_threads(const gpugc_heap *h);

#endif /* GPUGC_HEAP_H */

/* parallel.c - the cpu-parallel backend: the mark phase (update_refs,
 * subtract_refs, breadth-first mark) on a team of threads made once per
 * heap (threadpool.c); the bitmap it leaves is the serial reference's
 * (mark/serial.c), bit for bit, ECORRUPT included.
 *
 * Threads.  POSIX threads, not OpenMP: the team belongs to the heap (made
 * when the backend is, joined by gpugc_heap_free), sleeps between
 * collections, and a collection wakes only as many members as its size
 * pays for; OpenMP's team is the process's, with its own wait policy, and
 * GCC's libgomp is not built for ThreadSanitizer (false reports), while a
 * static libgpugc needs nothing but -lpthread.  Size: the threads option
 * (gpugc_config.threads, GPUGC_THREADS), 0 meaning one per online core.  A
 * collection of n objects wakes one member per objects_per_thread objects
 * (GPUGC_OBJECTS_PER_THREAD, default 150000), up to the team, and runs the
 * serial reference when that leaves none (members_for).  gpugc_heap_new
 * has checked both (options.c).
 *
 * Phases, each ended by a barrier:
 *   set pass    the set is shared out in pieces: each member sets its
 *               members' bits (one atomic per bitmap word they share) and
 *               writes every slot target into its own bin for the
 *               target's block (at most 2^16 ids: 16-bit offsets).
 *   block pass  ownership by range: the member that takes a block sets
 *               gc_refs = rc for the block's members (update_refs),
 *               applies every member's bin for it (subtract_refs), then
 *               lists the roots (gc_refs > 0) and flags corrupt counts.
 *               Plain accesses throughout: the block is its alone, and
 *               its part of gc_refs fits in its cache.  Against decrements
 *               with atomics, partitioned by set pieces as the set pass
 *               is (measured, 16M objects, random graph of degree 2,
 *               update + subtract per object): 36 ns on one thread and 19
 *               on two, against 14 and 10 with the blocks.
 *   mark        level by level from the roots.  A narrow frontier is a
 *               list, shared out, each target claimed with an atomic and
 *               listed for the next level; below SOLO_ENTER ids a single
 *               member runs many levels without barriers (long chains).
 *               A wide one, at least one id per bitmap word, switches to
 *               the dense side, as direction-optimizing BFS (Beamer, SC'12)
 *               switches when the frontier is a large part of the graph:
 *               scans write targets into per-block bins unchecked, and
 *               each block's owner claims and scans them in id order (see
 *               "mark" below).  Beamer's bottom-up step itself needs the
 *               edges into each object; a heap stores the edges out of it
 *               (slots), and building the reverse graph for each
 *               collection is the snapshot DESIGN.md rules out.
 * Objects of SPLIT slots or more (big) are left by whoever meets them and
 * shared out among all members in pieces afterwards (bigs_share).  The
 * stage figures: ns_update_refs is the set pass, ns_subtract_refs the block
 * pass (which does update_refs' gc_refs = rc, and finds the roots), ns_mark
 * the levels.
 *
 * Latency: every loop over ids asks for the per-object data AHEAD ids on;
 * bins ask for their next line.  No false sharing: a member's state is its
 * own, aligned to 128 bytes; bitmap words are written by the owner of
 * their block, or once per word with an atomic.
 *
 * Memory kept between collections: 2 bytes per slot of the heap (bins), 8
 * per set member (lists), and per member a bitmap of one block.
 *
 * Figures for AUTO: see members_for, and AUTO's policy in backend.c.
 */
#include "mark/backend.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mark/threadpool.h"

/* ---- tunables ----------------------------------------------------------- */

#define AHEAD 32           /* prefetch distance, as in mark/serial.c          */
#define SET_GRAB 4096      /* set members a member takes at a time         */
#define BLOCK_SHIFT_MAX 16 /* a block is at most 2^16 ids (256 KiB of
                              gc_refs), so bins hold 16-bit offsets         */
#define BLOCK_SHIFT_MIN 10 /* ...and at least 2^10 (whole bitmap words)   */
#define BIN_CHUNK 2048     /* entries per bin chunk (4 KiB)               */
#define FRONT_GRAB 256     /* list entries a member takes at a time        */
#define OUT_BUF 1024       /* reached ids a member gathers before moving
                              them to the next list in one copy            */
#define BATCH 512          /* ids a sweep gathers before scanning them     */
#define SPLIT 4096         /* an object with this many slots or more is
                              "big": its slots are shared out in pieces of
                              this size                                   */
#define SOLO_ENTER 512     /* lists up to this size run on one member...   */
#define SOLO_EXIT 4096     /* ...until its queue holds this many ids       */
#define ONE_MEMBER_MIN 1000000   /* a set that gets one member alone        */

/* ---- state -------------------------------------------------------------- */

/* A bin: one member's ids for one block, as offsets in the block, in
 * chunks of BIN_CHUNK linked in order.  Only that member writes it;
 * `published` says how far the member reading the block may read while it
 * is being written. */
typedef struct bin {
    uint16_t *pos, *end;     /* where the next entry goes, in the last chunk
                                (pos == end: no room, or no chunk yet)      */
    uint32_t head;           /* first chunk; NO_ID while empty              */
    uint32_t tail;           /* last chunk                                  */
    size_t full;             /* entries in the chunks before the last       */
    _Atomic size_t published;
} bin;

/* Where the reader of a block stands in one member's bin for it. */
typedef struct cursor {
    uint32_t chunk;          /* the chunk read; NO_ID: none yet             */
    uint32_t off;            /* the next entry in it                        */
    size_t taken;            /* entries read                                */
} cursor;

/* Each member has two sets of bins: the set pass's edges for subtract_refs,
 * and the ids that scans reach, for the mark. */
enum { BINS_SUB, BINS_MARK, BIN_SETS };

/* One member's working set.  Aligned to two cache lines (the adjacent-line
 * prefetcher pairs them), so no member's writes touch another's lines. */
typedef struct worker {
    _Alignas(128) bin *bins[BIN_SETS]; /* per block                        */
    uint64_t edges;          /* slots of the set members this one took      */
    bool corrupt;            /* it found a member whose gc_refs went below
                                zero                                        */
    uint64_t *local;         /* ids of the block it holds still to scan, a
                                bitmap of the block; zero between uses      */
    uint32_t *out;           /* where a list level's ids go: buf, or the
                                whole queue of a solo level                 */
    size_t nout, outcap;
    uint32_t buf[OUT_BUF];
    uint32_t batch[BATCH];
} worker;

/* How a level runs.  A frontier is a list of reached ids, or the mark bins:
 * ids that scans reached, not yet claimed (see level_bins). */
typedef enum {
    LEVEL_ROOTS,   /* the roots were just listed                            */
    LEVEL_SOLO,    /* a narrow list, on member 0 alone                       */
    LEVEL_LIST,    /* a list, shared out                                     */
    LEVEL_SWEEP,   /* the bins, block by block, claimed and scanned          */
    LEVEL_COLLECT, /* the bins, claimed into a list                          */
    LEVEL_DONE
} level_kind;

enum { GRAB_SET, GRAB_BLOCK, GRAB_LEVEL, GRAB_COUNT };

/* A big object met in a pass, whose slots all members take in pieces once
 * the pass is over: one member alone would hold the others up (a list of
 * a million slots, a CPython dict of every module). */
typedef struct big {
    uint32_t id;
    _Atomic uint32_t next;   /* its first slot not taken yet                */
} big;

typedef struct par_state {
    tpool team;
    uint32_t per_member;     /* set members per member a collection wakes;
                                0: the whole team always                  */
    unsigned nthreads;       /* members of this collection                  */
    worker *w;
    void *w_mem;             /* w before alignment                          */

    /* Scratch kept from one collection to the next, grown on demand. */
    uint16_t *chunks;        /* BIN_CHUNK offsets each, for every bin        */
    uint32_t *chunk_next;    /* per chunk: the next chunk of its bin        */
    size_t chunks_cap;
    bin *binv;               /* every member's bins                         */
    size_t bins_cap;         /* bins per member and set                     */
    uint32_t *front[2];      /* lists, nset + 1 entries each                */
    size_t front_cap;
    cursor *cursors;         /* per block, one per member (cursor_row apart) */
    size_t cursors_cap;
    uint64_t *locals;        /* every member's `local`                       */
    size_t locals_cap;       /* words per member                             */
    big *bigs;               /* this pass's big objects                     */
    size_t bigs_cap;

    /* This collection.  Members read these; member 0 writes them only
     * between two barriers. */
    gpugc_heap *h;
    const mark_job *job;
    unsigned block_shift;
    size_t nblocks, words;   /* blocks, and bitmap words of all ids         */
    size_t block_words;      /* bitmap words of one block                   */
    size_t cursor_row;       /* cursors per block, whole cache lines        */
    level_kind level;
    bool bins_out;           /* the level's scans fill the mark bins        */
    const uint32_t *cur;     /* a list level's frontier                     */
    size_t ncur;
    unsigned next_front;     /* which of front[] takes the next list        */
    size_t solo_head;        /* a solo level's scanned part of its queue    */
    uint64_t t_set, t_blocks;
    int status;
    _Atomic size_t grab[GRAB_COUNT];
    _Atomic size_t next_n;   /* ids in the next list                        */
    _Atomic size_t chunks_used;
    _Atomic size_t nbigs;
} par_state;

/* The first of the next `step` units of a phase's work; at least the
 * phase's size when none is left. */
static inline size_t grab(par_state *s, int which, size_t step) {
    return atomic_fetch_add_explicit(&s->grab[which], step, memory_order_relaxed);
}

/* True when object i, with n slots, is big and left for all members: then
 * it is recorded for bigs_share.  (A pass meets an object once.) */
static inline bool big_defer(par_state *s, uint32_t i, uint32_t n) {
    if (n < SPLIT || s->nthreads == 1)
        return false;
    size_t k = atomic_fetch_add_explicit(&s->nbigs, 1, memory_order_relaxed);
    s->bigs[k].id = i;
    atomic_store_explicit(&s->bigs[k].next, 0, memory_order_relaxed);
    return true;
}

/* After a barrier that ended a pass: every member does `op` on pieces of
 * SPLIT slots of the big objects the pass left, until none is left. */
static void bigs_share(par_state *s, worker *me,
                       void (*op)(par_state *s, worker *me, const uint32_t *sl, uint32_t n)) {
    const gpugc_heap *h = s->h;
    size_t n = atomic_load_explicit(&s->nbigs, memory_order_relaxed);
    for (size_t k = 0; k < n; k++) {
        uint32_t i = s->bigs[k].id, cnt = h->slot_cnt[i];
        for (uint32_t a; (a = atomic_fetch_add_explicit(&s->bigs[k].next, SPLIT, memory_order_relaxed)) < cnt;)
            op(s, me, h->slots + h->slot_off[i] + a, cnt - a < SPLIT ? cnt - a : SPLIT);
    }
}

/* ---- update_refs and subtract_refs --------------------------------------- *
 *
 * Decrementing gc_refs[j] for every edge in set order is a random access
 * per edge into 4 bytes per object: 6.5-10 ns each at 16M objects, bound by
 * cache and TLB misses.  Instead the set pass sorts the edges by the block
 * of ids their target lies in ("propagation blocking", Beamer et al.,
 * IPDPS 2017), and the block pass applies each block's edges while the
 * block's gc_refs sit in the cache of the one member that owns it: no
 * atomics, about 2 ns to write and 2 ns to apply an edge. */

/* Consecutive set members often share a bitmap word: their bits are
 * gathered and set with one atomic operation per word. */
typedef struct word_acc {
    uint64_t *map;
    size_t word;
    uint64_t bits;
} word_acc;

static inline void acc_flush(word_acc *a) {
    if (a->bits)
        __atomic_fetch_or(&a->map[a->word], a->bits, __ATOMIC_RELAXED);
    a->bits = 0;
}

static inline void acc_add(word_acc *a, uint32_t i) {
    if (i >> 6 != a->word) {
        acc_flush(a);
        a->word = i >> 6;
    }
    a->bits |= UINT64_C(1) << (i & 63);
}

/* Entries in bin b, written by its member, and how many of them are in
 * its last chunk. */
static inline size_t bin_tail_fill(const par_state *s, const bin *b) {
    return b->tail == NO_ID ? 0 : (size_t)(b->pos - (s->chunks + (size_t)b->tail * BIN_CHUNK));
}

static inline size_t bin_count(const par_state *s, const bin *b) {
    return b->full + bin_tail_fill(s, b);
}

/* Chains a new chunk to bin b. */
static void bin_grow(par_state *s, bin *b) {
    uint32_t c = (uint32_t)atomic_fetch_add_explicit(&s->chunks_used, 1, memory_order_relaxed);
    s->chunk_next[c] = NO_ID;
    if (b->head == NO_ID) {
        b->head = c;
    } else {
        s->chunk_next[b->tail] = c;
        b->full += BIN_CHUNK;
    }
    b->tail = c;
    b->pos = s->chunks + (size_t)c * BIN_CHUNK;
    b->end = b->pos + BIN_CHUNK;
}

/* Appends id j, as its offset in its block, to its bin of set k.  The
 * path is short on purpose: it runs for every edge, into hundreds of bins
 * at once (the set pass took 11 ns per object at 16M objects on one thread
 * with fill counters and a count per bin, 8.7 with this).  A bin that
 * starts a line asks for the next one: stores that miss retire in order.
 * Neither non-temporal stores (14 ns) nor a write-combining line per bin
 * paid. */
static inline void bin_put(par_state *s, worker *me, int k, uint32_t j) {
    bin *b = &me->bins[k][j >> s->block_shift];
    if (b->pos == b->end)
        bin_grow(s, b);
    if (((uintptr_t)b->pos & 63) == 0)
        PREFETCH_WRITE(b->pos + 32);
    *b->pos++ = (uint16_t)(j & ((1u << s->block_shift) - 1));
}

/* Lets the members reading this member's mark bins see what it wrote. */
static void bins_publish(par_state *s, worker *me) {
    for (size_t b = 0; b < s->nblocks; b++)
        atomic_store_explicit(&me->bins[BINS_MARK][b].published,
                              bin_count(s, &me->bins[BINS_MARK][b]), memory_order_release);
}

/* Puts the non-NULL slots sl[0..n) into this member's subtract_refs bins. */
static void bin_slots(par_state *s, worker *me, const uint32_t *sl, uint32_t n) {
    for (uint32_t e = 0; e < n; e++)
        if (sl[e] != NO_ID)
            bin_put(s, me, BINS_SUB, sl[e]);
}

/* Before: garbage bits all zero.
 * After:  bit i set for every i in the set, and every non-NULL slot of the
 * set members this member took is in its subtract_refs bin for the
 * target's block, but the slots of big objects (see bigs_share); me->edges
 * counts their slots.  gc_refs waits for the block pass, which brings each
 * block's part into cache anyway. */
static void set_pass(par_state *s, worker *me) {
    gpugc_heap *h = s->h;
    const uint32_t *set = s->job->set;
    size_t n = s->job->nset;
    for (int k = 0; k < BIN_SETS; k++)
        for (size_t b = 0; b < s->nblocks; b++) {
            bin *bn = &me->bins[k][b];
            bn->pos = bn->end = NULL;
            bn->head = bn->tail = NO_ID;
            bn->full = 0;
            atomic_store_explicit(&bn->published, 0, memory_order_relaxed);
        }
    uint64_t edges = 0;
    for (size_t k0; (k0 = grab(s, GRAB_SET, SET_GRAB)) < n;) {
        size_t k1 = k0 + SET_GRAB < n ? k0 + SET_GRAB : n;
        word_acc acc = {s->job->garbage, 0, 0};
        for (size_t k = k0; k < k1; k++) {
            if (k + 2 * AHEAD < k1) {
                PREFETCH(&h->slot_off[set[k + 2 * AHEAD]]);
                PREFETCH(&h->slot_cnt[set[k + 2 * AHEAD]]);
            }
            if (k + AHEAD < k1)
                PREFETCH(&h->slots[h->slot_off[set[k + AHEAD]]]);
            uint32_t i = set[k], cnt = h->slot_cnt[i];
            acc_add(&acc, i);
            edges += cnt;
            if (!big_defer(s, i, cnt))
                bin_slots(s, me, h->slots + h->slot_off[i], cnt);
        }
        acc_flush(&acc);
    }
    me->edges = edges;
}

/* Moves this member's gathered ids to the next list. */
static void out_flush(par_state *s, worker *me) {
    if (me->nout == 0)
        return;
    size_t at = atomic_fetch_add_explicit(&s->next_n, me->nout, memory_order_relaxed);
    memcpy(s->front[s->next_front] + at, me->out, me->nout * sizeof *me->out);
    me->nout = 0;
}

static inline void out_put(par_state *s, worker *me, uint32_t j) {
    me->out[me->nout++] = j;
    if (me->nout == me->outcap)
        out_flush(s, me);
}

/* Before: the set pass has run.
 * After:  for every set member i in the blocks this member took, gc_refs[i]
 * = rc[i] (update_refs) less one per slot of a set member that references
 * i (subtract_refs); the roots, members left above zero, have their bits
 * cleared and are in the first list; me->corrupt if one went below zero.
 * Targets outside the set are decremented too, as in mark/serial.c: their
 * entries are scratch.  A block's gc_refs and bitmap words belong to the
 * member that took it, so every access is plain, and they stay in its
 * cache. */
static void block_pass(par_state *s, worker *me) {
    gpugc_heap *h = s->h;
    uint32_t *gc_refs = h->gc_refs;
    uint64_t *member = s->job->garbage;
    for (size_t b; (b = grab(s, GRAB_BLOCK, 1)) < s->nblocks;) {
        size_t w0 = (b << s->block_shift) / 64, w1 = ((b + 1) << s->block_shift) / 64;
        if (w1 > s->words)
            w1 = s->words;
        for (size_t w = w0; w < w1; w++)
            for (uint64_t m = member[w]; m; m &= m - 1) {
                size_t i = w * 64 + (unsigned)__builtin_ctzll(m);
                gc_refs[i] = h->rc[i];
            }
        uint32_t *block = gc_refs + (b << s->block_shift);
        for (unsigned t = 0; t < s->nthreads; t++) {
            const bin *bn = &s->w[t].bins[BINS_SUB][b];
            for (uint32_t c = bn->head; c != NO_ID; c = s->chunk_next[c]) {
                const uint16_t *e = s->chunks + (size_t)c * BIN_CHUNK;
                for (size_t x = 0, n = c == bn->tail ? bin_tail_fill(s, bn) : BIN_CHUNK; x < n; x++)
                    block[e[x]]--;
            }
        }
        for (size_t w = w0; w < w1; w++) {
            uint64_t roots = 0;
            for (uint64_t m = member[w]; m; m &= m - 1) {
                uint32_t i = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(m));
                if (gc_refs[i] > GPUGC_MAX_REFCOUNT) {
                    me->corrupt = true;
                } else if (gc_refs[i] > 0) {
                    roots |= m & -m;
                    out_put(s, me, i);
                }
            }
            member[w] &= ~roots;
        }
    }
    out_flush(s, me);
}

/* ---- mark --------------------------------------------------------------- *
 *
 * Narrow frontiers are lists: each reached id is claimed with an atomic
 * and listed.  Wide ones go through the mark bins, by the same blocking as
 * subtract_refs: a scan puts every target into its bin for the target's
 * block, unchecked, and the member that takes a block claims the ids still
 * unreached there (the block's bitmap words are its own: plain accesses)
 * and scans them in id order, so that the per-object arrays stream.  No
 * locked instruction per edge, and no bitmap read at random: 30 ns per
 * object on one thread at 16M objects, against 53 with per-member bitmaps
 * read at random and 58 for the serial marker's scheme (a standalone
 * kernel, same graph).  Blocks are taken in id order, so an id reached in
 * a block not yet taken is scanned in the same sweep (Gauss-Seidel order:
 * fewer sweeps over the arrays than level by level). */

/* Hands on the set members that the slots sl[0..n) reference: into this
 * member's mark bins, unchecked (to_bins); or claimed and listed.  Other
 * members claim too, so a claim is an atomic, except on a solo level; the
 * shared word is read first: most targets were reached long ago, and a
 * load costs far less than a locked instruction (1.5 vs 6-7 ns here). */
static void scan_slots(par_state *s, worker *me, const uint32_t *sl, uint32_t n, bool to_bins) {
    uint64_t *unreached = s->job->garbage;
    for (uint32_t e = 0; e < n; e++) {
        uint32_t j = sl[e];
        if (j == NO_ID)
            continue;
        if (to_bins) {
            bin_put(s, me, BINS_MARK, j);
            continue;
        }
        if (s->level == LEVEL_SOLO) {
            /* Alone: plain accesses, and no branch on whether j is new (a
             * coin flip on most graphs), as in mark/serial.c; the queue has
             * room for the one store past its end. */
            uint64_t *w = &unreached[j >> 6], bit = (*w >> (j & 63)) & 1;
            *w &= ~(bit << (j & 63));
            me->out[me->nout] = j;
            me->nout += bit;
            continue;
        }
        uint64_t bit = UINT64_C(1) << (j & 63);
        if ((__atomic_load_n(&unreached[j >> 6], __ATOMIC_RELAXED) & bit) &&
            (__atomic_fetch_and(&unreached[j >> 6], ~bit, __ATOMIC_RELAXED) & bit))
            out_put(s, me, j);
    }
}

/* Scans set member i, unless it is big (then all members will). */
static inline void scan(par_state *s, worker *me, uint32_t i) {
    const gpugc_heap *h = s->h;
    uint32_t n = h->slot_cnt[i];
    if (!big_defer(s, i, n))
        scan_slots(s, me, h->slots + h->slot_off[i], n, s->bins_out);
}

/* A piece of a big object's slots: into the bins whatever the level writes,
 * so that its (many) targets are claimed block by block, without a locked
 * instruction each. */
static void scan_big(par_state *s, worker *me, const uint32_t *sl, uint32_t n) {
    scan_slots(s, me, sl, n, true);
}

/* Scans ids[0..n), asking for the data of later ones ahead, in two stages
 * as in mark/serial.c: offsets 2*AHEAD on, slots AHEAD on. */
static void scan_ids(par_state *s, worker *me, const uint32_t *ids, size_t n) {
    gpugc_heap *h = s->h;
    for (size_t k = 0; k < n; k++) {
        if (k + 2 * AHEAD < n) {
            PREFETCH(&h->slot_off[ids[k + 2 * AHEAD]]);
            PREFETCH(&h->slot_cnt[ids[k + 2 * AHEAD]]);
        }
        if (k + AHEAD < n)
            PREFETCH(&h->slots[h->slot_off[ids[k + AHEAD]]]);
        scan(s, me, ids[k]);
    }
}

/* A narrow list, on member 0 alone while the others wait: breadth first
 * through a queue (the next list) without barriers, until the queue is
 * wide enough to share, or empty.  A long chain runs here entirely, at the
 * serial marker's pace. */
static void level_solo(par_state *s, worker *me) {
    uint32_t *q = s->front[s->next_front];
    me->out = q;
    me->outcap = SIZE_MAX;
    scan_ids(s, me, s->cur, s->ncur);
    size_t head = 0;
    while (head < me->nout && me->nout - head < SOLO_EXIT) {
        size_t end = me->nout;
        scan_ids(s, me, q + head, end - head);
        head = end;
    }
    s->solo_head = head;
    atomic_store_explicit(&s->next_n, me->nout, memory_order_relaxed);
    me->out = me->buf;
    me->outcap = OUT_BUF;
    me->nout = 0;
}

/* A list level: the list is shared out in small pieces. */
static void level_list(par_state *s, worker *me) {
    for (size_t k; (k = grab(s, GRAB_LEVEL, FRONT_GRAB)) < s->ncur;)
        scan_ids(s, me, s->cur + k, s->ncur - k < FRONT_GRAB ? s->ncur - k : FRONT_GRAB);
}

static inline cursor *cursor_of(par_state *s, size_t b, unsigned t) {
    return &s->cursors[b * s->cursor_row + t];
}

/* Reads what every member has published for block b since the last read,
 * claims the ids still unreached into me->local, and returns how many. */
static size_t take_block(par_state *s, worker *me, size_t b) {
    uint64_t *unreached = s->job->garbage + (b << s->block_shift) / 64;
    size_t claimed = 0;
    for (unsigned t = 0; t < s->nthreads; t++) {
        const bin *bn = &s->w[t].bins[BINS_MARK][b];
        cursor *cu = cursor_of(s, b, t);
        size_t avail = atomic_load_explicit(&bn->published, memory_order_acquire);
        while (cu->taken < avail) {
            if (cu->chunk == NO_ID) {
                cu->chunk = bn->head;
                cu->off = 0;
            } else if (cu->off == BIN_CHUNK) {
                cu->chunk = s->chunk_next[cu->chunk];
                cu->off = 0;
            }
            size_t n = BIN_CHUNK - cu->off;
            if (n > avail - cu->taken)
                n = avail - cu->taken;
            const uint16_t *e = s->chunks + (size_t)cu->chunk * BIN_CHUNK + cu->off;
            for (size_t x = 0; x < n; x++) {
                /* Claimed or not is a coin flip: no branch. */
                unsigned j = e[x];
                uint64_t hit = unreached[j >> 6] & (UINT64_C(1) << (j & 63));
                unreached[j >> 6] ^= hit;
                me->local[j >> 6] |= hit;
                claimed += hit != 0;
            }
            cu->off += (uint32_t)n;
            cu->taken += n;
        }
    }
    return claimed;
}

/* Empties me->local (block b's claimed ids), in id order: scans them, or
 * lists them. */
static void drain_block(par_state *s, worker *me, size_t b, bool scan_them) {
    size_t base = (b << s->block_shift) / 64, nw = s->words - base, nb = 0;
    if (nw > s->block_words)
        nw = s->block_words;
    for (size_t x = 0; x < nw; x++) {
        uint64_t f = me->local[x];
        if (!f)
            continue;
        me->local[x] = 0;
        for (; f; f &= f - 1)
            me->batch[nb++] = (uint32_t)((base + x) * 64 + (unsigned)__builtin_ctzll(f));
        if (nb > BATCH - 64 || x + 1 == nw) {
            if (scan_them)
                scan_ids(s, me, me->batch, nb);
            else
                for (size_t k = 0; k < nb; k++)
                    out_put(s, me, me->batch[k]);
            nb = 0;
        }
    }
    if (nb) {
        if (scan_them)
            scan_ids(s, me, me->batch, nb);
        else
            for (size_t k = 0; k < nb; k++)
                out_put(s, me, me->batch[k]);
    }
}

/* A bins level: blocks are taken in id order, each claimed and scanned
 * (sweep) or listed (collect).  A sweep takes its block again while scans
 * keep reaching ids in it, this member's own included. */
static void level_bins(par_state *s, worker *me, bool scan_them) {
    for (size_t b; (b = grab(s, GRAB_LEVEL, 1)) < s->nblocks;) {
        while (take_block(s, me, b)) {
            drain_block(s, me, b, scan_them);
            if (!scan_them)
                break;
            bins_publish(s, me);
        }
    }
}

/* The first set member, in set order, whose gc_refs went below zero: the
 * one the serial reference names. */
static int report_corrupt(par_state *s) {
    const uint32_t *gc_refs = s->h->gc_refs;
    for (size_t k = 0;; k++) {
        uint32_t i = s->job->set[k];
        if (gc_refs[i] > GPUGC_MAX_REFCOUNT)
            return gpugc__set_error(s->h, GPUGC_ECORRUPT,
                             "gpugc_collect: object %u has %u more references from slots than its count",
                             i, 0u - gc_refs[i]);
    }
}

/* Ids in the mark bins not claimed yet (reached, maybe already claimed by
 * another route). */
static size_t bins_pending(par_state *s) {
    size_t n = 0;
    for (unsigned t = 0; t < s->nthreads; t++)
        for (size_t b = 0; b < s->nblocks; b++)
            n += bin_count(s, &s->w[t].bins[BINS_MARK][b]) - cursor_of(s, b, t)->taken;
    return n;
}

/* Member 0, between the barrier that ends a level and the one that starts
 * the next: what the next level reads and writes.  The last level left a
 * list, ids in the mark bins, or both (big objects' targets go to the
 * bins).  A list is scanned, into the bins when there are ids there
 * already or when it has at least as many ids as the bitmap has words;
 * bins are swept, or collected into a list when they hold fewer: a sweep
 * visits every block, worth it only for many ids. */
static void next_level(par_state *s) {
    atomic_store_explicit(&s->nbigs, 0, memory_order_relaxed);
    atomic_store_explicit(&s->grab[GRAB_LEVEL], 0, memory_order_relaxed);
    if (s->level == LEVEL_ROOTS) {
        for (unsigned t = 0; t < s->nthreads; t++) {
            if (s->w[t].corrupt) {
                s->status = report_corrupt(s);
                s->level = LEVEL_DONE;
                return;
            }
        }
        /* subtract_refs' bins are read: their chunks serve the mark. */
        atomic_store_explicit(&s->chunks_used, 0, memory_order_relaxed);
    }
    size_t n = atomic_load_explicit(&s->next_n, memory_order_relaxed) - s->solo_head;
    s->cur = s->front[s->next_front] + s->solo_head;
    s->ncur = n;
    s->solo_head = 0;
    s->next_front ^= 1;
    atomic_store_explicit(&s->next_n, 0, memory_order_relaxed);
    size_t pending = bins_pending(s);
    if (n) {
        s->bins_out = pending || n >= s->words;
        s->level = !s->bins_out && n <= SOLO_ENTER && s->nthreads > 1 ? LEVEL_SOLO : LEVEL_LIST;
    } else if (pending) {
        s->bins_out = pending >= s->words;
        s->level = s->bins_out ? LEVEL_SWEEP : LEVEL_COLLECT;
    } else {
        s->level = LEVEL_DONE;
    }
}

/* ---- the run ------------------------------------------------------------ */

/* What this member reached this level goes where the next level reads it;
 * then it waits for the others. */
static void level_end(par_state *s, worker *me) {
    bins_publish(s, me);
    out_flush(s, me);
    gpugc__tpool_barrier(&s->team);
}

/* The whole mark phase, on every member; passes and levels are separated
 * by barriers, and member 0 keeps the time.  A pass that left big objects
 * has them shared out before the next barrier. */
static void mark_phase(void *arg, unsigned m) {
    par_state *s = arg;
    worker *me = &s->w[m];
    set_pass(s, me);
    gpugc__tpool_barrier(&s->team);
    if (atomic_load_explicit(&s->nbigs, memory_order_relaxed)) {
        bigs_share(s, me, bin_slots);
        gpugc__tpool_barrier(&s->team);
    }
    if (m == 0)
        s->t_set = gpugc__now_ns();
    block_pass(s, me);
    gpugc__tpool_barrier(&s->team);
    if (m == 0)
        s->t_blocks = gpugc__now_ns();
    for (;;) {
        if (m == 0)
            next_level(s);
        gpugc__tpool_barrier(&s->team);
        switch (s->level) {
        case LEVEL_SOLO:
            if (m == 0)
                level_solo(s, me);
            break;
        case LEVEL_LIST: level_list(s, me); break;
        case LEVEL_SWEEP: level_bins(s, me, true); break;
        case LEVEL_COLLECT: level_bins(s, me, false); break;
        case LEVEL_ROOTS: break;
        case LEVEL_DONE: return;
        }
        level_end(s, me);
        if (atomic_load_explicit(&s->nbigs, memory_order_relaxed)) {
            bigs_share(s, me, scan_big);
            level_end(s, me);
        }
    }
}

/* Grows *p to hold n elements of `size` bytes if it holds fewer (*cap);
 * the old contents are not kept. */
static int scratch(gpugc_heap *h, void **p, size_t *cap, size_t n, size_t size) {
    if (n <= *cap)
        return GPUGC_OK;
    free(*p);
    *cap = 0;
    if (!(*p = gpugc__heap_malloc(h, n * size, "gpugc_collect (cpu-parallel scratch)")))
        return GPUGC_ENOMEM;
    *cap = n;
    return GPUGC_OK;
}

/* Sizes this collection's blocks and scratch, and resets the counters.
 * Before: nset > 0. */
static int prepare(par_state *s, gpugc_heap *h, const mark_job *job) {
    s->h = h;
    s->job = job;
    /* At least four blocks per member where blocks of 2^BLOCK_SHIFT_MIN
     * ids allow it, for balance. */
    size_t last = h->nids - 1;
    s->block_shift = BLOCK_SHIFT_MAX;
    while (s->block_shift > BLOCK_SHIFT_MIN && (last >> s->block_shift) + 1 < 4u * s->nthreads)
        s->block_shift--;
    s->nblocks = (last >> s->block_shift) + 1;
    s->words = ((size_t)h->nids + 63) / 64;
    s->block_words = ((size_t)1 << s->block_shift) / 64;
    s->cursor_row = (s->team.n + 3) & ~(size_t)3; /* 4 cursors: 64 bytes */
    /* Each use of the bins, subtract_refs' and the mark's, holds at most
     * the set's slots (h->ss.top bounds them) plus one chunk not full per
     * bin. */
    size_t chunks = h->ss.top / BIN_CHUNK + 1 + s->team.n * s->nblocks;
    size_t locals_was = s->locals_cap;
    /* Rows of 8 bins (5 cache lines) per member and set. */
    size_t bins = (s->nblocks + 7) & ~(size_t)7;
    if (scratch(h, (void **)&s->chunks, &s->chunks_cap, chunks,
                BIN_CHUNK * sizeof(uint16_t) + sizeof(uint32_t)) ||
        scratch(h, (void **)&s->binv, &s->bins_cap, bins, BIN_SETS * s->team.n * sizeof(bin)) ||
        scratch(h, (void **)&s->front[0], &s->front_cap, job->nset + 1, 2 * sizeof(uint32_t)) ||
        scratch(h, (void **)&s->cursors, &s->cursors_cap, s->nblocks * s->cursor_row, sizeof(cursor)) ||
        scratch(h, (void **)&s->locals, &s->locals_cap, s->block_words, s->team.n * sizeof(uint64_t)) ||
        scratch(h, (void **)&s->bigs, &s->bigs_cap, h->ss.top / SPLIT + 1, sizeof(big)))
        return GPUGC_ENOMEM;
    if (s->locals_cap != locals_was)
        memset(s->locals, 0, s->locals_cap * s->team.n * sizeof *s->locals);
    s->chunk_next = (uint32_t *)(s->chunks + s->chunks_cap * BIN_CHUNK);
    s->front[1] = s->front[0] + s->front_cap;
    for (size_t c = 0; c < s->nblocks * s->cursor_row; c++)
        s->cursors[c] = (cursor){NO_ID, 0, 0};
    for (unsigned t = 0; t < s->nthreads; t++) {
        worker *w = &s->w[t];
        for (int k = 0; k < BIN_SETS; k++)
            w->bins[k] = s->binv + (t * BIN_SETS + k) * s->bins_cap;
        w->local = s->locals + t * s->locals_cap;
        w->corrupt = false;
        w->out = w->buf;
        w->nout = 0;
        w->outcap = OUT_BUF;
    }
    for (int g = 0; g < GRAB_COUNT; g++)
        atomic_store_explicit(&s->grab[g], 0, memory_order_relaxed);
    atomic_store_explicit(&s->next_n, 0, memory_order_relaxed);
    atomic_store_explicit(&s->chunks_used, 0, memory_order_relaxed);
    atomic_store_explicit(&s->nbigs, 0, memory_order_relaxed);
    s->level = LEVEL_ROOTS;
    s->next_front = 0;
    s->solo_head = 0;
    s->bins_out = false;
    s->status = GPUGC_OK;
    return GPUGC_OK;
}

/* Members for a set of n objects: one per per_member objects, up to the
 * team (less one, at least one, when the program runs beside: a third
 * thread on two cores took the program's core for 4-5 ms at a time, its
 * longest step, on a 4M heap); none when that leaves one and n <
 * ONE_MEMBER_MIN, where one member alone is slower than the serial
 * marker.  per_member 0: the whole team.
 * (On the 2-core machine measured, random graphs of degree 2, mark phase
 * per object: two members beat the serial marker from about 300k objects,
 * 21 vs 20 ns at 250k, 26 vs 31 at 350k; one member from about 1M, 29 vs
 * 31 ns at 1M, 28 vs 39 at 4M.) */
static unsigned members_for(const par_state *s, size_t n, bool beside) {
    unsigned team = beside && s->team.n > 1 ? s->team.n - 1 : s->team.n;
    if (s->per_member == 0)
        return team;
    size_t m = n / s->per_member;
    if (m > team)
        m = team;
    return m == 1 && n < ONE_MEMBER_MIN ? 0 : (unsigned)m;
}

/* A set that gets no member runs on the serial reference, whole. */
static int par_mark(gpugc_heap *h, void *state, const mark_job *job) {
    par_state *s = state;
    gpugc_collection_stats *st = job->stats;
    s->nthreads = members_for(s, job->nset, job->beside);
    if (job->nset == 0 || s->nthreads == 0)
        return gpugc__backend_cpu.mark(h, NULL, job);
    int status = prepare(s, h, job);
    if (status != GPUGC_OK)
        return status;
    uint64_t t0 = gpugc__now_ns();
    gpugc__tpool_run(&s->team, s->nthreads, mark_phase, s);
    uint64_t t3 = gpugc__now_ns();
    st->edges = 0;
    for (unsigned t = 0; t < s->nthreads; t++)
        st->edges += s->w[t].edges;
    st->ns_update_refs = s->t_set - t0;
    st->ns_subtract_refs = s->t_blocks - s->t_set;
    st->ns_mark = t3 - s->t_blocks;
    return s->status;
}

/* ---- the team ----------------------------------------------------------- */

static void par_destroy(gpugc_heap *h, void *state) {
    (void)h;
    par_state *s = state;
    gpugc__tpool_stop(&s->team);
    free(s->chunks);
    free(s->binv);
    free(s->front[0]);
    free(s->cursors);
    free(s->locals);
    free(s->bigs);
    free(s->w_mem);
    free(s);
}

static int par_create(gpugc_heap *h, void **state) {
    unsigned n = gpugc__heap_threads(h);
    int status = GPUGC_OK;
    par_state *s = gpugc__heap_malloc(h, sizeof *s, "cpu-parallel (state)");
    if (!s)
        return GPUGC_ENOMEM;
    memset(s, 0, sizeof *s);
    s->per_member = h->cfg.objects_per_thread;
    size_t align = _Alignof(worker);
    s->w_mem = gpugc__heap_malloc(h, n * sizeof *s->w + align - 1, "cpu-parallel (state)");
    if (!s->w_mem || (status = gpugc__tpool_start(h, &s->team, n)) != GPUGC_OK) {
        par_destroy(h, s);
        return status != GPUGC_OK ? status : GPUGC_ENOMEM;
    }
    s->w = (worker *)(((uintptr_t)s->w_mem + align - 1) & ~(uintptr_t)(align - 1));
    *state = s;
    return GPUGC_OK;
}

const backend_ops gpugc__backend_cpu_parallel = {
    .name = "cpu-parallel",
    .kind = GPUGC_BACKEND_CPU_PARALLEL,
    .create = par_create,
    .destroy = par_destroy,
    .mark = par_mark,
};

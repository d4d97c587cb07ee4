/* collect.c - the cycle collector: choosing the set, running the backend's
 * mark phase (falling back to the serial reference if it fails), promoting
 * survivors, and the sweep, which stays on the CPU.
 *
 * Sweep stages, in this order (PEP 442, CPython's handle_weakrefs):
 *   pin        every garbage object gets one extra count, so no callback
 *              can free one of them through reference counting
 *   weakrefs   every weak reference to the whole garbage is cleared, then
 *              their callbacks run (no new one can be made to garbage)
 *   finalize   each finalizer runs at most once per object, ever
 *   recheck    whenever any callback or finalizer ran, reachability among
 *              the garbage is computed again with the reference marker;
 *              what became reachable survives with all it reaches
 *   save       under GPUGC_DEBUG_SAVEALL the rest moves to the garbage
 *              list, its pin becoming the list's count
 *   destroy    otherwise every remaining object's destroy callback runs;
 *              meanwhile no new reference to one can be taken (EBUSY)
 *   release    references from garbage to survivors are dropped, garbage
 *              memory is freed, and the reference-count cascade runs
 */
#include "collect.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gen.h"
#include "ids.h"
#include "mark/backend.h"
#include "object.h"
#include "python/control.h"
#include "snapshot.h"
#include "weakref.h"

/* Runs the backend chosen for this collection; if it fails for any reason
 * but corrupt counts, reports the failure and runs the serial reference. */
static int run_mark(gpugc_heap *h, const backend_ops *ops, mark_job *job) {
    for (size_t k = 0; k < job->nset; k++) /* backend.h's "all zero on entry" */
        GPUGC_ASSERT(!bit_get(job->garbage, job->set[k]));
    job->stats->backend = (int32_t)ops->kind;
    int st = gpugc__fault_fires(h, GPUGC_FAULT_MARK)
                 ? gpugc__set_error(h, GPUGC_EFAULT, "gpugc_collect: mark phase failed (injected fault)")
                 : ops->mark(h, h->be[ops->kind].state, job);
    if (st == GPUGC_OK || st == GPUGC_ECORRUPT || ops == &gpugc__backend_cpu)
        return st;
    gpugc__set_error(h, GPUGC_EDEVICE, "gpugc_collect: the %s backend failed (%s); marking on the CPU",
              ops->name, gpugc_strerror(st));
    for (size_t k = 0; k < job->nset; k++)
        bit_clear(job->garbage, job->set[k]);
    /* The figures name the backend whose marks are used: the reference. */
    job->stats->backend = GPUGC_BACKEND_CPU;
    job->stats->fallback = 1;
    return gpugc__backend_cpu.mark(h, NULL, job);
}

/* Survivors of generations 0..g join generation `target` (g + 1, or 2).
 * The capacity of the target list was reserved, so this cannot fail. */
static void promote(gpugc_heap *h, int g, uint32_t target) {
    for (int s = 0; s <= g; s++)
        if ((uint32_t)s != target)
            gpugc__gen_merge(h, (uint32_t)s, target);
}

/* ---- the sweep ----------------------------------------------------------- */

/* Runs the finalizer of every member of garbage[0..n) that has one and has
 * never run it (PEP 442: once per object, ever).  True if any ran. */
static bool finalize_garbage(gpugc_heap *h, const uint32_t *garbage, size_t n) {
    bool ran = false;
    for (size_t k = 0; k < n; k++)
        if (gpugc__object_finalize(h, garbage[k]))
            ran = true;
    return ran;
}

/* Reachability among the garbage alone, computed again after callbacks ran.
 * Before: garbage[0..n) pinned (one extra count each), their bits set;
 *         the pending list is empty (gc_refs is the mark's scratch).
 * After:  a member anything outside the garbage now references (C code, a
 *         live slot, the garbage list), and all it reaches, is resurrected:
 *         unpinned, its bit clear.  The rest stay pinned with bits set,
 *         moved to garbage[0..return value).  If the mark fails for want
 *         of memory, all of it is resurrected and only what no reference
 *         holds is released by its count, which is always safe. */
static size_t recheck(gpugc_heap *h, uint32_t *garbage, size_t n) {
    GPUGC_ASSERT(h->pending == NO_ID);
    for (size_t k = 0; k < n; k++) {
        h->rc[garbage[k]]--;
        bit_clear(h->garbage, garbage[k]);
    }
    gpugc_collection_stats scratch = {0};
    mark_job job = {garbage, n, GPUGC_GENERATIONS - 1, h->garbage, &scratch, false};
    if (gpugc__backend_cpu.mark(h, NULL, &job) != GPUGC_OK) {
        for (size_t k = 0; k < n; k++) {
            bit_clear(h->garbage, garbage[k]);
            h->rc[garbage[k]]++;
            gpugc__drop_ref(h, garbage[k]);
        }
        return 0;
    }
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t id = garbage[k];
        if (bit_get(h->garbage, id)) {
            garbage[kept++] = id;
            h->rc[id]++;
        }
    }
    return kept;
}

/* How far ahead free_garbage asks for the data of the garbage it frees:
 * the garbage is scattered over the heap, and without it each object
 * costs a few cache misses in turn (pylike 1M: 150k garbage objects freed
 * in 22 ms, 149 ns each, three quarters of it waiting for the payload
 * header). */
#define SWEEP_AHEAD 16

/* Destroys and frees garbage[0..n), pinned, their bits set: every destroy
 * runs first, while no slot has changed; then the references from the
 * garbage to survivors are dropped, and the memory goes. */
static void free_garbage(gpugc_heap *h, const uint32_t *garbage, size_t n) {
    h->busy |= BUSY_FREEING; /* no new reference to a member: counted_id */
    for (size_t k = 0; k < n; k++) {
        if (k + SWEEP_AHEAD < n)
            PREFETCH(&h->meta[garbage[k + SWEEP_AHEAD]]);
        gpugc__object_destroy(h, garbage[k]);
    }
    h->busy &= ~BUSY_FREEING;
    /* Three stages ahead: an object's slot range, then its slots, then
     * the counts of their targets. */
    for (size_t k = 0; k < n; k++) {
        if (k + 2 * SWEEP_AHEAD < n) {
            PREFETCH(&h->slot_off[garbage[k + 2 * SWEEP_AHEAD]]);
            PREFETCH(&h->slot_cnt[garbage[k + 2 * SWEEP_AHEAD]]);
        }
        if (k + SWEEP_AHEAD < n)
            PREFETCH(&h->slots[h->slot_off[garbage[k + SWEEP_AHEAD]]]);
        if (k + SWEEP_AHEAD / 2 < n) {
            uint32_t a = garbage[k + SWEEP_AHEAD / 2];
            for (uint32_t e = 0, c = h->slot_cnt[a]; e < c; e++)
                if (h->slots[h->slot_off[a] + e] != NO_ID)
                    PREFETCH(&h->rc[h->slots[h->slot_off[a] + e]]);
        }
        gpugc__drop_slot_refs(h, h->slot_off[garbage[k]], h->slot_cnt[garbage[k]], h->garbage);
    }
    /* Two stages: the payload address, then the block's header and its
     * pool's. */
    for (size_t k = 0; k < n; k++) {
        if (k + 2 * SWEEP_AHEAD < n)
            PREFETCH(&h->addr[garbage[k + 2 * SWEEP_AHEAD]]);
        if (k + SWEEP_AHEAD < n) {
            const obj_header *hd = (const obj_header *)h->addr[garbage[k + SWEEP_AHEAD]] - 1;
            PREFETCH(hd);
            PREFETCH(block_pool(hd));
        }
        bit_clear(h->garbage, garbage[k]);
        gpugc__object_free(h, garbage[k]);
    }
}

/* The sweep, in CPython's order (DESIGN.md section 9).
 * Before: garbage[0..n) are unreachable, their bits set, promoted; with
 *         `save`, h->saved has room for n more.
 * After:  whatever a callback or finalizer resurrected (bits cleared)
 *         survives with all it reaches; the rest is saved (*saved says how
 *         many) or destroyed and freed, bits cleared; no live slot names a
 *         freed id.  Returns how many were freed. */
static uint64_t sweep(gpugc_heap *h, uint32_t *garbage, size_t n, bool save, uint64_t *saved) {
    for (size_t k = 0; k < n; k++)
        GPUGC_ASSERT(bit_get(h->garbage, garbage[k]));
    h->busy |= BUSY_COLLECTING;
    for (size_t k = 0; k < n; k++)
        h->rc[garbage[k]]++;
    /* Program code that has seen the garbage may have kept some of it: the
     * debug output function (it is given addresses), weak-reference
     * callbacks and finalizers.  Without any, the mark's answer stands. */
    bool ran = h->debug & GPUGC_DEBUG_COLLECTABLE;
    if (h->weak && gpugc__weak_clear(h, garbage, n) > 0)
        ran = true;
    if (finalize_garbage(h, garbage, n))
        ran = true;
    if (ran)
        n = recheck(h, garbage, n);
    uint64_t freed = 0;
    if (save) {
        for (size_t k = 0; k < n; k++) {
            bit_clear(h->garbage, garbage[k]);
            h->saved.v[h->saved.n++] = garbage[k];
            if (h->debug & GPUGC_DEBUG_UNCOLLECTABLE)
                gpugc__debug_object(h, "uncollectable", garbage[k]);
        }
        *saved = n;
    } else {
        free_garbage(h, garbage, n);
        freed = n;
    }
    h->busy &= ~BUSY_COLLECTING;
    gpugc__release_pending(h);
    return freed;
}

/* ---- a collection ---------------------------------------------------------- */

/* The set of a collection of generations 0..g.  Room is made first in the
 * generation survivors join (`target`) and, with `save`, in the garbage
 * list, so that nothing can fail once garbage is known.  A full collection
 * promotes first, and its set is the oldest generation's own list: no copy
 * (*owned false; promote_undo puts the young back if the mark fails).  A
 * young one's set is a new array (*owned true), since promotion changes
 * the generations the mark reads.  GPUGC_ENOMEM (reported) when memory is
 * short: nothing changed. */
static int build_set(gpugc_heap *h, int g, uint32_t target, bool save, uint32_t **out, size_t *n,
                     bool *owned) {
    size_t count = 0, moved = 0;
    for (int s = 0; s <= g; s++) {
        count += h->gen[s].members;
        if ((uint32_t)s != target)
            moved += h->gen[s].members;
    }
    if (!gpugc__vec_reserve(h, &h->gen[target].ids, moved, "gpugc_collect") ||
        (save && !gpugc__vec_reserve(h, &h->saved, count, "gpugc_collect (garbage list)")))
        return GPUGC_ENOMEM;
    *n = count;
    if (g == GPUGC_GENERATIONS - 1) {
        gpugc__gen_compact(h, target);
        promote(h, g, target);
        *owned = false;
        *out = h->gen[target].ids.v;
        return GPUGC_OK;
    }
    uint32_t *set = gpugc__heap_malloc(h, count * sizeof *set + 1, "gpugc_collect (set)");
    if (!set)
        return GPUGC_ENOMEM;
    size_t k = 0;
    for (uint32_t s = 0; s <= (uint32_t)g; s++)
        for (size_t e = 0; e < h->gen[s].ids.n; e++)
            if (gen_listed(h, s, e))
                set[k++] = h->gen[s].ids.v[e];
    GPUGC_ASSERT(k == count);
    *owned = true;
    *out = set;
    return GPUGC_OK;
}

/* Undoes a full collection's promotion of young[s] members of each younger
 * generation s, which promote appended in order of s. */
static void promote_undo(gpugc_heap *h, const size_t young[GPUGC_GENERATIONS]) {
    for (int s = GPUGC_GENERATIONS - 2; s >= 0; s--)
        gpugc__gen_move_tail(h, GPUGC_GENERATIONS - 1, (uint32_t)s, young[s]);
}

/* The garbage of a collection whose marks are in h->garbage: the set's
 * members with their bit set.  A young set is compacted in place; a full
 * collection's (the oldest generation's list, which the sweep changes)
 * gives a new array, listed from the bitmap in id order, whose words are
 * zero for the live heap.  NULL (reported) when memory is short. */
static uint32_t *list_garbage(gpugc_heap *h, uint32_t *set, size_t n, bool owned, size_t *ng) {
    size_t found = 0;
    if (owned) {
        for (size_t k = 0; k < n; k++)
            if (bit_get(h->garbage, set[k]))
                set[found++] = set[k];
        *ng = found;
        return set;
    }
    size_t words = ((size_t)h->nids + 63) / 64;
    for (size_t w = 0; w < words; w++)
        found += (size_t)__builtin_popcountll(h->garbage[w]);
    uint32_t *garbage = gpugc__heap_malloc(h, found * sizeof *garbage + 1, "gpugc_collect (garbage)");
    if (!garbage)
        return NULL;
    size_t k = 0;
    for (size_t w = 0; w < words && k < found; w++)
        for (uint64_t b = h->garbage[w]; b; b &= b - 1)
            garbage[k++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(b));
    *ng = found;
    return garbage;
}

/* The generations' counters once a collection of 0..g has found what of
 * its set it keeps (CPython's rules for when the next collection of each
 * generation is due), before the sweep: what its callbacks allocate counts
 * towards the next one. */
static void count_collection(gpugc_heap *h, int g, size_t kept) {
    if (g + 1 < GPUGC_GENERATIONS)
        h->gen[g + 1].count++;
    for (int s = 0; s <= g; s++)
        h->gen[s].count = 0;
    if (g == GPUGC_GENERATIONS - 2)
        h->long_lived_pending += kept;
}

/* Records the figures of a finished collection: h->last and the
 * generation's cumulative ones. */
static void record(gpugc_heap *h, const gpugc_collection_stats *st, uint64_t saved) {
    h->last = *st;
    h->have_last = true;
    gpugc_gen_stats *gs = &h->gen[st->generation].stats;
    gs->collections++;
    gs->collected += st->collected;
    gs->uncollectable += saved;
    gs->candidates += st->objects;
    gs->duration_ns += st->ns_total;
    if (h->validate && gpugc_validate(h) != GPUGC_OK) {
#ifdef GPUGC_DEBUG
        abort(); /* the validator has reported what broke */
#endif
    }
}

/* The end of a collection of generations 0..st->generation whose set of n
 * left garbage[0..ng) (bits set, promoted): its counters, the sweep and
 * its figures.  t1: when the sweep's share of the time began.  Returns
 * when the sweep ended. */
static uint64_t conclude(gpugc_heap *h, gpugc_collection_stats *st, size_t n, uint32_t *garbage,
                         size_t ng, bool save, uint64_t *saved, uint64_t t1) {
    int g = st->generation;
    count_collection(h, g, n - ng);
    st->objects = n;
    st->unreachable = ng;
    if (h->debug & GPUGC_DEBUG_COLLECTABLE)
        for (size_t k = 0; k < ng; k++)
            gpugc__debug_object(h, "collectable", garbage[k]);
    st->collected = sweep(h, garbage, ng, save, saved);
    st->resurrected = ng - st->collected - *saved;
    if (g == GPUGC_GENERATIONS - 1) { /* the old heap as the sweep left it */
        h->long_lived_pending = 0;
        h->long_lived_total = h->gen[g].members;
    }
    uint64_t t2 = gpugc__now_ns();
    st->ns_sweep = t2 - t1;
    return t2;
}

/* What the STOP callbacks are told of a collection that found `found`
 * (h->last's figures when it succeeded). */
static gpugc_collect_info stop_info(const gpugc_heap *h, int g, int64_t found, uint64_t saved) {
    gpugc_collect_info info = {.generation = g, .backend = h->backend};
    if (found >= 0) {
        info.uncollectable = saved;
        info.collected = h->last.collected;
        info.candidates = h->last.objects;
        info.duration_ns = h->last.ns_total;
        info.backend = (gpugc_backend)h->last.backend;
    }
    return info;
}

/* Collection of generations 0..g, in the stages the file's header names.
 * Before: not collecting; every garbage bit clear; the pending list empty.
 * After:  the same; h->last, *saved (objects moved to the garbage list) and
 *         the generation's figures are filled.  Changes nothing unless the
 *         mark phase succeeds. */
static int64_t collect_generations(gpugc_heap *h, int g, uint64_t *saved) {
    GPUGC_ASSERT(!(h->busy & BUSY_COLLECTING) && h->pending == NO_ID);
    gpugc_collection_stats st = {0};
    uint64_t t0 = gpugc__now_ns();
    st.generation = g;
    uint32_t target = g + 1 < GPUGC_GENERATIONS ? (uint32_t)g + 1 : (uint32_t)g;
    bool save = h->debug & GPUGC_DEBUG_SAVEALL, owned;
    size_t n = 0, young[GPUGC_GENERATIONS] = {0}, ng = 0;
    for (int s = 0; s + 1 < GPUGC_GENERATIONS; s++)
        young[s] = h->gen[s].members;
    uint32_t *set;
    if (build_set(h, g, target, save, &set, &n, &owned) != GPUGC_OK)
        return GPUGC_ENOMEM;

    /* Program code run meanwhile (an error handler) may not change the
     * heap: the marks are being computed from it. */
    h->busy |= BUSY_MARKING;
    mark_job job = {set, n, g, h->garbage, &st, false};
    int status = run_mark(h, gpugc__backend_for(h, n), &job);
    uint32_t *garbage = status == GPUGC_OK ? list_garbage(h, set, n, owned, &ng) : NULL;
    h->busy &= ~BUSY_MARKING;
    if (!garbage) {
        for (size_t k = 0; k < n; k++)
            bit_clear(h->garbage, set[k]);
        if (owned)
            free(set);
        else
            promote_undo(h, young);
        return status != GPUGC_OK ? status : GPUGC_ENOMEM;
    }

    uint64_t t1 = gpugc__now_ns();
    if (owned)
        promote(h, g, target);
    st.ns_total = conclude(h, &st, n, garbage, ng, save, saved, t1) - t0;
    free(garbage);
    record(h, &st, *saved);
    return (int64_t)ng;
}

/* One collection with its callbacks and debug figures around it. */
static int64_t collect(gpugc_heap *h, int g) {
    gpugc_collect_info info = {.generation = g, .backend = h->backend};
    gpugc__run_callbacks(h, GPUGC_PHASE_START, &info);
    if (h->debug & GPUGC_DEBUG_STATS) {
        gpugc__debug_print(h, "gpugc: collecting generation %d...\n", g);
        gpugc__debug_print(h, "gpugc: objects in each generation: %zu %zu %zu\n", h->gen[0].members,
                    h->gen[1].members, h->gen[2].members);
        gpugc__debug_print(h, "gpugc: objects in permanent generation: %zu\n",
                    h->gen[PERMANENT_GEN].members);
    }
    uint64_t saved = 0;
    int64_t found = collect_generations(h, g, &saved);
    if (found >= 0 && (h->debug & GPUGC_DEBUG_STATS))
        gpugc__debug_print(h, "gpugc: done, %lld unreachable, %llu uncollectable, %.4fs elapsed\n",
                           (long long)found, (unsigned long long)saved, h->last.ns_total / 1e9);
    info = stop_info(h, g, found, saved);
    gpugc__run_callbacks(h, GPUGC_PHASE_STOP, &info);
    return found;
}

/* ---- background collections -------------------------------------------- *
 *
 * A start takes the snapshot (snapshot.h) and the set, and hands them to
 * a collector thread, which runs the chosen backend's mark on a shadow
 * heap whose arrays are the snapshot's: the thread reads and writes only
 * the snapshot, the set and its own figures (after it has copied what the
 * start left to copy, with the program's changes going through barriers:
 * snapshot.h), so the program may change the heap meanwhile.  The finish,
 * on the program's thread, takes the marks: the set members they call
 * unreachable that are still alive (none of their ids was reused: freed
 * ids wait, ids.h) are pinned and swept with reachability computed again
 * first, which keeps whatever the program reached again
 * (gpugc_weakref_get) with all it reaches. */

/* The first start's copy of the snapshot (the whole of it, in the pause)
 * comes in shares of SHARE_MIN ids at least, one per thread the heap may
 * run (gpugc__heap_threads), and two at least: the program's thread
 * copies share 0, the collector thread share 1, short-lived helper threads
 * the others.  A share of 256k ids (and their slots) takes far longer to
 * copy than a thread takes to start.  A later start's pause only moves
 * the device cards, in two shares. */
#define SHARE_MIN (1u << 18)
#define MAX_SHARES 16u

typedef struct background {
    gpugc_heap shadow;        /* marks the snapshot                         */
    const backend_ops *ops;
    struct snapshot *snap;    /* h->snap, which only the thread touches
                                 while it runs                             */
    mark_job job;
    gpugc_collection_stats st;
    uint32_t *set;            /* generations 0..g at the start, those that
                                 move to the target first                  */
    size_t nset, nyoung;      /* set[0..nyoung) move to the target          */
    uint32_t *garbage;        /* the thread's answer: the unreachable       */
    size_t ngarbage;
    int status;               /* the mark's                                 */
    int err_status;           /* the last error the mark reported, told to
                                 the program's handler at the finish       */
    char err_msg[sizeof ((gpugc_heap *)0)->errmsg];
    pthread_t thread;
    bool threaded;
    bool automatic;           /* started by an allocation (cfg.concurrent),
                                 so finished by one once the mark is done  */
    gpugc_heap *heap;         /* the heap, read by the copying threads only
                                 while they copy their shares (the rest of
                                 the copy reads the arrays the snapshot
                                 names)                                    */
    unsigned parts;           /* shares of the start's copy                 */
    atomic_uint copied;       /* shares copied so far                       */
    struct share {
        struct background *bg;
        unsigned part;
        pthread_t thread;
        bool threaded;
    } helper[MAX_SHARES];     /* shares 2 .. parts - 1                      */
    atomic_int done;
    uint64_t t_start;
} background;

/* The shadow's error handler: program code runs on the program's thread
 * only, so the mark's reports wait for the finish. */
static void record_error(gpugc_heap *shadow, int status, const char *message, void *data) {
    (void)shadow;
    background *bg = data;
    bg->err_status = status;
    snprintf(bg->err_msg, sizeof bg->err_msg, "%s", message);
}

/* A full collection's set, listed by the thread from the snapshot's meta
 * (so that the start copies no list): the members of the younger
 * generations first, which move to the oldest at the finish. */
static int list_full_set(background *bg) {
    gpugc_heap *s = &bg->shadow;
    size_t n = bg->job.nset, k = 0;
    if (!(bg->set = gpugc__heap_malloc(s, n * sizeof *bg->set + 1, "gpugc_collect_start (set)")))
        return GPUGC_ENOMEM;
    for (uint32_t pass = 0; pass < 2; pass++) {
        for (uint32_t id = 0; id < s->nids; id++) {
            uint32_t m = s->meta[id], gen = meta_gen(m);
            if ((m & META_TRACKED) && gen < PERMANENT_GEN &&
                (gen == GPUGC_GENERATIONS - 1) == (pass == 1))
                bg->set[k++] = id;
        }
        if (pass == 0)
            bg->nyoung = k;
    }
    GPUGC_ASSERT(k == n);
    bg->nset = k;
    bg->job.set = bg->set;
    return GPUGC_OK;
}

/* The start's copy, shared by threads that do nothing else until it is
 * done: arrives with this thread's share copied and, with `wait`, waits
 * for every other share. */
static void copied_share(background *bg, bool wait) {
    atomic_fetch_add_explicit(&bg->copied, 1, memory_order_acq_rel);
    while (wait && atomic_load_explicit(&bg->copied, memory_order_acquire) < bg->parts)
        sched_yield();
}

static void *copy_helper(void *arg) {
    struct share *sh = arg;
    gpugc__snapshot_copy(sh->bg->heap, sh->part, sh->bg->parts);
    copied_share(sh->bg, false);
    return NULL;
}

/* Shares 2 .. parts - 1 of the start's copy, each on a helper thread or,
 * where none starts, on this one. */
static void copy_helpers_start(background *bg) {
    for (unsigned k = 2; k < bg->parts; k++) {
        struct share *sh = &bg->helper[k];
        *sh = (struct share){bg, k, 0, false};
        sh->threaded = pthread_create(&sh->thread, NULL, copy_helper, sh) == 0;
        if (!sh->threaded)
            copy_helper(sh);
    }
}

static void copy_helpers_join(background *bg) {
    for (unsigned k = 2; k < bg->parts; k++)
        if (bg->helper[k].threaded)
            pthread_join(bg->helper[k].thread, NULL);
}

/* The collector thread (or the program's, if no thread could be made).
 * After: status, and the unreachable set members listed in garbage; the
 * snapshot's bitmap is zero again. */
static void *mark_in_background(void *arg) {
    background *bg = arg;
    gpugc_heap *s = &bg->shadow;
    gpugc__snapshot_copy(bg->heap, 1, bg->parts);
    copied_share(bg, true);
    gpugc__snapshot_copy_rest(bg->snap);
    bg->status = bg->set ? GPUGC_OK : list_full_set(bg);
    if (bg->status == GPUGC_OK &&
        !(bg->garbage = gpugc__heap_malloc(s, bg->nset * sizeof *bg->garbage + 1,
                                           "gpugc_collect_start (garbage)")))
        bg->status = GPUGC_ENOMEM;
    if (bg->status == GPUGC_OK)
        bg->status = run_mark(s, bg->ops, &bg->job);
    size_t ng = 0;
    for (size_t k = 0; bg->set && k < bg->nset; k++) {
        uint32_t id = bg->set[k];
        if (bg->status == GPUGC_OK && bit_get(s->garbage, id))
            bg->garbage[ng++] = id;
        bit_clear(s->garbage, id);
    }
    bg->ngarbage = ng;
    gpugc__snapshot_prepare(bg->snap, s->nids, s->ss.top);
    atomic_store_explicit(&bg->done, 1, memory_order_release);
    return NULL;
}

static void background_free(background *bg) {
    free(bg->set);
    free(bg->garbage);
    free(bg);
}

/* Before: settled, none pending.  After: the mark of generations 0..g runs
 * on the snapshot (h->bg), or nothing changed (ENOMEM, reported). */
static int start(gpugc_heap *h, int g, bool automatic) {
    uint64_t t0 = gpugc__now_ns();
    bool full = g == GPUGC_GENERATIONS - 1;
    size_t n = 0;
    for (uint32_t s = 0; s <= (uint32_t)g; s++) {
        if (!full)
            gpugc__gen_compact(h, s);
        n += h->gen[s].members;
    }
    background *bg = calloc(1, sizeof *bg);
    if (bg && !full)
        bg->set = malloc(n * sizeof *bg->set + 1);
    if (!bg || (!full && !bg->set)) {
        if (bg)
            background_free(bg);
        return gpugc__set_error(h, GPUGC_ENOMEM, "gpugc_collect_start: no memory for a set of %zu",
                                n);
    }
    /* A young set is small: its lists are copied here.  A full one is
     * listed by the thread (list_full_set). */
    for (uint32_t s = 0; !full && s <= (uint32_t)g; s++) {
        if (h->gen[s].members)
            memcpy(bg->set + bg->nset, h->gen[s].ids.v, h->gen[s].members * sizeof *bg->set);
        bg->nset += h->gen[s].members;
    }
    bg->nyoung = bg->nset;
    bg->ops = gpugc__backend_for(h, n);
    /* A device mark copies its mirror from the snapshot: from now on the
     * heap's changes are carded for the device too. */
    if (bg->ops != &gpugc__backend_cpu && bg->ops != &gpugc__backend_cpu_parallel)
        h->mirrors |= MIRROR_DEVICE;
    if (gpugc__snapshot_take(h) != GPUGC_OK) {
        background_free(bg);
        return GPUGC_ENOMEM;
    }
    gpugc__snapshot_shadow(h, &bg->shadow);
    bg->snap = h->snap;
    bg->shadow.on_error = record_error;
    bg->shadow.on_error_data = bg;
    bg->st.generation = g;
    bg->st.background = 1;
    bg->job = (mark_job){bg->set, n, g, bg->shadow.garbage, &bg->st, true};
    bg->t_start = t0;
    bg->automatic = automatic;
    bg->heap = h;
    /* The first start copies the whole snapshot in shares; a later one
     * only moves the device cards, in two. */
    unsigned threads = gpugc__heap_threads(h), by_size = h->nids / SHARE_MIN;
    bg->parts = !h->snap->take_whole ? 2 : threads < by_size ? threads : by_size;
    bg->parts = bg->parts < 2 ? 2 : bg->parts > MAX_SHARES ? MAX_SHARES : bg->parts;
    h->bg = bg;
    /* The collector thread copies the rest once every share is there, then
     * marks; the program's changes go through the barriers meanwhile. */
    bg->threaded = pthread_create(&bg->thread, NULL, mark_in_background, bg) == 0;
    if (bg->threaded)
        h->busy |= BUSY_COPYING;
    copy_helpers_start(bg);
    gpugc__snapshot_copy(h, 0, bg->parts);
    copied_share(bg, bg->threaded);
    if (!bg->threaded)
        mark_in_background(bg);
    copy_helpers_join(bg);
    bg->st.snapshot_bytes = gpugc__snapshot_bytes(h) + 2 * (uint64_t)n * sizeof(uint32_t);
    bg->st.pause_start_ns = gpugc__now_ns() - t0;
    return GPUGC_OK;
}

/* Waits for the thread and takes the pending collection off the heap. */
static background *background_join(gpugc_heap *h) {
    background *bg = h->bg;
    if (bg->threaded)
        pthread_join(bg->thread, NULL);
    gpugc__snapshot_copy_reset(h);
    h->bg = NULL;
    gpugc__snapshot_return_cards(h);
    gpugc__snapshot_adopt(h);
    memcpy(h->fault_countdown, bg->shadow.fault_countdown, sizeof h->fault_countdown);
    memcpy(h->be, bg->shadow.be, sizeof h->be);
    return bg;
}

/* The finish once the marks are in: the sweep of what they found that is
 * still alive.  Returns the unreachable found, or GPUGC_ENOMEM (nothing
 * changed). */
static int64_t settle(gpugc_heap *h, background *bg, uint64_t t0, uint64_t *saved) {
    gpugc_collection_stats st = bg->st;
    int g = st.generation;
    uint32_t target = g + 1 < GPUGC_GENERATIONS ? (uint32_t)g + 1 : (uint32_t)g;
    uint32_t *garbage = bg->garbage;
    size_t ng = 0;
    for (size_t k = 0; k < bg->ngarbage; k++)
        if (h->meta[garbage[k]] & META_LIVE)
            garbage[ng++] = garbage[k];
    bool save = h->debug & GPUGC_DEBUG_SAVEALL;
    if (save && !gpugc__vec_reserve(h, &h->saved, ng, "gpugc_collect_finish (garbage list)"))
        return GPUGC_ENOMEM;
    /* What the program reached again meanwhile (gpugc_weakref_get), and
     * all it reaches, is alive: it leaves the garbage before anything of
     * the sweep touches it. */
    for (size_t k = 0; k < ng; k++) {
        bit_set(h->garbage, garbage[k]);
        h->rc[garbage[k]]++;
    }
    ng = recheck(h, garbage, ng);
    for (size_t k = 0; k < ng; k++)
        h->rc[garbage[k]]--;
    /* Survivors of the younger generations move up, as gpugc_collect's
     * do; what the program made immortal, untracked or tracked again
     * meanwhile (generation 0, as a new object) stays where it put it.  A
     * list that cannot grow keeps them all where they are. */
    uint64_t t1 = gpugc__now_ns();
    if (gpugc__vec_reserve(h, &h->gen[target].ids, bg->nyoung, "gpugc_collect_finish"))
        for (size_t k = 0; k < bg->nyoung; k++) {
            uint32_t id = bg->set[k], m = h->meta[id];
            if ((m & META_LIVE) && (m & META_TRACKED) && meta_gen(m) <= (uint32_t)g &&
                meta_gen(m) != target)
                gpugc__gen_join(h, id, target);
        }
    uint64_t t2 = conclude(h, &st, bg->nset, garbage, ng, save, saved, t1);
    st.pause_finish_ns = t2 - t0;
    st.ns_total = t2 - bg->t_start;
    record(h, &st, *saved);
    return (int64_t)ng;
}

/* Before: one pending, the heap settled.  After: none pending; as
 * gpugc_collect after its sweep, with the STOP callbacks run. */
static int64_t finish(gpugc_heap *h) {
    uint64_t t0 = gpugc__now_ns();
    background *bg = background_join(h);
    if (bg->err_status)
        gpugc__set_error(h, bg->err_status, "%s", bg->err_msg);
    uint64_t saved = 0;
    int64_t found = bg->status == GPUGC_OK ? settle(h, bg, t0, &saved) : bg->status;
    gpugc__ids_undefer(h);
    gpugc_collect_info info = stop_info(h, bg->st.generation, found, saved);
    background_free(bg);
    gpugc__run_callbacks(h, GPUGC_PHASE_STOP, &info);
    return found;
}

/* A start with the START callbacks before it (and STOP if it failed). */
static int collect_start(gpugc_heap *h, int g, bool automatic) {
    gpugc_collect_info info = {.generation = g, .backend = h->backend};
    gpugc__run_callbacks(h, GPUGC_PHASE_START, &info);
    int r = start(h, g, automatic);
    if (r != GPUGC_OK)
        gpugc__run_callbacks(h, GPUGC_PHASE_STOP, &info);
    return r;
}

bool gpugc__background_member(const gpugc_heap *h, uint32_t id) {
    /* The snapshot's meta is as it was at the start, and the collector
     * thread only reads it. */
    uint32_t m = id < h->bg->shadow.nids ? h->snap->meta[id] : 0;
    return (m & META_TRACKED) && meta_gen(m) <= (uint32_t)h->bg->st.generation;
}

int gpugc__settle(gpugc_heap *h, const char *fn) {
    if (!h->bg)
        return GPUGC_OK;
    if (heap_busy(h))
        return gpugc__set_error(h, GPUGC_EBUSY,
                                "%s: a background collection is pending and the heap is in a callback", fn);
    finish(h);
    return GPUGC_OK;
}

void gpugc__background_drop(gpugc_heap *h) {
    if (h->bg)
        background_free(background_join(h));
    gpugc__ids_undefer(h);
    gpugc__snapshot_free(h);
}

/* The refusals the collection calls share: GPUGC_OK, or GPUGC_EINVAL for
 * a generation outside 0..2 (has_g: the call takes one) or
 * GPUGC_EBUSY from a callback while the heap is collecting or releasing,
 * reported on behalf of fn. */
static int collect_refused(const gpugc_heap *h, const char *fn, bool has_g, int g) {
    if (has_g && (g < 0 || g >= GPUGC_GENERATIONS))
        return gpugc__set_error(h, GPUGC_EINVAL, "%s: generation %d is not 0, 1 or 2", fn, g);
    if (heap_busy(h))
        return gpugc__set_error(h, GPUGC_EBUSY, "%s: called from a callback while the heap is "
                                                "collecting or releasing", fn);
    return GPUGC_OK;
}

int gpugc_collect_start(gpugc_heap *h, int generation) {
    int r = gpugc__enter(h, "gpugc_collect_start");
    if (r != GPUGC_OK)
        return r;
    if ((r = collect_refused(h, "gpugc_collect_start", true, generation)) == GPUGC_OK)
        r = h->bg ? gpugc__set_error(h, GPUGC_EBUSY,
                                     "gpugc_collect_start: a background collection is pending")
                  : collect_start(h, generation, false);
    gpugc__leave(h);
    return r;
}

int gpugc_collect_ready(const gpugc_heap *h) {
    if (!h || !h->bg)
        return GPUGC_EINVAL;
    return atomic_load_explicit(&h->bg->done, memory_order_acquire);
}

int64_t gpugc_collect_finish(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_collect_finish");
    if (refused != GPUGC_OK)
        return refused;
    int64_t r;
    if (!h->bg)
        r = gpugc__set_error(h, GPUGC_EINVAL, "gpugc_collect_finish: no background collection was started");
    else if ((r = collect_refused(h, "gpugc_collect_finish", false, 0)) == GPUGC_OK)
        r = finish(h);
    gpugc__leave(h);
    return r;
}

int64_t gpugc_collect(gpugc_heap *h, int generation) {
    int refused = gpugc__enter(h, "gpugc_collect");
    if (refused != GPUGC_OK)
        return refused;
    int64_t found;
    if ((found = collect_refused(h, "gpugc_collect", true, generation)) == GPUGC_OK &&
        (found = gpugc__settle(h, "gpugc_collect")) == GPUGC_OK)
        found = collect(h, generation);
    gpugc__leave(h);
    return found;
}

/* CPython's collect_generations: the oldest generation over its threshold,
 * except that a full collection waits until a quarter of the old heap is
 * new since the last one (long_lived_pending), to stay linear overall.
 * With cfg.concurrent the collection starts in the background, and a
 * later allocation finishes it once its mark is done. */
void gpugc__maybe_collect(gpugc_heap *h) {
    if (h->bg) {
        if (h->bg->automatic && !heap_busy(h) &&
            atomic_load_explicit(&h->bg->done, memory_order_acquire))
            finish(h);
        return;
    }
    if (!h->enabled || h->gen[0].threshold == 0 || heap_busy(h) ||
        h->gen[0].count <= h->gen[0].threshold)
        return;
    for (int g = GPUGC_GENERATIONS - 1; g >= 0; g--) {
        if (h->gen[g].count <= h->gen[g].threshold)
            continue;
        if (g == GPUGC_GENERATIONS - 1 && h->long_lived_pending < h->long_lived_total / 4)
            continue;
        if (h->cfg.concurrent)
            collect_start(h, g, true);
        else
            collect(h, g);
        return;
    }
}

void gpugc_enable(gpugc_heap *h) {
    if (gpugc__enter(h, "gpugc_enable") != GPUGC_OK)
        return;
    h->enabled = true;
    gpugc__leave(h);
}

void gpugc_disable(gpugc_heap *h) {
    if (gpugc__enter(h, "gpugc_disable") != GPUGC_OK)
        return;
    h->enabled = false;
    gpugc__leave(h);
}

int gpugc_isenabled(const gpugc_heap *h) {
    if (!h)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_isenabled: heap is NULL");
    return h->enabled;
}

int gpugc_last_collection(const gpugc_heap *h, gpugc_collection_stats *out, size_t size) {
    if (!h || !out)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_last_collection: %s is NULL", h ? "out" : "heap");
    if (!h->have_last)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_last_collection: the heap has not collected yet");
    copy_figures(out, size, &h->last, sizeof h->last);
    return GPUGC_OK;
}

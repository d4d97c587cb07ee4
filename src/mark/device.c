/* device.c - the mark phase on a GPU, over a device-resident mirror of
 * the heap (DESIGN.md sections 1 and 3), for any GPU API (device.h).
 *
 * Made at the first mark, and made again after any failure: the kernels
 * (api->load) and the device buffers.  One mark, stage by stage (stats
 * field in brackets), each stage's time taken between device time stamps
 * (api->stamp), so that no stage waits on the host to be timed:
 *   sync          [ns_sync]  first, the refcounts (4 bytes per id, whole,
 *                 from page-locked memory where the API pins it) are queued
 *                 aside, to travel while the rest runs; then the mirror:
 *                 a group of arrays whole on first use, after a failure or
 *                 growth, or when more than 1/WHOLE_DIV of its cards are
 *                 dirty, else only the dirty cards (mirror.h)
 *   subtract_refs [ns_subtract_refs] kernels/subtract_refs.cl
 *   update_refs   [ns_update_refs]   kernels/roots.cl, ordered after the
 *                 refcounts' upload on the device (api->join): update_refs
 *                 and level 0 of the search in one pass
 *   mark          [ns_mark]  mark_level.cl in batches of levels queued
 *                 before their sizes are known; the host reads the sizes
 *                 back once per batch, and a frontier that stays narrow is
 *                 finished on the CPU
 *   download      [ns_download] the unreached bitmap (1 bit per id)
 */
#include "mark/device.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- tunables ------------------------------------------------------------ */

/* A level takes mark_level's dense form when its frontier is more than
 * 1/DENSE_DIV of the ids (or was not queued, being what such a level
 * reached): one work item per id then costs no more than the queue's
 * DENSE_DIV random reads per frontier entry would. */
#define DENSE_DIV 16u

/* Narrow-frontier handoff: when the frontier has held fewer than
 * HANDOFF_WIDTH members without growing for HANDOFF_LEVELS levels in a
 * row, the rest of the search runs on the CPU (gpugc__mark_reach).  A long list
 * then costs a few launches instead of one per element; a frontier that
 * grows (a tree, a random graph from few roots) stays on the device. */
#define HANDOFF_WIDTH 256u
#define HANDOFF_LEVELS 2u

/* Levels are queued in batches of 1, 2, 4, ... up to BATCH_MAX, the host
 * reading their sizes back after each batch.  A random graph's search
 * (about 20 levels) then costs 5 round trips instead of 20, and a search
 * that ends inside a batch wastes at most BATCH_MAX - 1 launches that see
 * an empty frontier and return.  Bounded by the ring (kernels/mark.h). */
#define BATCH_MAX 32u
_Static_assert(BATCH_MAX + 3 <= LEVEL_RING, "a batch overwrites levels not read yet");

/* A group of mirrored arrays with more than 1/WHOLE_DIV of its cards dirty
 * is uploaded whole: one copy of the arrays instead of packing and
 * scattering most of them card by card (a promotion rewrites every
 * survivor's meta word; a burst of new objects, their ids' entries). */
#define WHOLE_DIV 8u

/* Refcount arrays from PIN_MIN bytes are page-locked for their upload:
 * below, the pageable copy costs less than pinning does. */
#define PIN_MIN ((size_t)1 << 20)

/* ---- errors ---------------------------------------------------------------- */

/* GPUGC_OK, or the injected fault at `site`, reported as what it stands
 * for: exhausted device memory for an allocation, else a device error. */
static int injected(device_mark *d, gpugc_fault site, const char *what) {
    if (!gpugc__fault_fires(d->h, site))
        return GPUGC_OK;
    return gpugc__set_error(d->h, site == GPUGC_FAULT_DEVICE_ALLOC ? GPUGC_ENOMEM : GPUGC_EDEVICE,
                     "%s: %s failed (injected fault)", d->api->name, what);
}

/* ---- host staging ----------------------------------------------------------- */

static void *stage_alloc(void *ctx, size_t bytes) {
    device_mark *d = ctx;
    if (gpugc__fault_fires(d->h, GPUGC_FAULT_ALLOC))
        return NULL;
    return d->api->host_alloc(d->dev, bytes ? bytes : sizeof(uint32_t));
}

static void stage_free(void *ctx, void *p) {
    device_mark *d = ctx;
    if (p)
        d->api->host_free(d->dev, p);
}

void gpugc__device_mark_init(gpugc_heap *h, device_mark *d, const device_api *api, void *dev) {
    memset(d, 0, sizeof *d);
    d->h = h;
    d->api = api;
    d->dev = dev;
    d->handoff = h->cfg.gpu_cpu_handoff;
    mirror_stage *stages[] = {&d->ids, &d->slot_stage};
    for (int k = 0; k < 2; k++) {
        stages[k]->alloc = stage_alloc;
        stages[k]->free = stage_free;
        stages[k]->ctx = d;
    }
}

/* ---- device state: kernels and buffers ----------------------------------------- */

/* Releases the device state (buffers, kernels); the host state stays. */
static void device_mark_drop(device_mark *d) {
    if (d->loaded)
        d->api->finish(NULL, d->dev); /* uploads may still read host staging */
    for (int b = 0; b < B_COUNT; b++)
        if (d->b[b])
            d->api->release(d->dev, d->b[b]);
    memset(d->b, 0, sizeof d->b);
    memset(d->bsize, 0, sizeof d->bsize);
    if (d->loaded)
        d->api->unload(d->dev);
    d->loaded = false;
    d->synced = false;
}

void gpugc__device_mark_unpin(device_mark *d) {
    if (d->pinned)
        d->api->unpin(d->dev, (void *)d->pin_at);
    d->pin_at = NULL;
    d->pinned = false;
}

/* After: the heap's refcount array is page-locked if the API can pin it
 * and it is large enough to gain (PIN_MIN). */
static void pin_counts(device_mark *d) {
    gpugc_heap *h = d->h;
    size_t bytes = (size_t)h->cap * sizeof *h->rc;
    if (!d->api->pin || bytes < PIN_MIN || d->pin_at == h->rc)
        return;
    gpugc__device_mark_unpin(d);
    d->pin_at = h->rc;
    d->pinned = d->api->pin(d->dev, h->rc, bytes);
}

void gpugc__device_mark_free(device_mark *d) {
    device_mark_drop(d); /* after the copies that read pinned memory */
    gpugc__device_mark_unpin(d);
    gpugc__mirror_stage_free(&d->ids);
    gpugc__mirror_stage_free(&d->slot_stage);
    stage_free(d, d->ctl);
    stage_free(d, d->bits);
    d->ctl = d->bits = NULL;
    d->bits_cap = 0;
}

/* Makes buffer b hold at least `bytes` (never 0), dropping its contents
 * when it has to grow. */
static int ensure_buffer(device_mark *d, int b, size_t bytes) {
    if (bytes == 0)
        bytes = sizeof(uint32_t);
    if (d->b[b] && d->bsize[b] >= bytes)
        return GPUGC_OK;
    if (d->b[b])
        d->api->release(d->dev, d->b[b]);
    d->b[b] = NULL;
    d->bsize[b] = 0;
    int rc = injected(d, GPUGC_FAULT_DEVICE_ALLOC, "allocating device memory");
    if (rc == GPUGC_OK)
        rc = d->api->alloc(d->h, d->dev, &d->b[b], bytes);
    if (rc != GPUGC_OK) {
        d->b[b] = NULL;
        return rc;
    }
    d->bsize[b] = bytes;
    return GPUGC_OK;
}

/* Makes the host copy of the unreached bitmap hold `words` words. */
static int ensure_bits(device_mark *d, size_t words) {
    if (words <= d->bits_cap)
        return GPUGC_OK;
    stage_free(d, d->bits);
    d->bits_cap = 0;
    d->bits = stage_alloc(d, words * sizeof *d->bits);
    if (!d->bits)
        return gpugc__set_error(d->h, GPUGC_ENOMEM, "gpugc_collect: no memory for a %zu-byte bitmap",
                         words * sizeof *d->bits);
    d->bits_cap = words;
    return GPUGC_OK;
}

/* After: the kernels are loaded and every buffer fits h->cap ids and
 * h->slots_cap slots; a mirror that had to be made anew is not synced. */
static int prepare(device_mark *d) {
    gpugc_heap *h = d->h;
    int st = GPUGC_OK;
    if (!d->ctl && !(d->ctl = stage_alloc(d, CTL_WORDS * sizeof *d->ctl)))
        return gpugc__set_error(h, GPUGC_ENOMEM, "gpugc_collect: no memory for the control words");
    if (!d->loaded) {
        st = injected(d, GPUGC_FAULT_DEVICE_INIT, "loading the kernels");
        if (st == GPUGC_OK)
            st = d->api->load(h, d->dev);
        if (st != GPUGC_OK)
            return st;
        d->loaded = true;
    }
    if (d->cap != h->cap || d->slots_cap != h->slots_cap)
        d->synced = false;
    size_t ids = (size_t)h->cap * sizeof(uint32_t);
    static const int per_id[] = {B_META, B_SLOT_OFF, B_SLOT_CNT, B_RC, B_GC_REFS, B_LEVEL, B_QUEUE};
    for (size_t i = 0; i < sizeof per_id / sizeof per_id[0] && st == GPUGC_OK; i++)
        st = ensure_buffer(d, per_id[i], ids);
    if (st == GPUGC_OK)
        st = ensure_buffer(d, B_SLOTS, (size_t)h->slots_cap * sizeof(uint32_t));
    if (st == GPUGC_OK)
        st = ensure_buffer(d, B_UNREACHED, ((size_t)h->cap + 31) / 32 * sizeof(uint32_t));
    if (st == GPUGC_OK)
        st = ensure_buffer(d, B_CTL, CTL_WORDS * sizeof(uint32_t));
    if (st == GPUGC_OK) {
        d->cap = h->cap;
        d->slots_cap = h->slots_cap;
    }
    return st;
}

/* ---- copies and launches ------------------------------------------------------ */

static int upload(device_mark *d, int b, size_t off, const void *src, size_t bytes, bool aside,
                  gpugc_collection_stats *st) {
    if (bytes == 0)
        return GPUGC_OK;
    int rc = injected(d, GPUGC_FAULT_DEVICE_COPY, "a copy to the device");
    if (rc == GPUGC_OK)
        rc = d->api->upload(d->h, d->dev, d->b[b], off, src, bytes, aside);
    st->bytes_h2d += bytes;
    return rc;
}

static int download(device_mark *d, int b, size_t off, void *dst, size_t bytes,
                    gpugc_collection_stats *st) {
    int rc = injected(d, GPUGC_FAULT_DEVICE_COPY, "a copy from the device");
    if (rc == GPUGC_OK)
        rc = d->api->download(d->h, d->dev, d->b[b], off, dst, bytes);
    st->bytes_d2h += bytes;
    return rc;
}

#define MEM(buf) ((karg){sizeof(void *), &d->b[buf]})
#define U32(v) ((karg){sizeof(uint32_t), &(uint32_t){(uint32_t)(v)}})
#define LAUNCH(k, items, ...)                                                     \
    launch(d, k, items, (const karg[]){__VA_ARGS__},                              \
           sizeof((const karg[]){__VA_ARGS__}) / sizeof(karg))

static int launch(device_mark *d, int k, size_t items, const karg *arg, unsigned nargs) {
    if (items == 0)
        return GPUGC_OK;
    int rc = injected(d, GPUGC_FAULT_DEVICE_LAUNCH, "a kernel launch");
    return rc == GPUGC_OK ? d->api->launch(d->h, d->dev, k, items, arg, nargs) : rc;
}

/* ---- the stages ------------------------------------------------------------------- */

static int stamp(device_mark *d, unsigned k) {
    return d->api->stamp(d->h, d->dev, k);
}

/* One group of mirrored arrays: its cards, how many of its entries are in
 * use and how many there is room for, the arrays and their buffers, the
 * staging for its dirty cards and the two buffers that take them. */
typedef struct group {
    uint64_t *cards;
    size_t used;
    uint32_t cap;
    const uint32_t *const *arrays;
    const int *bufs;
    unsigned narrays;
    mirror_stage *stage;
    int cards_buf, data_buf;
} group;

/* Before: prepare() ran.
 * After:  the group's mirrored arrays equal the host's over their used
 *         entries (uploaded whole when `whole` or when more than
 *         1/WHOLE_DIV of the used cards are dirty, else the dirty cards,
 *         staged by gpugc__mirror_pack and scattered in place), and its
 *         card bits are clear. */
static int sync_group(device_mark *d, const group *g, bool whole, gpugc_collection_stats *st) {
    size_t dirty = gpugc__mirror_dirty(g->cards, g->cap);
    int rc = GPUGC_OK;
    size_t cards_used = (g->used + CARD_SIZE - 1) >> CARD_SHIFT;
    if (whole || dirty * WHOLE_DIV > cards_used) {
        for (unsigned a = 0; a < g->narrays && rc == GPUGC_OK; a++)
            rc = upload(d, g->bufs[a], 0, g->arrays[a], g->used * sizeof(uint32_t), false, st);
        gpugc__mirror_clear(g->cards, g->cap);
        return rc;
    }
    const mirror_stage *m = g->stage;
    rc = gpugc__mirror_pack(d->h, g->stage, g->cards, g->cap, dirty, g->arrays, g->narrays);
    size_t entries = m->ncards * CARD_SIZE;
    if (rc == GPUGC_OK)
        rc = ensure_buffer(d, g->cards_buf, m->ncards * sizeof(uint32_t));
    if (rc == GPUGC_OK)
        rc = ensure_buffer(d, g->data_buf, g->narrays * entries * sizeof(uint32_t));
    if (rc == GPUGC_OK)
        rc = upload(d, g->cards_buf, 0, m->cards, m->ncards * sizeof(uint32_t), false, st);
    if (rc == GPUGC_OK)
        rc = upload(d, g->data_buf, 0, m->data, g->narrays * entries * sizeof(uint32_t), false,
                    st);
    for (unsigned a = 0; a < g->narrays && rc == GPUGC_OK; a++)
        rc = LAUNCH(K_scatter, entries, MEM(g->bufs[a]), MEM(g->cards_buf), MEM(g->data_buf),
                    U32(a * entries), U32(entries), U32(g->cap));
    return rc;
}

/* Before: prepare() ran.
 * After:  the mirror equals meta, slot_off, slot_cnt and slots (queued:
 *         the device has it once the work queued so far has run) and the
 *         card bits are clear.  A mirror that is not synced (first use,
 *         after a failure or growth) is uploaded whole; from then on every
 *         change is carded. */
static int sync_mirror(device_mark *d, gpugc_collection_stats *st) {
    gpugc_heap *h = d->h;
    bool whole = !d->synced;
    h->mirrors |= MIRROR_DEVICE;
    const group ids = {h->card_ids, h->nids, h->cap,
                       (const uint32_t *const[]){h->meta, h->slot_off, h->slot_cnt},
                       (const int[]){B_META, B_SLOT_OFF, B_SLOT_CNT}, 3, &d->ids,
                       B_ID_CARDS, B_ID_DATA};
    const group slots = {h->card_slots, h->ss.top, h->slots_cap,
                         (const uint32_t *const[]){h->slots}, (const int[]){B_SLOTS}, 1,
                         &d->slot_stage, B_SLOT_CARDS, B_SLOT_DATA};
    int rc = sync_group(d, &ids, whole, st);
    if (rc == GPUGC_OK)
        rc = sync_group(d, &slots, whole, st);
    d->synced = rc == GPUGC_OK;
    return rc;
}

#ifdef GPUGC_DEBUG
/* heap.h's mirror invariant, right after a sync (debug builds): the
 * device's meta, slot_off and slot_cnt equal the host's for every id, and
 * so does the slot range of every live object.  Read back outside the
 * figures and the fault injection, so that debug and release builds count
 * and fail the same; a difference aborts. */
static void check_mirror(device_mark *d) {
    gpugc_heap *h = d->h;
    size_t n = h->nids, top = h->ss.top;
    uint32_t *m = malloc((3 * n + top + 1) * sizeof *m);
    if (!m)
        return; /* no memory to check with: the check is skipped, not failed */
    uint32_t *off = m + n, *cnt = off + n, *slots = cnt + n;
    bool read = d->api->download(h, d->dev, d->b[B_META], 0, m, n * sizeof *m) == GPUGC_OK &&
                d->api->download(h, d->dev, d->b[B_SLOT_OFF], 0, off, n * sizeof *m) == GPUGC_OK &&
                d->api->download(h, d->dev, d->b[B_SLOT_CNT], 0, cnt, n * sizeof *m) == GPUGC_OK &&
                (top == 0 || d->api->download(h, d->dev, d->b[B_SLOTS], 0, slots,
                                              top * sizeof *m) == GPUGC_OK);
    if (read) {
        GPUGC_ASSERT(memcmp(m, h->meta, n * sizeof *m) == 0);
        GPUGC_ASSERT(memcmp(off, h->slot_off, n * sizeof *m) == 0);
        GPUGC_ASSERT(memcmp(cnt, h->slot_cnt, n * sizeof *m) == 0);
        for (size_t id = 0; id < n; id++)
            if ((h->meta[id] & META_LIVE) && h->slot_cnt[id])
                GPUGC_ASSERT(memcmp(slots + h->slot_off[id], h->slots + h->slot_off[id],
                                    h->slot_cnt[id] * sizeof *m) == 0);
    }
    free(m);
}
#endif

/* After: job->garbage has bit i set exactly where the device's unreached
 * bitmap has it (set members not reached yet). */
static int download_unreached(device_mark *d, const mark_job *job) {
    size_t words = ((size_t)d->h->nids + 31) / 32;
    int rc = ensure_bits(d, words);
    if (rc == GPUGC_OK)
        rc = download(d, B_UNREACHED, 0, d->bits, words * sizeof(uint32_t), job->stats);
    if (rc != GPUGC_OK)
        return rc;
    /* job->garbage is all zero here (backend.h); on a little-endian host two
     * 32-bit words lie in memory as the 64-bit word they make. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(job->garbage, d->bits, words * sizeof *d->bits);
#else
    for (size_t w = 0; w < words; w++)
        job->garbage[w / 2] |= (uint64_t)d->bits[w] << (32 * (w % 2));
#endif
    return GPUGC_OK;
}

/* Queues levels first .. first + n - 1 of the search. */
static int queue_levels(device_mark *d, uint32_t first, uint32_t n) {
    uint32_t nids = d->h->nids, dense_min = nids / DENSE_DIV + 1;
    size_t items = d->api->level_items(d->dev);
    if (items > nids)
        items = nids;
    int rc = GPUGC_OK;
    for (uint32_t depth = first; depth < first + n && rc == GPUGC_OK; depth++)
        rc = LAUNCH(K_mark_level, items, MEM(B_SLOT_OFF), MEM(B_SLOT_CNT), MEM(B_SLOTS),
                    MEM(B_UNREACHED), MEM(B_LEVEL), MEM(B_QUEUE), MEM(B_CTL), U32(depth),
                    U32(nids), U32(dense_min));
    return rc;
}

/* Before: the roots kernel ran.
 * After:  corrupt counts are reported (GPUGC_ECORRUPT); or the device's
 *         unreached bitmap holds exactly the unreachable members
 *         (*hand_n is 0); or the device stopped at a narrow frontier, the
 *         queued level queue[*hand_head, + *hand_n), for the CPU to finish. */
static int mark(device_mark *d, const mark_job *job, uint32_t *hand_head, uint32_t *hand_n) {
    uint32_t *ctl = d->ctl;
    int rc = download(d, B_CTL, 0, ctl, CTL_WORDS * sizeof *ctl, job->stats);
    if (rc != GPUGC_OK)
        return rc;
    job->stats->edges = ctl[CTL_EDGES];
    if (ctl[CTL_CORRUPT] != NOT_REACHED)
        return gpugc__set_error(d->h, GPUGC_ECORRUPT,
                         "gpugc_collect: object %u has more references from slots than its count",
                         ctl[CTL_CORRUPT]);
    /* Invariant: ctl holds the sizes of levels 0 .. known, and levels
     * before `depth` were looked at, `reached` members in all; narrow
     * counts the levels in a row that were narrow and not growing.  Each
     * member joins one level at most, so more members or more levels than
     * the set has are a device fault, not a search to wait for. */
    uint32_t known = 0, batch = 1, prev = UINT32_MAX, narrow = 0;
    uint64_t reached = 0;
    bool runaway = gpugc__fault_fires(d->h, GPUGC_FAULT_DEVICE_RUNAWAY);
    for (uint32_t depth = 0;; depth++) {
        if (depth > known) {
            rc = queue_levels(d, known + 1, batch);
            if (rc == GPUGC_OK)
                rc = download(d, B_CTL, 0, ctl, CTL_WORDS * sizeof *ctl, job->stats);
            if (rc != GPUGC_OK)
                return rc;
            known += batch;
            batch = batch * 2 < BATCH_MAX ? batch * 2 : BATCH_MAX;
        }
        uint32_t n = runaway ? 1 : ctl[CTL_COUNT(depth)];
        if (n == 0)
            return GPUGC_OK; /* the search is over; later levels are empty */
        reached += n;
        if (reached > job->nset || depth >= job->nset)
            return gpugc__set_error(d->h, GPUGC_EDEVICE,
                                    "%s: the search reached %llu members in %u levels of a set "
                                    "of %zu: the device is at fault",
                                    d->api->name, (unsigned long long)reached, depth + 1,
                                    job->nset);
        narrow = n < HANDOFF_WIDTH && n <= prev ? narrow + 1 : 0;
        prev = n;
        /* the device went on to level `known`: hand that one over if it
         * is queued and the search has not ended before it */
        if (d->handoff && narrow >= HANDOFF_LEVELS && ctl[CTL_QUEUED(known)]) {
            for (uint32_t l = depth + 1; l <= known; l++)
                if (ctl[CTL_COUNT(l)] == 0)
                    return GPUGC_OK;
            *hand_head = ctl[CTL_START(known)];
            *hand_n = ctl[CTL_COUNT(known)];
            return GPUGC_OK;
        }
    }
}

/* Before: mark() stopped at the queued level queue[head, + n).
 * After:  *queue (the caller frees it) holds that level and job->garbage
 *         the device's unreached bitmap, for the CPU to finish from. */
static int handoff_fetch(device_mark *d, const mark_job *job, uint32_t head, uint32_t n,
                         uint32_t **queue) {
    *queue = gpugc__heap_malloc(d->h, (job->nset + 1) * sizeof **queue,
                                "gpugc_collect (device handoff)");
    if (!*queue)
        return GPUGC_ENOMEM;
    int rc = download(d, B_QUEUE, head * sizeof(uint32_t), *queue, (size_t)n * sizeof(uint32_t),
                      job->stats);
    return rc == GPUGC_OK ? download_unreached(d, job) : rc;
}

/* The stage figures from the time stamps (file comment), plus the host's
 * preparing (in the sync).  Read before any work on the host follows the
 * last stamp: a device that takes its stamps late (PoCL's markers) would
 * count that work too. */
static int stage_times(device_mark *d, gpugc_collection_stats *st, uint64_t ns_prepare) {
    uint64_t at[STAMPS] = {0};
    int rc = GPUGC_OK;
    for (unsigned k = S_START + 1; k < STAMPS && rc == GPUGC_OK; k++)
        rc = d->api->elapsed(d->h, d->dev, S_START, k, &at[k]);
    if (rc != GPUGC_OK)
        return rc;
    /* stamps follow the queue, but a clock read twice may step back */
    for (unsigned k = S_START + 1; k < STAMPS; k++)
        if (at[k] < at[k - 1])
            at[k] = at[k - 1];
    st->ns_sync = ns_prepare + at[S_SYNCED];
    st->ns_subtract_refs = at[S_SUBTRACTED] - at[S_SYNCED];
    st->ns_update_refs = at[S_ROOTED] - at[S_SUBTRACTED];
    st->ns_mark = at[S_MARKED] - at[S_ROOTED];
    st->ns_download = at[S_DONE] - at[S_MARKED];
    return GPUGC_OK;
}

/* The whole mark phase on the device; see the file comment.  `own`: h is
 * the heap itself (not a background collection's snapshot), whose
 * refcount array may be pinned. */
static int run(device_mark *d, const mark_job *job, bool own) {
    gpugc_heap *h = d->h;
    gpugc_collection_stats *st = job->stats;
    uint32_t nids = h->nids, words = (nids + 31) / 32;
    uint64_t t0 = gpugc__now_ns();
    int rc = prepare(d);
    if (rc == GPUGC_OK && own)
        pin_counts(d);
    uint64_t ns_prepare = gpugc__now_ns() - t0;
    if (rc == GPUGC_OK)
        rc = stamp(d, S_START);
    if (rc == GPUGC_OK)
        rc = upload(d, B_RC, 0, h->rc, (size_t)nids * sizeof(uint32_t), true, st);
    if (rc == GPUGC_OK) {
        /* the words read before a kernel writes them: the rest of the
         * ring is written by each level before the next one reads it */
        memset(d->ctl, 0, CTL_WORDS * sizeof *d->ctl);
        d->ctl[CTL_CORRUPT] = NOT_REACHED;
        rc = upload(d, B_CTL, 0, d->ctl, (CTL_COUNT(1u) + 1) * sizeof *d->ctl, false, st);
    }
    if (rc == GPUGC_OK)
        rc = sync_mirror(d, st);
#ifdef GPUGC_DEBUG
    if (rc == GPUGC_OK)
        check_mirror(d);
#endif
    if (rc == GPUGC_OK)
        rc = stamp(d, S_SYNCED);
    if (rc == GPUGC_OK)
        rc = d->api->zero(h, d->dev, d->b[B_GC_REFS], (size_t)nids * sizeof(uint32_t));
    if (rc == GPUGC_OK)
        rc = LAUNCH(K_subtract_refs, nids, MEM(B_META), MEM(B_SLOT_OFF), MEM(B_SLOT_CNT),
                    MEM(B_SLOTS), MEM(B_GC_REFS), U32(nids), U32(job->generation));
    if (rc == GPUGC_OK)
        rc = stamp(d, S_SUBTRACTED);
    if (rc == GPUGC_OK && d->api->join)
        rc = d->api->join(h, d->dev);
    if (rc == GPUGC_OK)
        rc = LAUNCH(K_roots, (size_t)words * d->api->word_items, MEM(B_META), MEM(B_RC),
                    MEM(B_SLOT_CNT), MEM(B_GC_REFS), MEM(B_UNREACHED), MEM(B_LEVEL), MEM(B_CTL),
                    U32(nids), U32(job->generation));
    if (rc == GPUGC_OK)
        rc = stamp(d, S_ROOTED);
    uint32_t hand_head = 0, hand_n = 0;
    if (rc == GPUGC_OK)
        rc = mark(d, job, &hand_head, &hand_n);
    if (rc == GPUGC_OK)
        rc = stamp(d, S_MARKED);
    uint32_t *queue = NULL;
    if (rc == GPUGC_OK)
        rc = hand_n ? handoff_fetch(d, job, hand_head, hand_n, &queue)
                    : download_unreached(d, job);
    if (rc == GPUGC_OK)
        rc = stamp(d, S_DONE);
    if (rc == GPUGC_OK)
        rc = stage_times(d, st, ns_prepare);
    if (rc == GPUGC_OK && queue) {
        /* the search's narrow end, on the CPU: part of the mark */
        uint64_t t = gpugc__now_ns();
        rc = gpugc__mark_reach(h, job->garbage, queue, hand_n, job->nset);
        st->ns_mark += gpugc__now_ns() - t;
    }
    free(queue);
    return rc;
}

int gpugc__device_mark_run(device_mark *d, gpugc_heap *h, const mark_job *job) {
    if (job->nset == 0)
        return GPUGC_OK;
    /* h may be a background collection's shadow (snapshot.h): the mark
     * reads the arrays it names. */
    gpugc_heap *own = d->h;
    d->h = h;
    int rc = run(d, job, h == own);
    if (rc != GPUGC_OK && rc != GPUGC_ECORRUPT)
        device_mark_drop(d);
    d->h = own;
    return rc;
}

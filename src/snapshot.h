/* snapshot.h - the host's copy of the heap that a background collection
 * marks while the program goes on: meta, slot_off, slot_cnt and the slot
 * array, brought up to date at each start by the host cards (the whole of
 * it the first time), as a device mirror is by the device's; the counts,
 * copied whole at each start (an increment must stay one add); and the
 * mark's own scratch.  A shadow heap (gpugc__snapshot_shadow) points at
 * these arrays, so that any backend marks the snapshot as it marks a heap. */
#ifndef GPUGC_SNAPSHOT_H
#define GPUGC_SNAPSHOT_H

#include "heap.h"

typedef struct snapshot {
    uint32_t *rc, *meta, *slot_off, *slot_cnt, *slots;
    uint32_t *gc_refs;               /* the mark's scratch                  */
    uint64_t *garbage;               /* the mark's bitmap: zero between marks */
    uint64_t *card_ids, *card_slots; /* the device's dirty cards at the start,
                                        handed to the shadow's device mark  */
    uint32_t *meta_next;             /* meta grown by the collector thread,
                                        adopted after it (snapshot_adopt)    */
    uint32_t cap, slots_cap;         /* the arrays' capacities               */
    uint32_t touched, slots_touched; /* entries below these have their pages:
                                        a copy or gpugc__snapshot_prepare
                                        wrote them                          */
    uint32_t take_nids, take_top;    /* what the last take is to copy: ids
                                        and slots below these               */
    bool take_whole;                 /* ... all of them (the first take)     */
    uint64_t bytes;                  /* what it takes, as counted last by the
                                        program's thread                     */
} snapshot;

/* Before: h is settled.
 * After:  the snapshot has room for h and knows what to copy
 *         (gpugc__snapshot_copy): the whole of it the first time, else
 *         what the host cards name.  GPUGC_ENOMEM (reported) leaves the
 *         snapshot as it was and h's cards set. */
int gpugc__snapshot_take(gpugc_heap *h);
/* Copies share `part` (0 .. parts - 1) of what the take left to copy.
 * Shares touch disjoint entries and card words, so threads may copy
 * several at once while h stands still.
 * After every share is copied: h->snap equals h as it was at the take
 * (meta, slot_off, slot_cnt and rc for ids below nids, slots below the
 * top), the host cards are clear, and h's device cards have moved to the
 * snapshot. */
void gpugc__snapshot_copy(gpugc_heap *h, unsigned part, unsigned parts);
/* After a background mark: the device cards the shadow's mark did not copy
 * (none ran on a device, or its set was empty) go back to h. */
void gpugc__snapshot_return_cards(gpugc_heap *h);
/* A copy of h whose id-indexed arrays, slot array, scratch and device
 * cards are the snapshot's, refusing every call of the API (busy). */
void gpugc__snapshot_shadow(const gpugc_heap *h, gpugc_heap *shadow);
/* The collector thread, its mark done: when nids ids or a top of slots
 * are close to the capacities (the heap would soon double its arrays),
 * the snapshot doubles its own now, their pages touched, so that the next
 * start copies into memory that is there instead of growing in a pause.
 * Memory short: nothing happens (that start grows, or reports). */
void gpugc__snapshot_prepare(snapshot *s, uint32_t nids, uint32_t top);
/* After the collector thread: takes what gpugc__snapshot_prepare grew
 * aside, and counts the snapshot again. */
void gpugc__snapshot_adopt(gpugc_heap *h);
/* Counts what the snapshot takes (gpugc__snapshot_bytes), on the
 * program's thread, after a start or a finish. */
void gpugc__snapshot_count(gpugc_heap *h);
/* Bytes the snapshot and the host cards take. */
uint64_t gpugc__snapshot_bytes(const gpugc_heap *h);
void gpugc__snapshot_free(gpugc_heap *h);

#endif /* GPUGC_SNAPSHOT_H */

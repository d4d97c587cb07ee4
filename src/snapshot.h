/* snapshot.h - the host's copy of the heap that a background collection
 * marks while the program goes on: meta, slot_off, slot_cnt and the slot
 * array, kept by the host cards as a device mirror is by the device's, and
 * the counts; and the mark's own scratch.  The first start copies all of
 * it in its pause.  A later one only takes the host cards and returns: the
 * collector thread copies what they name, then the counts, beside the
 * program, whose changes meanwhile keep the snapshot's old values (a card
 * is copied before it changes, a count logged).  A shadow heap
 * (gpugc__snapshot_shadow) points at these arrays, so that any backend
 * marks the snapshot as it marks a heap. */
#ifndef GPUGC_SNAPSHOT_H
#define GPUGC_SNAPSHOT_H

#include "heap.h"

/* The counts the program changed while they were being copied: (id,
 * count at the start) in chunks the program appends and publishes, each
 * entry before the change it precedes. */
#define KEPT_CHUNK 1024u
typedef struct kept_counts {
    struct kept_counts *_Atomic next;
    _Atomic uint32_t n;
    uint32_t id[KEPT_CHUNK], rc[KEPT_CHUNK];
} kept_counts;

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
    /* The copy beside the program (snapshot.c): what it copies, how far */
    const uint32_t *from_meta, *from_slot_off, *from_slot_cnt, *from_slots, *from_rc;
                                     /* h's arrays at the take, which stay
                                        where they are until it is done    */
    uint64_t *pend[2];               /* [CARDS_IDS], [CARDS_SLOTS]: the
                                        host cards at the take, taken word
                                        by word as they are copied          */
    size_t pend_words[2];            /* their words (as many as h's cards;
                                        none to copy after a whole take)   */
    atomic_size_t claimed[2], done[2]; /* words below these are claimed, or
                                        copied                              */
    atomic_uint inflight;            /* the program's own card copies       */
    uint64_t *kept;                  /* bit i: id i's count is in the log
                                        (the program's alone)               */
    uint32_t kept_cap;               /* ids the bitmap covers               */
    kept_counts *_Atomic log;        /* the first chunk, or NULL            */
    kept_counts *log_tail;           /* the program's                        */
    atomic_int copied;               /* cards and counts are in: the heap
                                        changes freely again               */
    uint64_t bytes;                  /* what it takes, as counted last by the
                                        program's thread                     */
} snapshot;

/* Before: h is settled.
 * After:  the snapshot has room for h and knows what to copy: the whole
 *         of it the first time (gpugc__snapshot_copy), else what the host
 *         cards name (gpugc__snapshot_copy_rest), which are now its own
 *         and h's are clear.  GPUGC_ENOMEM (reported) leaves the snapshot
 *         as it was and h's cards set. */
int gpugc__snapshot_take(gpugc_heap *h);
/* Copies share `part` (0 .. parts - 1) of what the take left to the
 * pause.  Shares touch disjoint entries and card words, so threads may
 * copy several at once while h stands still.
 * After every share is copied: h's device cards have moved to the
 * snapshot; after a whole take, the snapshot also equals h (meta,
 * slot_off and slot_cnt for ids below nids, slots below the top) and the
 * host cards are clear. */
void gpugc__snapshot_copy(gpugc_heap *h, unsigned part, unsigned parts);
/* The collector thread, once every share is copied, while the program
 * runs with BUSY_COPYING set: copies the cards the take kept, then h's
 * counts below the take's ids, with the log over them (h's arrays do not
 * move meanwhile: gpugc__snapshot_copy_wait).
 * After: h->snap equals h as it was at the take, counts included; copied
 *        is set. */
void gpugc__snapshot_copy_rest(snapshot *s);
/* The program's thread: waits for gpugc__snapshot_copy_rest if it runs
 * (an array is about to move, or a log entry found no memory); then the
 * heap changes freely (BUSY_COPYING clear). */
void gpugc__snapshot_copy_wait(gpugc_heap *h);
/* After the collector thread: empties the log and its bitmap for the next
 * start. */
void gpugc__snapshot_copy_reset(gpugc_heap *h);
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

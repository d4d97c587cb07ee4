/* mark_cpu.c - the serial CPU marker: the reference every backend is checked
 * against.  Kept plain on purpose; each phase states what holds after it.
 *
 * The garbage bitmap doubles as the "not yet reached" set: update_refs sets
 * the bit of every set member, so during subtract_refs a set bit means "in
 * the set", and mark clears the bit of every member it reaches.  What stays
 * set is garbage.
 */
#include "backend.h"

#include <stdlib.h>

/* Before: garbage bits all zero.
 * After:  gc_refs[i] = rc[i] and bit i set, for every i in the set. */
static void update_refs(gpugc_heap *h, const mark_job *job) {
    for (size_t k = 0; k < job->nset; k++) {
        uint32_t i = job->set[k];
        h->gc_refs[i] = (int32_t)h->rc[i];
        bit_set(job->garbage, i);
    }
}

/* After: gc_refs[i] = references to i from outside the set (C code, older
 * generations, untracked holders); negative only if counts are corrupt.
 * Returns the number of slots scanned. */
static uint64_t subtract_refs(gpugc_heap *h, const mark_job *job) {
    uint64_t edges = 0;
    for (size_t k = 0; k < job->nset; k++) {
        uint32_t i = job->set[k];
        const uint32_t *s = h->slots + h->slot_off[i];
        uint32_t n = h->slot_cnt[i];
        edges += n;
        for (uint32_t e = 0; e < n; e++)
            if (s[e] != NO_ID && bit_get(job->garbage, s[e]))
                h->gc_refs[s[e]]--;
    }
    return edges;
}

/* After: the bit of every set member reachable from one with gc_refs > 0 is
 * clear; the bits left set are exactly the unreachable members.
 * Invariant of the loop: queue[0..tail) holds reached members with cleared
 * bits; those before head have had their slots scanned. */
static int mark(gpugc_heap *h, const mark_job *job) {
    uint32_t *queue = heap_malloc(h, job->nset * sizeof *queue + 1, "gpugc_collect (mark queue)");
    if (!queue)
        return GPUGC_ENOMEM;
    size_t head = 0, tail = 0;
    for (size_t k = 0; k < job->nset; k++) {
        uint32_t i = job->set[k];
        if (h->gc_refs[i] < 0) {
            free(queue);
            return set_error(h, GPUGC_ECORRUPT,
                             "gpugc_collect: object %u has %d more references from slots than its count",
                             i, -h->gc_refs[i]);
        }
        if (h->gc_refs[i] > 0) {
            bit_clear(job->garbage, i);
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        uint32_t i = queue[head++];
        const uint32_t *s = h->slots + h->slot_off[i];
        for (uint32_t e = 0, n = h->slot_cnt[i]; e < n; e++) {
            uint32_t j = s[e];
            if (j != NO_ID && bit_get(job->garbage, j)) {
                bit_clear(job->garbage, j);
                queue[tail++] = j;
            }
        }
    }
    free(queue);
    return GPUGC_OK;
}

static int cpu_mark(gpugc_heap *h, void *state, const mark_job *job) {
    (void)state;
    gpugc_collection_stats *st = job->stats;
    uint64_t t0 = now_ns();
    update_refs(h, job);
    uint64_t t1 = now_ns();
    st->edges = subtract_refs(h, job);
    uint64_t t2 = now_ns();
    int status = mark(h, job);
    uint64_t t3 = now_ns();
    st->ns_update_refs = t1 - t0;
    st->ns_subtract_refs = t2 - t1;
    st->ns_mark = t3 - t2;
    return status;
}

const backend_ops backend_cpu = {
    .name = "cpu",
    .kind = GPUGC_BACKEND_CPU,
    .mark = cpu_mark,
};

/* mark.h - what the mark kernels share: set membership, the control words
 * and claiming a target during the breadth-first search.
 *
 * The host defines, as build options: CARD_SHIFT, NO_ID, META_LIVE,
 * META_TRACKED, META_GEN_MASK and MAX_REFCOUNT, with internal.h's values.
 *
 * Device state of one collection:
 *   unreached  bitmap over ids in 32-bit words: set for a set member not
 *              reached yet (bits of non-members stay clear, so claiming a
 *              target also tests that it is in the set)
 *   level      per id: the breadth-first level at which it was reached,
 *              NOT_REACHED otherwise
 *   queue      every reached id in the order reached; level d's frontier
 *              is one contiguous stretch of it, so it never needs clearing
 *   ctl        the control words below
 */
#ifndef GPUGC_MARK_H
#define GPUGC_MARK_H

#define NOT_REACHED 0xffffffffu

#define CTL_TAIL 0    /* entries in queue                                */
#define CTL_CORRUPT 1 /* smallest member whose gc_refs went below zero,
                         NOT_REACHED if none                             */
#define CTL_EDGES 2   /* slots of the set's members                      */
#define CTL_WORDS 3

/* Whether an object with meta word m is in the set of a collection of
 * generation g: live, tracked, generation <= g. */
#define IN_SET(m, g)                                                           \
    (((m) & (META_LIVE | META_TRACKED)) == (META_LIVE | META_TRACKED) &&        \
     ((m) & META_GEN_MASK) <= (g))

/* Reaches j at level `depth` if j is an unreached set member: exactly one
 * work item clears its bit, and that one records its level and appends it
 * to the queue.  The plain load first skips the atomic for targets already
 * reached (bits only go from set to clear during the search, so a stale
 * value can only send us to the atomic, never skip a live bit). */
DEVICE_FN void claim(GLOBAL uint *unreached, GLOBAL uint *level, GLOBAL uint *queue,
                     GLOBAL uint *ctl, uint j, uint depth)
{
    uint bit = 1u << (j & 31u);
    if ((unreached[j >> 5] & bit) && (ATOMIC_AND(&unreached[j >> 5], ~bit) & bit)) {
        level[j] = depth;
        queue[ATOMIC_ADD(&ctl[CTL_TAIL], 1u)] = j;
    }
}

#endif /* GPUGC_MARK_H */

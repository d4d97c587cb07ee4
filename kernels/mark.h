/* mark.h - what the mark kernels and their hosts share: the kernel list,
 * the layout of the control words, set membership and claiming a target
 * during the breadth-first search.
 *
 * The host defines, as build options: CARD_SHIFT, NO_ID, META_LIVE,
 * META_TRACKED, META_GEN_MASK and MAX_REFCOUNT, with layout.h's values.
 * The host side (src/mark/device.h) includes this file for the layout only.
 *
 * Device state of one collection:
 *   unreached  bitmap over ids in 32-bit words: set for a set member not
 *              reached yet (bits of non-members stay clear, so claiming a
 *              target also tests that it is in the set)
 *   level      per id: the breadth-first level at which it was reached,
 *              NOT_REACHED otherwise
 *   queue      the members of the queued levels in the order reached: a
 *              queued level d is the stretch queue[start(d), + count(d)),
 *              so the queue never needs clearing.  A level is queued when
 *              the level before it was narrow (mark_level.cl); the roots,
 *              level 0, never are
 *   ctl        the control words below
 */
#ifndef GPUGC_MARK_H
#define GPUGC_MARK_H

/* Every kernel, in the order of the hosts' tables. */
#define KERNELS(X) X(scatter) X(subtract_refs) X(roots) X(mark_level)

#define NOT_REACHED 0xffffffffu

/* The control words.  Levels are launched ahead of the host knowing their
 * sizes (mark_level.cl), so each level's start, count and whether it is
 * queued live on the device, in a ring that the host reads back once per
 * batch of levels: a batch must be shorter than LEVEL_RING - 2 levels, or
 * its last levels would overwrite the first before the host has read them
 * (a level reads the two before it). */
#define CTL_CORRUPT 0 /* smallest member whose gc_refs went below zero,
                         NOT_REACHED if none                             */
#define CTL_EDGES 1   /* slots of the set's members                      */
#define CTL_LEVELS 2  /* the ring: start, count, queued of level d       */
#define LEVEL_RING 64u
#define CTL_START(d) (CTL_LEVELS + 3u * ((d) % LEVEL_RING))
#define CTL_COUNT(d) (CTL_START(d) + 1u)
#define CTL_QUEUED(d) (CTL_START(d) + 2u)
#define CTL_WORDS (CTL_LEVELS + 3u * LEVEL_RING)

#if defined(__OPENCL_VERSION__) || defined(__CUDACC__)

/* Whether an object with meta word m is in the set of a collection of
 * generation g: live, tracked, generation <= g. */
#define IN_SET(m, g)                                                           \
    (((m) & (META_LIVE | META_TRACKED)) == (META_LIVE | META_TRACKED) &&        \
     ((m) & META_GEN_MASK) <= (g))

/* Claims j for level `depth` if j is an unreached set member: exactly one
 * work item clears its bit, and that one records its level and gets 1.
 * The plain load first skips the atomic for targets already reached (bits
 * only go from set to clear during the search, so a stale value can only
 * send us to the atomic, never skip a live bit). */
DEVICE_FN uint claim(GLOBAL uint *RESTRICT unreached, GLOBAL uint *RESTRICT level, uint j,
                     uint depth)
{
    uint bit = 1u << (j & 31u);
    if ((unreached[j >> 5] & bit) && (ATOMIC_AND(&unreached[j >> 5], ~bit) & bit)) {
        level[j] = depth;
        return 1u;
    }
    return 0u;
}

#endif /* a kernel compiler */
#endif /* GPUGC_MARK_H */

/* mark_roots.cl - level 0 of the breadth-first mark: the members that are
 * referenced from outside the set.
 *
 * One work item per 32-bit word of the unreached bitmap.
 * Before: update_refs ran; start(0) and count(0) are 0, ctl[CTL_CORRUPT]
 *         is NOT_REACHED.
 * After:  every member i with gc_refs[i] > 0 has its bit cleared,
 *         level[i] = 0, and is in queue[0 .. count(0)); ctl[CTL_CORRUPT]
 *         is the smallest member whose gc_refs went below zero, if any (the
 *         host then reports corrupt counts and uses nothing of this search).
 *
 * Tuned by nothing: one pass over the set, like update_refs.
 */
KERNEL void mark_roots(GLOBAL const uint *gc_refs, GLOBAL uint *unreached, GLOBAL uint *level,
                       GLOBAL uint *queue, GLOBAL uint *ctl, uint nids)
{
    uint w = GLOBAL_ID();
    if (w * 32u >= nids)
        return;
    uint bits = unreached[w], left = bits;
    for (uint b = 0; b < 32u; b++) {
        if (!((bits >> b) & 1u))
            continue;
        uint i = w * 32u + b, r = gc_refs[i];
        if (r > MAX_REFCOUNT) {
            ATOMIC_MIN(&ctl[CTL_CORRUPT], i);
        } else if (r > 0) {
            left &= ~(1u << b);
            level[i] = 0;
            queue[APPEND(&ctl[CTL_COUNT(0u)])] = i;
        }
    }
    unreached[w] = left;
}

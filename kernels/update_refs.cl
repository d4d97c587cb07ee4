/* update_refs.cl - the second phase of the mark on a device: add the
 * refcounts, giving each member's references from outside the set.
 *
 * One work item per 32-bit word of the unreached bitmap (32 ids).
 * Before: subtract_refs ran; meta and rc mirror the host arrays for
 *         ids < nids.
 * After:  for every set member i (IN_SET for generation gen),
 *         gc_refs[i] = rc[i] - (slots of members holding i): above zero
 *         means referenced from outside the set, past MAX_REFCOUNT (below
 *         zero, wrapped) means the counts are corrupt; its unreached bit
 *         is set and every other bit of the word is clear;
 *         level[i] = NOT_REACHED for every id; ctl[CTL_EDGES] has grown by
 *         the members' slot counts.
 *
 * Tuned by the ids per work item: a whole bitmap word each, so that the
 * word is written once without atomics; the edge count goes up by one
 * atomic per word, not per object.
 */
KERNEL void update_refs(GLOBAL const uint *meta, GLOBAL const uint *rc,
                        GLOBAL const uint *slot_cnt, GLOBAL uint *gc_refs,
                        GLOBAL uint *unreached, GLOBAL uint *level, GLOBAL uint *ctl,
                        uint nids, uint gen)
{
    uint w = GLOBAL_ID();
    uint first = w * 32u;
    if (first >= nids)
        return;
    uint end = nids - first < 32u ? nids : first + 32u;
    uint bits = 0, edges = 0;
    for (uint i = first; i < end; i++) {
        level[i] = NOT_REACHED;
        if (IN_SET(meta[i], gen)) {
            gc_refs[i] += rc[i];
            bits |= 1u << (i - first);
            edges += slot_cnt[i];
        }
    }
    unreached[w] = bits;
    if (edges)
        ATOMIC_ADD(&ctl[CTL_EDGES], edges);
}

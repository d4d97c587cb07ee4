/* subtract_refs.cl - the second phase of the mark: drop the references
 * that come from inside the set.
 *
 * One work item per id.
 * Before: update_refs ran.
 * After:  gc_refs[i] of every set member i is its count minus the slots of
 *         set members that hold it: above zero means referenced from
 *         outside the set; past MAX_REFCOUNT (below zero, wrapped) means the
 *         counts are corrupt.  As in the serial reference, targets outside
 *         the set are decremented too (their entries are scratch nobody
 *         reads), which saves a membership test per edge.
 *
 * Tuned by nothing; the atomics contend only on popular targets.  The
 * j < nids test rejects NO_ID and keeps even a wrong mirror from writing
 * outside the array.
 */
KERNEL void subtract_refs(GLOBAL const uint *meta, GLOBAL const uint *slot_off,
                          GLOBAL const uint *slot_cnt, GLOBAL const uint *slots,
                          GLOBAL uint *gc_refs, uint nids, uint gen)
{
    uint i = GLOBAL_ID();
    if (i >= nids || !IN_SET(meta[i], gen))
        return;
    GLOBAL const uint *s = slots + slot_off[i];
    for (uint e = 0, n = slot_cnt[i]; e < n; e++) {
        uint j = s[e];
        if (j < nids)
            ATOMIC_SUB(&gc_refs[j], 1u);
    }
}

/* subtract_refs.cl - the first phase of the mark on a device: count the
 * references that come from inside the set.
 *
 * One work item per id.
 * Before: gc_refs is zero for every id.
 * After:  gc_refs[j] is minus the number of slots of set members that hold
 *         j.  As in the serial reference, targets outside the set are
 *         counted too (their entries are scratch nobody reads), which saves
 *         a membership test per edge.
 *
 * It runs before update_refs, the reverse of DESIGN.md's order, because it
 * does not need the refcounts: the host uploads them while it runs.
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

/* subtract_refs.cl - the first phase of the mark on a device: count the
 * references that come from inside the set.
 *
 * One work item per id; on CUDA a warp shares the scan of an object with
 * many slots (EACH_SLOT, dialect.h).
 * Before: gc_refs is zero for every id.
 * After:  gc_refs[j] is minus the number of slots of set members that hold
 *         j.  As in the serial reference, targets outside the set are
 *         counted too (their entries are scratch nobody reads), which saves
 *         a membership test per edge.
 *
 * It runs before update_refs (roots.cl), the reverse of DESIGN.md's order,
 * because it does not need the refcounts: they travel to the device while
 * it runs.
 *
 * Tuned by nothing; the atomics contend only on popular targets.  The
 * j < nids test rejects NO_ID and keeps even a wrong mirror from writing
 * outside the array.
 */
KERNEL void subtract_refs(GLOBAL const uint *RESTRICT meta, GLOBAL const uint *RESTRICT slot_off,
                          GLOBAL const uint *RESTRICT slot_cnt, GLOBAL const uint *RESTRICT slots,
                          GLOBAL uint *RESTRICT gc_refs, uint nids, uint gen)
{
    uint i = GLOBAL_ID();
    if (i >= nids || !IN_SET(meta[i], gen))
        return;
    EACH_SLOT(slots, slot_off[i], slot_cnt[i], j, if (j < nids) ATOMIC_SUB(&gc_refs[j], 1u));
}

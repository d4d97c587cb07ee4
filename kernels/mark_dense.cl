/* mark_dense.cl - one level of the breadth-first mark for a frontier that
 * is a large part of the set: every id checks whether it is on the
 * frontier (level[i] == depth - 1) and, if so, scans its slots.
 *
 * This is our form of the direction-optimizing switch (Beamer, SC'12).  A
 * true bottom-up step has each unreached vertex search its in-edges for a
 * reached parent; the mirror keeps only out-edges (building in-edges per
 * collection would cost the transfer the mirror exists to avoid), so the
 * dense step keeps the top-down direction but trades the queue's random
 * reads for one streaming pass over level, slot_off and slot_cnt in id
 * order.
 *
 * One work item per id.
 * Before/after: as mark_sparse, with the frontier given by level instead
 * of by a stretch of the queue; the queue still receives level depth, so
 * the next level may be either step.
 *
 * Tuned by the host's DENSE_DIV (mark_opencl.c).
 */
KERNEL void mark_dense(GLOBAL const uint *slot_off, GLOBAL const uint *slot_cnt,
                       GLOBAL const uint *slots, GLOBAL uint *unreached, GLOBAL uint *level,
                       GLOBAL uint *queue, GLOBAL uint *ctl, uint depth, uint nids)
{
    uint i = GLOBAL_ID();
    if (i >= nids || level[i] != depth - 1u)
        return;
    GLOBAL const uint *s = slots + slot_off[i];
    for (uint e = 0, c = slot_cnt[i]; e < c; e++) {
        uint j = s[e];
        if (j < nids)
            claim(unreached, level, queue, ctl, j, depth);
    }
}

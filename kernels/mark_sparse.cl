/* mark_sparse.cl - one level of the breadth-first mark, top-down from a
 * frontier queue: the step for frontiers that are a small part of the set.
 *
 * One work item per frontier entry queue[head + k], k < n.
 * Before: queue[head .. head + n) is level depth - 1, fully scanned levels
 *         before it; their members' bits are clear.
 * After:  every unreached member referenced by a slot of the frontier is
 *         reached (claim): bit cleared, level = depth, appended to the queue
 *         after ctl[CTL_TAIL]'s old value.
 *
 * Tuned by the host's DENSE_DIV (mark_opencl.c), which decides when a level
 * is dense enough for mark_dense instead.
 */
KERNEL void mark_sparse(GLOBAL const uint *slot_off, GLOBAL const uint *slot_cnt,
                        GLOBAL const uint *slots, GLOBAL uint *unreached, GLOBAL uint *level,
                        GLOBAL uint *queue, GLOBAL uint *ctl, uint head, uint n, uint depth,
                        uint nids)
{
    uint k = GLOBAL_ID();
    if (k >= n)
        return;
    uint i = queue[head + k];
    GLOBAL const uint *s = slots + slot_off[i];
    for (uint e = 0, c = slot_cnt[i]; e < c; e++) {
        uint j = s[e];
        if (j < nids)
            claim(unreached, level, queue, ctl, j, depth);
    }
}

/* mark_level.cl - one level of the breadth-first mark, launched before the
 * host knows how wide the frontier is: it reads the frontier's place from
 * the control words, so the host queues a batch of levels and reads their
 * sizes back once per batch instead of once per level.
 *
 * A fixed number of work items strides over the work, which takes one of
 * two forms, chosen alike by every work item from the frontier's size:
 *   sparse  (count < dense_min) the frontier's stretch of the queue, one
 *           entry per step: top-down from a queue;
 *   dense   every id, keeping those with level == depth - 1: one streaming
 *           pass over level, slot_off and slot_cnt instead of the queue's
 *           random reads, when the frontier is a large part of the set.
 * The dense form is our version of the direction-optimizing switch
 * (Beamer, SC'12).  A true bottom-up step has each unreached vertex search
 * its in-edges; the mirror keeps only out-edges, and building in-edges per
 * collection would cost the transfer the mirror exists to avoid.
 *
 * Before: level depth - 1 is queue[start(depth-1), + count(depth-1)),
 *         every level before it fully scanned; count(depth) is 0.
 * After:  every unreached member referenced by a slot of level depth - 1
 *         is reached (claim) into level depth, which starts where level
 *         depth - 1 ends; count(depth + 1) is 0 for the next launch.  A
 *         launch past the end of the search (count(depth-1) == 0) only
 *         records an empty level.
 *
 * Tuned by the host's DENSE_DIV and LEVEL_ITEMS (mark/device.c).
 */
DEVICE_FN void scan(GLOBAL const uint *slot_off, GLOBAL const uint *slot_cnt,
                    GLOBAL const uint *slots, GLOBAL uint *unreached, GLOBAL uint *level,
                    GLOBAL uint *queue, GLOBAL uint *count, uint start, uint i, uint depth,
                    uint nids)
{
    GLOBAL const uint *s = slots + slot_off[i];
    for (uint e = 0, c = slot_cnt[i]; e < c; e++) {
        uint j = s[e];
        if (j < nids)
            claim(unreached, level, queue, count, start, j, depth);
    }
}

KERNEL void mark_level(GLOBAL const uint *slot_off, GLOBAL const uint *slot_cnt,
                       GLOBAL const uint *slots, GLOBAL uint *unreached, GLOBAL uint *level,
                       GLOBAL uint *queue, GLOBAL uint *ctl, uint depth, uint nids,
                       uint dense_min)
{
    uint g = GLOBAL_ID(), stride = GLOBAL_SIZE();
    uint head = ctl[CTL_START(depth - 1u)], n = ctl[CTL_COUNT(depth - 1u)];
    uint start = head + n;
    GLOBAL uint *count = &ctl[CTL_COUNT(depth)];
    if (g == 0) {
        ctl[CTL_START(depth)] = start;
        ctl[CTL_COUNT(depth + 1u)] = 0;
    }
    if (n == 0)
        return;
    /* Each loop stops before i + stride could wrap past 2^32. */
    if (n >= dense_min) {
        for (uint i = g; i < nids; i += stride) {
            if (level[i] == depth - 1u)
                scan(slot_off, slot_cnt, slots, unreached, level, queue, count, start, i, depth,
                     nids);
            if (nids - i <= stride)
                break;
        }
    } else {
        for (uint k = g; k < n; k += stride) {
            scan(slot_off, slot_cnt, slots, unreached, level, queue, count, start,
                 queue[head + k], depth, nids);
            if (n - k <= stride)
                break;
        }
    }
}

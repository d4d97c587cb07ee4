/* mark_level.cl - one level of the breadth-first mark, launched before the
 * host knows how wide the frontier is: it reads the frontier's place from
 * the control words, so the host queues a batch of levels and reads their
 * sizes back once per batch instead of once per level.
 *
 * A fixed number of work items strides over the work, which takes one of
 * two forms, chosen alike by every work item:
 *   sparse  the frontier's stretch of the queue, one entry per step
 *           (top-down from a queue), when the frontier is queued and
 *           narrow: count < dense_min;
 *   dense   every id, keeping those with level == depth - 1: one streaming
 *           pass over level, slot_off and slot_cnt instead of the queue's
 *           random reads, when the frontier is a large part of the set or
 *           was not queued.
 * The dense form is our version of the direction-optimizing switch
 * (Beamer, SC'12).  A true bottom-up step has each unreached vertex search
 * its in-edges; the mirror keeps only out-edges, and building in-edges per
 * collection would cost the transfer the mirror exists to avoid.
 *
 * What a level reaches is queued only when its frontier was narrow: the
 * next level may then go sparse.  After a wide frontier the next level is
 * dense whatever its size, so it needs no queue, and its work items only
 * count what they reached, adding their counts once each (COUNT_ADD)
 * instead of every reached member taking a place through one counter.  A
 * search that narrows after wide levels pays one dense pass more.
 *
 * Before: level depth - 1 is known (start, count, queued), every level
 *         before it fully scanned; count(depth) is 0.
 * After:  every unreached member referenced by a slot of level depth - 1
 *         is reached (claim) into level depth, queued (from the end of
 *         level depth - 1's stretch) if count(depth - 1) < dense_min;
 *         count(depth + 1) is 0 for the next launch.  A launch past the end
 *         of the search (count(depth - 1) == 0) only records an empty level.
 *
 * Tuned by the host's DENSE_DIV and the launch size (mark/device.c).
 */
DEVICE_FN uint scan(GLOBAL const uint *RESTRICT slot_off, GLOBAL const uint *RESTRICT slot_cnt,
                    GLOBAL const uint *RESTRICT slots, GLOBAL uint *RESTRICT unreached,
                    GLOBAL uint *RESTRICT level, GLOBAL uint *RESTRICT queue,
                    GLOBAL uint *RESTRICT count, uint start, uint i, uint depth, uint nids,
                    uint queued)
{
    uint reached = 0;
    EACH_SLOT(slots, slot_off[i], slot_cnt[i], j,
              if (j < nids && claim(unreached, level, j, depth)) {
                  if (queued)
                      queue[start + APPEND(count)] = j;
                  else
                      reached++;
              });
    return reached;
}

KERNEL void mark_level(GLOBAL const uint *RESTRICT slot_off, GLOBAL const uint *RESTRICT slot_cnt,
                       GLOBAL const uint *RESTRICT slots, GLOBAL uint *RESTRICT unreached,
                       GLOBAL uint *RESTRICT level, GLOBAL uint *RESTRICT queue,
                       GLOBAL uint *RESTRICT ctl, uint depth, uint nids, uint dense_min)
{
    uint g = GLOBAL_ID(), stride = GLOBAL_SIZE();
    uint head = ctl[CTL_START(depth - 1u)], n = ctl[CTL_COUNT(depth - 1u)];
    uint from_queue = ctl[CTL_QUEUED(depth - 1u)], queued = n < dense_min;
    uint start = from_queue ? head + n : head;
    GLOBAL uint *count = &ctl[CTL_COUNT(depth)];
    if (g == 0) {
        ctl[CTL_START(depth)] = start;
        ctl[CTL_QUEUED(depth)] = queued;
        ctl[CTL_COUNT(depth + 1u)] = 0;
    }
    if (n == 0)
        return;
    uint reached = 0;
    /* Each loop stops before i + stride could wrap past 2^32. */
    if (from_queue && queued) {
        for (uint k = g; k < n; k += stride) {
            reached += scan(slot_off, slot_cnt, slots, unreached, level, queue, count, start,
                            queue[head + k], depth, nids, queued);
            if (n - k <= stride)
                break;
        }
    } else {
        for (uint i = g; i < nids; i += stride) {
            if (level[i] == depth - 1u)
                reached += scan(slot_off, slot_cnt, slots, unreached, level, queue, count, start,
                                i, depth, nids, queued);
            if (nids - i <= stride)
                break;
        }
    }
    COUNT_ADD(count, reached);
}

/* roots.cl - update_refs and level 0 of the breadth-first mark in one pass:
 * each set member's references from outside the set, and the members that
 * have some (the roots).
 *
 * Before: subtract_refs ran (gc_refs[j] is minus the slots of members that
 *         hold j) and the refcounts rc are on the device; ctl[CTL_CORRUPT]
 *         is NOT_REACHED, ctl[CTL_EDGES] and count(0) are 0.
 * After:  for every id i: level[i] = 0 if i is a set member with
 *         rc[i] + gc_refs[i] > 0 (a root), else NOT_REACHED; the unreached
 *         bitmap has exactly the other members' bits (a sum past
 *         MAX_REFCOUNT, below zero wrapped, counts as not a root);
 *         count(0) is the number of roots, which are not queued (level 1
 *         finds them by their level); ctl[CTL_EDGES] has grown by the
 *         members' slot counts; ctl[CTL_CORRUPT] is the smallest member
 *         whose sum went below zero, if any (the host then reports corrupt
 *         counts and uses nothing of this search).
 *
 * The sums are not written back: nothing after this pass reads gc_refs.
 * Where WARP_BALLOT (dialect.h), one work item per id, coalesced, a warp's
 * ballot making each bitmap word; elsewhere one per 32-bit word, which
 * then writes its word once without atomics.
 */
DEVICE_FN uint unreached_member(GLOBAL const uint *RESTRICT meta, GLOBAL const uint *RESTRICT rc,
                                GLOBAL const uint *RESTRICT slot_cnt,
                                GLOBAL const uint *RESTRICT gc_refs, GLOBAL uint *RESTRICT level,
                                GLOBAL uint *RESTRICT ctl, uint i, uint gen, uint *edges,
                                uint *roots)
{
    if (!IN_SET(meta[i], gen)) {
        level[i] = NOT_REACHED;
        return 0u;
    }
    uint r = gc_refs[i] + rc[i];
    *edges += slot_cnt[i];
    if (r > MAX_REFCOUNT)
        ATOMIC_MIN(&ctl[CTL_CORRUPT], i);
    if (r > 0u && r <= MAX_REFCOUNT) {
        level[i] = 0u;
        *roots += 1u;
        return 0u;
    }
    level[i] = NOT_REACHED;
    return 1u;
}

KERNEL void roots(GLOBAL const uint *RESTRICT meta, GLOBAL const uint *RESTRICT rc,
                  GLOBAL const uint *RESTRICT slot_cnt, GLOBAL const uint *RESTRICT gc_refs,
                  GLOBAL uint *RESTRICT unreached, GLOBAL uint *RESTRICT level,
                  GLOBAL uint *RESTRICT ctl, uint nids, uint gen)
{
    uint words = nids / 32u + (nids % 32u != 0u), edges = 0, found = 0;
#if WARP_BALLOT
    /* Whole warps leave together: the test is the same for the 32 ids of a
     * word, so every lane of a warp that stays reaches the ballot. */
    uint i = GLOBAL_ID();
    if (i / 32u >= words)
        return;
    uint word = BALLOT(i < nids && unreached_member(meta, rc, slot_cnt, gc_refs, level, ctl, i,
                                                    gen, &edges, &found));
    if (i % 32u == 0u)
        unreached[i / 32u] = word;
#else
    uint w = GLOBAL_ID();
    if (w >= words)
        return;
    uint first = w * 32u, n = nids - first < 32u ? nids - first : 32u, word = 0;
    for (uint b = 0; b < n; b++)
        word |= unreached_member(meta, rc, slot_cnt, gc_refs, level, ctl, first + b, gen, &edges,
                                 &found)
                << b;
    unreached[w] = word;
#endif
    COUNT_ADD(&ctl[CTL_EDGES], edges);
    COUNT_ADD(&ctl[CTL_COUNT(0u)], found);
}

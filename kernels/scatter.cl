/* scatter.cl - places uploaded dirty cards into a mirrored array.
 *
 * Computes, for each work item k < n: with card = cards[k >> CARD_SHIFT]
 * and lane = k mod CARD_SIZE, dst[card * CARD_SIZE + lane] = data[first + k],
 * skipping indices at or past `limit` (the end of the array).  The host
 * packs the dirty cards of an array group as one list of card indices and
 * one block of their contents, array after array (mirror.c); one launch
 * per mirrored array, `first` selecting that array's block.
 *
 * Tuned by CARD_SHIFT (src/mark/layout.h): larger cards mean fewer indices to
 * move and fewer dirty-bit tests, but more unchanged entries copied along.
 */
KERNEL void scatter(GLOBAL uint *RESTRICT dst, GLOBAL const uint *RESTRICT cards,
                    GLOBAL const uint *RESTRICT data, uint first, uint n, uint limit)
{
    uint k = GLOBAL_ID();
    if (k >= n)
        return;
    uint at = (cards[k >> CARD_SHIFT] << CARD_SHIFT) + (k & ((1u << CARD_SHIFT) - 1u));
    if (at < limit)
        dst[at] = data[first + k];
}

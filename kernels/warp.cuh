/* warp.cuh - dialect.h's APPEND, COUNT_ADD and EACH_SLOT for CUDA: the
 * threads of a warp that are converged share the work.
 *
 * APPEND and COUNT_ADD: every reached object goes through one counter per
 * level, so on a wide level thousands of threads would update the same
 * word one by one; the converged threads (the group coalesced_threads()
 * gives) take their places, or add their sums, with one atomic between
 * them, which divides that traffic by up to 32.  Every call in a launch
 * passes the same counter.
 *
 * EACH_SLOT: a thread alone would scan an object of 10^5 slots (a Python
 * container, a power-law hub) while its warp's other threads wait, its
 * reads one word at a time.  The converged threads first vote on which of
 * them hold an object of WIDE_SLOTS slots or more and scan each such
 * object together, lane by lane over consecutive words (coalesced reads);
 * then each scans its own narrow object alone.
 */
#ifndef GPUGC_WARP_CUH
#define GPUGC_WARP_CUH

#include <cooperative_groups.h>

static __device__ inline unsigned int warp_append(unsigned int *counter)
{
    namespace cg = cooperative_groups;
    cg::coalesced_group active = cg::coalesced_threads();
    unsigned int first = 0;
    if (active.thread_rank() == 0)
        first = atomicAdd(counter, active.size());
    return active.shfl(first, 0) + active.thread_rank();
}

/* __reduce_add_sync needs sm_80, the oldest architecture built for
 * (src/CMakeLists.txt); the lowest active lane adds the sum. */
static __device__ inline void warp_count(unsigned int *counter, unsigned int v)
{
    unsigned int lanes = __activemask();
    unsigned int sum = __reduce_add_sync(lanes, v);
    if (!(lanes & ((1u << (threadIdx.x & 31u)) - 1u)) && sum)
        atomicAdd(counter, sum);
}

/* A warp's 32 reads of one object's slots fill a 128-byte line. */
#define WIDE_SLOTS 32u

/* The lanes active here (lanes_) agree on the wide objects among them
 * (one ballot), so each __shfl_sync below is reached by all of lanes_ the
 * same number of times; lane rank_ of size_ takes every size_-th slot. */
#define WARP_EACH_SLOT(slots, off, cnt, j, stmt)                               \
    do {                                                                       \
        uint off_ = (off), cnt_ = (cnt);                                       \
        unsigned lanes_ = __activemask();                                      \
        unsigned wide_ = __ballot_sync(lanes_, cnt_ >= WIDE_SLOTS);            \
        unsigned rank_ = __popc(lanes_ & ((1u << (threadIdx.x & 31u)) - 1u));  \
        unsigned size_ = __popc(lanes_);                                       \
        while (wide_) {                                                        \
            int lane_ = __ffs(wide_) - 1;                                      \
            wide_ &= wide_ - 1u;                                               \
            uint o_ = __shfl_sync(lanes_, off_, lane_);                        \
            uint c_ = __shfl_sync(lanes_, cnt_, lane_);                        \
            for (uint e_ = rank_; e_ < c_; e_ += size_) {                      \
                uint j = (slots)[o_ + e_];                                     \
                stmt;                                                          \
            }                                                                  \
        }                                                                      \
        if (cnt_ < WIDE_SLOTS)                                                 \
            for (uint e_ = 0; e_ < cnt_; e_++) {                               \
                uint j = (slots)[off_ + e_];                                   \
                stmt;                                                          \
            }                                                                  \
    } while (0)

#endif /* GPUGC_WARP_CUH */

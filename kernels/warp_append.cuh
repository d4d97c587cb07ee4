/* warp_append.cuh - APPEND for CUDA (dialect.h): the threads of a warp
 * that append at the same moment take their places with one atomic
 * between them.
 *
 * Every reached object is appended to its level's stretch of the queue
 * through one counter, so on a wide level thousands of threads would
 * increment the same word one by one; aggregating per warp divides that
 * traffic by up to 32.  The threads that are converged here (the group
 * coalesced_threads() gives) all append to the same counter, because every
 * call in a launch passes the same one.  OpenCL C 1.2 has no portable warp
 * intrinsics, so there APPEND stays a plain atomic increment: the same
 * indices up to their order within a level, which nothing depends on.
 */
#ifndef GPUGC_WARP_APPEND_CUH
#define GPUGC_WARP_APPEND_CUH

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

#endif /* GPUGC_WARP_APPEND_CUH */

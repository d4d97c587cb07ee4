/* dialect.h - maps the kernels of this directory onto OpenCL C 1.2 and CUDA,
 * so that both GPU backends compile the same source.
 *
 * A kernel file uses only what this header defines: KERNEL before a kernel,
 * DEVICE_FN before a helper function, GLOBAL before a pointer into device
 * memory and RESTRICT after it (no two kernel arguments name the same
 * buffer), GLOBAL_ID() for the work item's index in a one-dimensional
 * launch and GLOBAL_SIZE() for the launch's number of work items, `uint`
 * for 32-bit words, and:
 *   ATOMIC_*(p, v)  the 32-bit atomics, each returning the word's old value
 *   APPEND(c)       a distinct index below counter c's final value to each
 *                   work item that calls it (an atomic increment)
 *   COUNT_ADD(c, v) adds v to counter c (an atomic add, skipped for 0)
 *   EACH_SLOT(slots, off, cnt, j, stmt)
 *                   runs stmt with `uint j` holding each of the cnt words
 *                   at slots[off..]: the slots of one object
 *   WARP_BALLOT     1 where 32 consecutive work items (a warp) can build a
 *                   32-bit word from their votes, BALLOT(vote); 0 elsewhere.
 *                   A kernel that builds bitmap words so is launched with
 *                   32 items per word on such a device, 1 elsewhere (the
 *                   host's word_items, mark/device.h)
 * On CUDA, APPEND, COUNT_ADD and EACH_SLOT share work across the threads of
 * a warp (warp.cuh); OpenCL C 1.2 has no portable warp intrinsics, so there
 * they are the plain loop and atomics, with the same results up to the
 * order of a level's queue entries, which nothing depends on.  No kernel
 * uses barriers or local memory.  The sources are compiled as one unit:
 * dialect.h, mark.h, then every kernel file; the host passes the constants
 * (CARD_SHIFT, NO_ID, META_*, MAX_REFCOUNT) as -D options.
 */
#ifndef GPUGC_DIALECT_H
#define GPUGC_DIALECT_H

#if defined(__CUDACC__)
typedef unsigned int uint;
#define KERNEL static __global__
#define GLOBAL
#define RESTRICT __restrict__
#define DEVICE_FN static __device__ inline
#define GLOBAL_ID() ((uint)(blockIdx.x * blockDim.x + threadIdx.x))
#define GLOBAL_SIZE() ((uint)(gridDim.x * blockDim.x))
#define ATOMIC_ADD(p, v) atomicAdd((p), (v))
#define ATOMIC_SUB(p, v) atomicSub((p), (v))
#define ATOMIC_AND(p, v) atomicAnd((p), (v))
#define ATOMIC_MIN(p, v) atomicMin((p), (v))
#define APPEND(counter) warp_append(counter)
#define COUNT_ADD(counter, v) warp_count((counter), (v))
#define EACH_SLOT(slots, off, cnt, j, stmt) WARP_EACH_SLOT(slots, off, cnt, j, stmt)
#define WARP_BALLOT 1
#define BALLOT(vote) __ballot_sync(0xffffffffu, (vote))
#include "warp.cuh"
#elif defined(__OPENCL_VERSION__)
#define KERNEL __kernel
#define GLOBAL __global
#define RESTRICT restrict
#define DEVICE_FN static inline
#define GLOBAL_ID() ((uint)get_global_id(0))
#define GLOBAL_SIZE() ((uint)get_global_size(0))
#define ATOMIC_ADD(p, v) atomic_add((p), (v))
#define ATOMIC_SUB(p, v) atomic_sub((p), (v))
#define ATOMIC_AND(p, v) atomic_and((p), (v))
#define ATOMIC_MIN(p, v) atomic_min((p), (v))
#define APPEND(counter) atomic_add((counter), 1u)
#define COUNT_ADD(counter, v)                                                  \
    do {                                                                       \
        uint v_ = (v);                                                         \
        if (v_)                                                                \
            atomic_add((counter), v_);                                         \
    } while (0)
#define EACH_SLOT(slots, off, cnt, j, stmt)                                    \
    for (uint e_ = 0, o_ = (off), c_ = (cnt); e_ < c_; e_++) {                 \
        uint j = (slots)[o_ + e_];                                             \
        stmt;                                                                  \
    }
#define WARP_BALLOT 0
#else
#error "dialect.h: compile as OpenCL C or as CUDA"
#endif

#endif /* GPUGC_DIALECT_H */

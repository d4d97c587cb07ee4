/* dialect.h - maps the kernels of this directory onto OpenCL C 1.2 and CUDA,
 * so that both GPU backends compile the same source.
 *
 * A kernel file uses only what this header defines: KERNEL before a kernel,
 * DEVICE_FN before a helper function, GLOBAL before a pointer into device
 * memory, GLOBAL_ID() for the work item's index in a one-dimensional
 * launch and GLOBAL_SIZE() for the launch's number of work items, `uint`
 * for 32-bit words, the 32-bit atomics below, each of which returns the
 * word's old value, and APPEND(counter), which returns a distinct index
 * below the counter's final value to each work item that calls it (an
 * atomic increment; on CUDA, one atomic per warp: warp_append.cuh).  No
 * kernel uses barriers or local memory.  The sources are compiled as one
 * unit: dialect.h, mark.h, then every kernel file; the host passes the
 * constants (CARD_SHIFT, NO_ID, META_*, MAX_REFCOUNT) as -D options.
 */
#ifndef GPUGC_DIALECT_H
#define GPUGC_DIALECT_H

#if defined(__CUDACC__)
typedef unsigned int uint;
#define KERNEL static __global__
#define GLOBAL
#define DEVICE_FN static __device__ inline
#define GLOBAL_ID() ((uint)(blockIdx.x * blockDim.x + threadIdx.x))
#define GLOBAL_SIZE() ((uint)(gridDim.x * blockDim.x))
#define APPEND(counter) warp_append(counter)
#define ATOMIC_ADD(p, v) atomicAdd((p), (v))
#define ATOMIC_SUB(p, v) atomicSub((p), (v))
#define ATOMIC_AND(p, v) atomicAnd((p), (v))
#define ATOMIC_MIN(p, v) atomicMin((p), (v))
#elif defined(__OPENCL_VERSION__)
#define KERNEL __kernel
#define GLOBAL __global
#define DEVICE_FN static inline
#define GLOBAL_ID() ((uint)get_global_id(0))
#define GLOBAL_SIZE() ((uint)get_global_size(0))
#define APPEND(counter) atomic_add((counter), 1u)
#define ATOMIC_ADD(p, v) atomic_add((p), (v))
#define ATOMIC_SUB(p, v) atomic_sub((p), (v))
#define ATOMIC_AND(p, v) atomic_and((p), (v))
#define ATOMIC_MIN(p, v) atomic_min((p), (v))
#else
#error "dialect.h: compile as OpenCL C or as CUDA"
#endif

#if defined(__CUDACC__)
#include "warp_append.cuh"
#endif

#endif /* GPUGC_DIALECT_H */

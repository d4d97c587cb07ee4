/* mark_cuda.cu - the kernels of this directory compiled as CUDA for the
 * CUDA backend (src/mark/cuda.c), and the table it launches them by.
 *
 * The same sources the OpenCL backend builds at run time, here compiled
 * ahead of time: dialect.h maps them onto CUDA, and the constants the
 * OpenCL host passes as build options come from the headers the host
 * code uses.
 */
#include "gpugc.h"
#include "layout.h"
#define MAX_REFCOUNT GPUGC_MAX_REFCOUNT

#include "dialect.h"
#include "mark.h"
#include "kernel_list.cuh" /* each kernel's .cl, generated from KERNELS */

/* In the order of the K_* ids (src/mark/device.h). */
#define KERNEL_ADDRESS(name) (const void *)name,
extern "C" const void *const gpugc__cuda_kernels[] = {KERNELS(KERNEL_ADDRESS)};

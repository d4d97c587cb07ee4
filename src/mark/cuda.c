/* cuda.c - the CUDA backend: the device mark (mark/device.c) over the
 * CUDA runtime, with the kernels of kernels/ compiled ahead of time
 * (kernels/mark_cuda.cu).
 *
 * Per heap, made when the backend is opened: the first device CUDA lists
 * (CUDA_VISIBLE_DEVICES chooses), two non-blocking streams (the queue, and
 * the one uploads queued aside run on), an event that orders the queue
 * after the aside uploads, and the events of the time stamps.  Host
 * staging (dirty cards, control words, the bitmap) is pinned, so those
 * copies run asynchronously at full speed; the refcounts are copied
 * straight from the heap's array, registered as pinned memory
 * (cudaHostRegister, dropped before the array grows), on the aside stream,
 * while the mirror syncs and subtract_refs runs.
 *
 * Without a driver or a device, the backend is unavailable with CUDA's
 * reason and AUTO marks on the CPU.  A sticky error (an illegal address,
 * a failed launch: the process's CUDA context is unusable from then on)
 * marks the backend lost: every later mark fails at once, reported and
 * counted, and collect.c marks on the CPU.
 */
#include "mark/device.h"

#include <cuda_runtime_api.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The kernels, in the order of the K_* ids (kernels/mark_cuda.cu). */
extern const void *const gpugc__cuda_kernels[];

/* ---- tunables ------------------------------------------------------------ */

/* Threads per block: eight warps, so that a block's threads fill an SM's
 * schedulers while leaving room for several blocks per SM. */
#define BLOCK 256u

/* Kernel arguments at most (mark_level has 10). */
#define MAX_ARGS 16

/* ---- state ----------------------------------------------------------------- */

typedef struct cuda {
    device_mark m;
    int device;
    size_t level_items;      /* SMs x resident mark_level threads per SM   */
    cudaStream_t q, aside;
    cudaEvent_t joined;      /* the aside uploads, for the queue to wait on */
    cudaEvent_t stamps[STAMPS];
    bool lost;               /* a sticky error happened                    */
} cuda;

/* ---- errors ---------------------------------------------------------------- */

/* GPUGC_OK for cudaSuccess; otherwise finds out whether the error is
 * sticky (then every call fails alike), reports what failed unless h is
 * NULL, and returns GPUGC_ENOMEM for exhausted memory, GPUGC_EDEVICE for
 * anything else. */
static int check(gpugc_heap *h, cuda *s, cudaError_t err, const char *what) {
    if (err == cudaSuccess)
        return GPUGC_OK;
    cudaGetLastError(); /* clears an error that is not sticky */
    if (!s->lost && cudaDeviceSynchronize() != cudaSuccess)
        s->lost = true;
    int st = err == cudaErrorMemoryAllocation ? GPUGC_ENOMEM : GPUGC_EDEVICE;
    if (!h)
        return st;
    return gpugc__set_error(h, st, "cuda: %s failed: %s (%s)%s", what, cudaGetErrorName(err),
                     cudaGetErrorString(err),
                     s->lost ? "; the device is unusable in this process from now on" : "");
}

/* ---- the device API -------------------------------------------------------------- */

/* The kernels are in the library, and cu_create checked that they run on
 * this device; what is left is a device lost to a sticky error. */
static int cu_load(gpugc_heap *h, void *dev) {
    cuda *s = dev;
    if (s->lost)
        return gpugc__set_error(h, GPUGC_EDEVICE,
                         "cuda: the device has been unusable since an earlier sticky error");
    return GPUGC_OK;
}

static void cu_unload(void *dev) {
    (void)dev;
}

static size_t cu_level_items(void *dev) {
    cuda *s = dev;
    return s->level_items;
}

static int cu_alloc(gpugc_heap *h, void *dev, void **buf, size_t bytes) {
    cuda *s = dev;
    *buf = NULL;
    return check(h, s, cudaMalloc(buf, bytes), "cudaMalloc");
}

static void cu_release(void *dev, void *buf) {
    (void)dev;
    cudaFree(buf);
}

static void *cu_host_alloc(void *dev, size_t bytes) {
    (void)dev;
    void *p = NULL;
    if (cudaMallocHost(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

static void cu_host_free(void *dev, void *p) {
    (void)dev;
    cudaFreeHost(p);
}

/* Portable: the streams of every context may copy from it. */
static bool cu_pin(void *dev, void *p, size_t bytes) {
    (void)dev;
    if (cudaHostRegister(p, bytes, cudaHostRegisterPortable) == cudaSuccess)
        return true;
    cudaGetLastError(); /* not sticky: the copies take the pageable path */
    return false;
}

static void cu_unpin(void *dev, void *p) {
    (void)dev;
    if (cudaHostUnregister(p) != cudaSuccess)
        cudaGetLastError();
}

static int cu_upload(gpugc_heap *h, void *dev, void *buf, size_t off, const void *src,
                     size_t bytes, bool aside) {
    cuda *s = dev;
    return check(h, s,
                 cudaMemcpyAsync((char *)buf + off, src, bytes, cudaMemcpyHostToDevice,
                                 aside ? s->aside : s->q),
                 "cudaMemcpyAsync (to the device)");
}

static int cu_join(gpugc_heap *h, void *dev) {
    cuda *s = dev;
    cudaError_t err = cudaEventRecord(s->joined, s->aside);
    if (err == cudaSuccess)
        err = cudaStreamWaitEvent(s->q, s->joined, 0);
    return check(h, s, err, "ordering the queue after the uploads aside");
}

static int cu_stamp(gpugc_heap *h, void *dev, unsigned k) {
    cuda *s = dev;
    return check(h, s, cudaEventRecord(s->stamps[k], s->q), "cudaEventRecord");
}

static int cu_elapsed(gpugc_heap *h, void *dev, unsigned a, unsigned b, uint64_t *ns) {
    cuda *s = dev;
    float ms = 0;
    cudaError_t err = cudaEventSynchronize(s->stamps[b]);
    if (err == cudaSuccess)
        err = cudaEventElapsedTime(&ms, s->stamps[a], s->stamps[b]);
    *ns = ms > 0 ? (uint64_t)((double)ms * 1e6) : 0;
    return check(h, s, err, "reading the time stamps");
}

static int cu_zero(gpugc_heap *h, void *dev, void *buf, size_t bytes) {
    cuda *s = dev;
    return check(h, s, cudaMemsetAsync(buf, 0, bytes, s->q), "cudaMemsetAsync");
}

static int cu_launch(gpugc_heap *h, void *dev, int k, size_t items, const karg *arg,
                     unsigned nargs) {
    cuda *s = dev;
    void *args[MAX_ARGS];
    for (unsigned a = 0; a < nargs && a < MAX_ARGS; a++)
        args[a] = (void *)arg[a].value;
    dim3 grid = {(unsigned)((items + BLOCK - 1) / BLOCK), 1, 1}, block = {BLOCK, 1, 1};
    return check(h, s, cudaLaunchKernel(gpugc__cuda_kernels[k], grid, block, args, 0, s->q),
                 "launching a kernel");
}

static int cu_finish(gpugc_heap *h, void *dev) {
    cuda *s = dev;
    cudaError_t err = cudaStreamSynchronize(s->q);
    if (err == cudaSuccess)
        err = cudaStreamSynchronize(s->aside);
    return check(h, s, err, "waiting for the device");
}

static int cu_download(gpugc_heap *h, void *dev, void *buf, size_t off, void *dst,
                       size_t bytes) {
    cuda *s = dev;
    int rc = check(h, s,
                   cudaMemcpyAsync(dst, (const char *)buf + off, bytes, cudaMemcpyDeviceToHost,
                                   s->q),
                   "cudaMemcpyAsync (from the device)");
    return rc == GPUGC_OK ? cu_finish(h, dev) : rc;
}

static const device_api cuda_api = {
    .name = "cuda",
    .load = cu_load,
    .unload = cu_unload,
    .level_items = cu_level_items,
    .word_items = 32,
    .alloc = cu_alloc,
    .release = cu_release,
    .host_alloc = cu_host_alloc,
    .host_free = cu_host_free,
    .pin = cu_pin,
    .unpin = cu_unpin,
    .upload = cu_upload,
    .join = cu_join,
    .stamp = cu_stamp,
    .elapsed = cu_elapsed,
    .zero = cu_zero,
    .launch = cu_launch,
    .download = cu_download,
    .finish = cu_finish,
};

/* ---- the backend ------------------------------------------------------------------- */

/* Whether CUDA finds a driver and a device; asked once per process (two
 * threads asking at once both compute the same answer). */
static int cu_available(char *why, size_t why_size) {
    static atomic_int known; /* 0 unknown, 1 yes, else the negated cudaError_t */
    int k = atomic_load(&known);
    if (k == 0) {
        int n = 0;
        cudaError_t err = cudaGetDeviceCount(&n);
        if (err == cudaSuccess && n == 0)
            err = cudaErrorNoDevice;
        cudaGetLastError();
        k = err == cudaSuccess ? 1 : -(int)err;
        atomic_store(&known, k);
    }
    if (k > 0)
        return GPUGC_OK;
    if ((cudaError_t)-k == cudaErrorInsufficientDriver)
        snprintf(why, why_size, "no CUDA driver (libcuda.so.1), or one older than this library's "
                 "CUDA runtime %d.%d", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    else
        snprintf(why, why_size, "no CUDA device: %s", cudaGetErrorString((cudaError_t)-k));
    return GPUGC_ENODEV;
}

/* enter makes the backend's device current on this thread and leave puts
 * the caller's back: the program may use CUDA itself. */
typedef struct current {
    int prev;
    bool swapped;
} current;

static cudaError_t enter(const cuda *s, current *c) {
    c->swapped = false;
    cudaError_t err = cudaGetDevice(&c->prev);
    if (err == cudaSuccess && c->prev != s->device) {
        err = cudaSetDevice(s->device);
        c->swapped = err == cudaSuccess;
    }
    return err;
}

static void leave(const current *c) {
    if (c->swapped)
        cudaSetDevice(c->prev);
}

static void cu_destroy(gpugc_heap *h, void *state) {
    (void)h;
    cuda *s = state;
    if (!s)
        return;
    current c;
    enter(s, &c);
    gpugc__device_mark_free(&s->m);
    for (unsigned k = 0; k < STAMPS; k++)
        if (s->stamps[k])
            cudaEventDestroy(s->stamps[k]);
    if (s->joined)
        cudaEventDestroy(s->joined);
    if (s->aside)
        cudaStreamDestroy(s->aside);
    if (s->q)
        cudaStreamDestroy(s->q);
    leave(&c);
    free(s);
}

static int cu_create(gpugc_heap *h, void **state) {
    if (gpugc__fault_fires(h, GPUGC_FAULT_DEVICE_INIT))
        return gpugc__set_error(h, GPUGC_EDEVICE, "cuda: opening the device failed (injected fault)");
    char why[200];
    if (cu_available(why, sizeof why) != GPUGC_OK)
        return gpugc__set_error(h, GPUGC_ENODEV, "cuda: %s", why);
    cuda *s = gpugc__heap_malloc(h, sizeof *s, "gpugc_heap_new (cuda)");
    if (!s)
        return GPUGC_ENOMEM;
    memset(s, 0, sizeof *s);
    gpugc__device_mark_init(h, &s->m, &cuda_api, s);
    current c;
    int sms = 1, blocks = 0, major = 0, minor = 0;
    struct cudaFuncAttributes attr;
    cudaError_t err = enter(s, &c), image = cudaSuccess;
    if (err == cudaSuccess)
        err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, s->device);
    if (err == cudaSuccess)
        err = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, s->device);
    if (err == cudaSuccess) {
        /* the library's code runs here: sm_80 or sm_90 machine code, or
         * PTX the driver compiles for GPUs newer than sm_90 */
        image = cudaFuncGetAttributes(&attr, gpugc__cuda_kernels[0]);
        cudaGetLastError();
    }
    if (err == cudaSuccess)
        err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, s->device);
    if (err == cudaSuccess && image == cudaSuccess)
        err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
            &blocks, gpugc__cuda_kernels[K_mark_level], (int)BLOCK, 0);
    if (err == cudaSuccess)
        err = cudaStreamCreateWithFlags(&s->q, cudaStreamNonBlocking);
    if (err == cudaSuccess)
        err = cudaStreamCreateWithFlags(&s->aside, cudaStreamNonBlocking);
    if (err == cudaSuccess)
        err = cudaEventCreateWithFlags(&s->joined, cudaEventDisableTiming);
    for (unsigned k = 0; k < STAMPS && err == cudaSuccess; k++)
        err = cudaEventCreate(&s->stamps[k]);
    leave(&c);
    if (err == cudaSuccess && image != cudaSuccess) {
        cu_destroy(h, s);
        if (!gpugc__backend_named(h, &gpugc__backend_cuda))
            return GPUGC_ENODEV; /* a choice AUTO makes, not an error */
        return gpugc__set_error(h, GPUGC_ENODEV,
                         "cuda: this library has no kernel code for this GPU (compute capability "
                         "%d.%d): %s; rebuild it with -DGPUGC_CUDA_ARCHITECTURES naming %d%d",
                         major, minor, cudaGetErrorString(image), major, minor);
    }
    if (err != cudaSuccess) {
        int rc = check(h, s, err, "opening the CUDA device");
        cu_destroy(h, s);
        return rc;
    }
    /* mark_level strides over its work: as many threads as can be
     * resident at once, no more */
    s->level_items = (size_t)sms * (size_t)(blocks > 0 ? blocks : 1) * BLOCK;
    *state = s;
    return GPUGC_OK;
}

static int cu_mark(gpugc_heap *h, void *state, const mark_job *job) {
    cuda *s = state;
    current c;
    int rc = check(h, s, enter(s, &c), "making the CUDA device current");
    if (rc == GPUGC_OK)
        rc = gpugc__device_mark_run(&s->m, h, job);
    leave(&c);
    return rc;
}

static void cu_host_moving(gpugc_heap *h, void *state) {
    (void)h;
    cuda *s = state;
    current c;
    enter(s, &c);
    gpugc__device_mark_unpin(&s->m);
    leave(&c);
}

const backend_ops gpugc__backend_cuda = {
    .name = "cuda",
    .kind = GPUGC_BACKEND_CUDA,
    .available = cu_available,
    .create = cu_create,
    .destroy = cu_destroy,
    .mark = cu_mark,
    .host_moving = cu_host_moving,
};

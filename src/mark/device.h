/* device.h - the device mark: one host algorithm for the mark phase on a
 * GPU (mark/device.c), over what a GPU API provides (device_api), so that
 * the OpenCL and CUDA backends share the kernels of kernels/ and every
 * step of the host side, and the PoCL run in CI tests what a GPU runs.
 */
#ifndef GPUGC_DEVICE_H
#define GPUGC_DEVICE_H

#include "mark/backend.h"
#include "mark.h"
#include "mark/mirror.h"


#define KERNEL_ID(name) K_##name,
enum { KERNELS(KERNEL_ID) K_COUNT };
#undef KERNEL_ID

/* One kernel argument, by address, as both APIs take them: a buffer's
 * handle (a void *) or a 32-bit value. */
typedef struct karg {
    size_t size;
    const void *value;
} karg;

/* What a GPU API provides.  `dev` is the API's own state.  Every function
 * that returns a status reports its failure (gpugc__set_error) before returning
 * GPUGC_ENOMEM for exhausted device memory or GPUGC_EDEVICE for anything
 * else.  Work is queued in order on one queue, except uploads queued
 * aside, which run beside it; finish and download wait for both. */
typedef struct device_api {
    const char *name; /* "opencl", "cuda": the prefix of messages */
    /* Makes the kernels ready to launch (builds a program, if the API
     * compiles at run time); unload undoes it. */
    int (*load)(gpugc_heap *h, void *dev);
    void (*unload)(void *dev);
    /* Work items that keep the whole device busy: the size of a
     * mark_level launch, which strides over its work. */
    size_t (*level_items)(void *dev);
    /* Work items per 32-bit bitmap word in a launch of the roots kernel:
     * 32 where the dialect has WARP_BALLOT (kernels/dialect.h), else 1. */
    unsigned word_items;
    int (*alloc)(gpugc_heap *h, void *dev, void **buf, size_t bytes);
    void (*release)(void *dev, void *buf);
    /* Host memory for staging copies (pinned where the API has it);
     * NULL when there is none. */
    void *(*host_alloc)(void *dev, size_t bytes);
    void (*host_free)(void *dev, void *p);
    /* Optional (NULL: uploads always read pageable memory): page-locks
     * host memory that uploads will read, so that they run asynchronously
     * at full speed; false when it cannot (nothing reported: the copies
     * then take the pageable path).  unpin undoes it before the memory
     * moves or is freed. */
    bool (*pin)(void *dev, void *p, size_t bytes);
    void (*unpin)(void *dev, void *p);
    /* Queues a copy of src into buf at off; src must stay unchanged until
     * finish or download returns. */
    int (*upload)(gpugc_heap *h, void *dev, void *buf, size_t off, const void *src,
                  size_t bytes, bool aside);
    /* Optional (NULL where uploads aside join the queue): makes the work
     * queued from now on wait, on the device, for the uploads queued aside
     * so far. */
    int (*join)(gpugc_heap *h, void *dev);
    /* Queues time stamp k < STAMPS, taken when everything queued before
     * it has run; elapsed waits for stamp b and gives the nanoseconds from
     * stamp a to it. */
    int (*stamp)(gpugc_heap *h, void *dev, unsigned k);
    int (*elapsed)(gpugc_heap *h, void *dev, unsigned a, unsigned b, uint64_t *ns);
    int (*zero)(gpugc_heap *h, void *dev, void *buf, size_t bytes);
    /* Queues kernel k over `items` work items (rounded up to whole groups
     * of the API's choosing; GLOBAL_SIZE() gives the rounded number). */
    int (*launch)(gpugc_heap *h, void *dev, int k, size_t items, const karg *arg,
                  unsigned nargs);
    /* Waits for everything queued, then copies bytes at off of buf into
     * dst. */
    int (*download)(gpugc_heap *h, void *dev, void *buf, size_t off, void *dst, size_t bytes);
    /* Waits for everything queued; with h NULL (at teardown) it reports
     * nothing. */
    int (*finish)(gpugc_heap *h, void *dev);
} device_api;

/* The time stamps of one mark, in order: they bound its stages. */
enum { S_START, S_SYNCED, S_SUBTRACTED, S_ROOTED, S_MARKED, S_DONE, STAMPS };

/* Device buffers.  The mirror: META..SLOTS.  Per collection: RC
 * (uploaded), GC_REFS, UNREACHED, LEVEL, QUEUE, CTL (kernels/mark.h).
 * Staging of the dirty cards of the id group (ID_*) and the slot group
 * (SLOT_*). */
enum {
    B_META, B_SLOT_OFF, B_SLOT_CNT, B_SLOTS, B_RC, B_GC_REFS, B_UNREACHED, B_LEVEL, B_QUEUE,
    B_CTL, B_ID_CARDS, B_ID_DATA, B_SLOT_CARDS, B_SLOT_DATA, B_COUNT
};

typedef struct device_mark {
    gpugc_heap *h;           /* the heap whose backend state this is      */
    const device_api *api;
    void *dev;
    bool handoff;            /* narrow frontiers finish on the CPU         */

    bool loaded;             /* false: device state not made (first mark
                                or after a failure)                        */
    void *b[B_COUNT];
    size_t bsize[B_COUNT];   /* bytes of each buffer                       */
    uint32_t cap, slots_cap; /* h->cap and h->slots_cap the mirror has     */
    bool synced;             /* the mirror equals the host arrays except on
                                dirty cards                                */

    mirror_stage ids, slot_stage;
    uint32_t *ctl;           /* host copy of the control words             */
    uint32_t *bits;          /* host copy of the unreached bitmap          */
    size_t bits_cap;

    /* The heap's refcount array as last seen for pinning (whether or not
     * api->pin took it, so that a refusal is not asked again; the id
     * arrays grow only after gpugc__device_mark_unpin), pinned when it
     * did. */
    const uint32_t *pin_at;
    bool pinned;
} device_mark;

/* Sets up d for api's device dev; the handoff follows the heap's
 * gpu_cpu_handoff option.  Nothing is made on the device until the first
 * run. */
void gpugc__device_mark_init(gpugc_heap *h, device_mark *d, const device_api *api, void *dev);
/* The backend's mark (backend.h's contract).  Any failure but corrupt
 * counts drops the device state, so the next run starts over with a full
 * upload.  Fault injection: GPUGC_FAULT_DEVICE_INIT before loading the
 * kernels; _ALLOC before each buffer; _COPY before each copy; _LAUNCH
 * before each kernel launch. */
int gpugc__device_mark_run(device_mark *d, gpugc_heap *h, const mark_job *job);
/* Lets go of the pinned refcount array before the heap's id arrays move
 * or are freed (backend_ops.host_moving); the next run pins it again.
 * Touches no state a background mark uses. */
void gpugc__device_mark_unpin(device_mark *d);
/* Releases everything of d, host staging too. */
void gpugc__device_mark_free(device_mark *d);

#endif /* GPUGC_DEVICE_H */

/* backend.h - the contract every mark-phase backend implements.
 *
 * A backend runs the mark phase of DESIGN.md section 3 for one collection:
 *   update_refs    gc_refs[i] = rc[i] for every i in the set
 *   subtract_refs  gc_refs[j] -= 1 for every slot edge i->j inside the set;
 *                  afterwards gc_refs[i] > 0 means i is referenced from
 *                  outside the set, and < 0 means the counts are corrupt
 *   mark           breadth-first from every i with gc_refs[i] > 0 over slot
 *                  edges inside the set
 * and reports the result as the garbage bitmap: bit i set exactly for the
 * set members that mark did not reach.  Every backend must give the bitmap
 * the serial reference (mark/serial.c) gives, or fail with a status and leave
 * the bitmap to the caller, who clears it and runs the reference instead.
 */
#ifndef GPUGC_BACKEND_H
#define GPUGC_BACKEND_H

#include "heap.h"

typedef struct mark_job {
    const uint32_t *set;   /* the set's ids (tracked, generation <= g)     */
    size_t nset;
    int generation;
    uint64_t *garbage;     /* out; all zero on entry                        */
    gpugc_collection_stats *stats; /* stage times, edges and bytes moved   */
    bool beside;           /* the program runs beside the mark (a
                              background collection): it keeps a core     */
} mark_job;

typedef struct backend_ops {
    const char *name;
    gpugc_backend kind;
    /* GPUGC_OK, or GPUGC_ENODEV with the reason in why. */
    int (*available)(char *why, size_t why_size);
    /* Optional: per-heap state, made once when the heap is created. */
    int (*create)(gpugc_heap *h, void **state);
    void (*destroy)(gpugc_heap *h, void *state);
    /* Runs the mark phase.  GPUGC_OK, GPUGC_ECORRUPT, or a failure. */
    int (*mark)(gpugc_heap *h, void *state, const mark_job *job);
    /* Optional: the heap's id arrays are about to move (they grow); the
     * backend lets go of any hold it has on their memory.  Called on the
     * program's thread, possibly while a background mark runs. */
    void (*host_moving)(gpugc_heap *h, void *state);
} backend_ops;


extern const backend_ops gpugc__backend_cpu;
extern const backend_ops gpugc__backend_cpu_parallel;
#ifdef GPUGC_WITH_CUDA
extern const backend_ops gpugc__backend_cuda;
#endif
#ifdef GPUGC_WITH_OPENCL
extern const backend_ops gpugc__backend_opencl;
#endif

/* The serial reference's breadth-first search (mark/serial.c), for backends
 * that hand a narrow frontier over to the CPU.  Before: queue[0..tail)
 * holds reached set members whose bits in `unreached` are clear, and has
 * room for one entry more than tail plus the members still unreached.
 * After: every set member reachable from the queue has its bit clear.
 * nset: the set's size (a small set is searched without look-ahead).
 * GPUGC_OK or GPUGC_ENOMEM. */
int gpugc__mark_reach(gpugc_heap *h, uint64_t *unreached, uint32_t *queue, size_t tail,
                      size_t nset);

/* Checks that `want` can be used; reports GPUGC_ENODEV (no heap) if not. */
int gpugc__backend_check(gpugc_backend want);
/* Makes the heap's state for ops if not made yet.  GPUGC_OK, or the
 * failure (reported), remembered so that it is not tried again. */
int gpugc__backend_open(gpugc_heap *h, const backend_ops *ops);
/* The backend for a collection of nset objects: the configured one, or for
 * AUTO the most preferred available backend worth it at this size. */
const backend_ops *gpugc__backend_for(gpugc_heap *h, size_t nset);
/* True when the heap's backend is ops by name (not AUTO's choice): then a
 * device that does not suit AUTO is used, or its failure reported. */
bool gpugc__backend_named(const gpugc_heap *h, const backend_ops *ops);
/* Tells every backend state the heap made that its id arrays are about
 * to move (backend_ops.host_moving). */
void gpugc__backend_host_moving(gpugc_heap *h);
/* Releases every backend state the heap made. */
void gpugc__backend_close_all(gpugc_heap *h);

#endif /* GPUGC_BACKEND_H */

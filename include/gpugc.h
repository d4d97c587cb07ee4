/* gpugc.h - the one public header of gpugc.
 *
 * gpugc gives C programs CPython's memory model: every object carries a
 * reference count and is freed the moment the count reaches zero, and a
 * generational cycle collector finds garbage cycles.  The collector's mark
 * phase (update_refs, subtract_refs, mark) runs on a pluggable backend; the
 * sweep always runs on the CPU.
 *
 * Model in one paragraph.  An object is a zeroed payload of `size` bytes plus
 * `nrefs` reference slots that live outside the payload, in the heap's slot
 * array.  Only slots are traced; pointers stored inside a payload are never
 * looked at.  A reference held by C code (a local variable, a global, a
 * pointer in some payload) is counted with gpugc_incref/gpugc_decref; a
 * reference stored in a slot is counted by gpugc_set_ref.  An object is alive
 * while its count is above zero and it is reachable from outside the
 * collected set.
 *
 * Errors.  Calls that can fail return a negative status (or NULL / 0), leave
 * a message readable with gpugc_last_error_message, and report it to the
 * heap's error handler, whose default prints one line to stderr and returns.
 * A call that fails changes nothing.  Object arguments are checked through
 * the 8-byte header every payload has in front of it: a pointer that is no
 * live object of the heap (freed, of another heap, into a payload, into some
 * other buffer) is reported as GPUGC_ENOTOBJ, with one exception: a pointer
 * at the very start of a memory mapping, whose header bytes cannot be read.
 * gpugc_incref/gpugc_decref check the header and the count only, except in
 * debug builds (GPUGC_DEBUG), where they check as fully as every other call.
 *
 * Threads.  A heap is used by one thread at a time.  Several heaps may live
 * in one process and be used from different threads.
 */
#ifndef GPUGC_H
#define GPUGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's entry points for export from a shared build. */
#if defined(__GNUC__) || defined(__clang__)
#define GPUGC_API __attribute__((visibility("default")))
#else
#define GPUGC_API
#endif

#define GPUGC_VERSION_MAJOR 0
#define GPUGC_VERSION_MINOR 1
#define GPUGC_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

enum {
    GPUGC_OK = 0,
    GPUGC_EINVAL = -1,     /* an argument is NULL or out of its range        */
    GPUGC_ENOMEM = -2,     /* memory could not be had; nothing changed        */
    GPUGC_ERANGE = -3,     /* a slot index past the object's slot count       */
    GPUGC_ENOTOBJ = -4,    /* a pointer that is no live object of this heap   */
    GPUGC_ETYPE = -5,      /* a type id that was never registered             */
    GPUGC_EUNDERFLOW = -6, /* a reference count would go below zero          */
    GPUGC_EOVERFLOW = -7,  /* a count or size past what the heap can hold     */
    GPUGC_EBUSY = -8,      /* called from a finalizer or destructor while the
                              heap is collecting or releasing                 */
    GPUGC_ECORRUPT = -9,   /* reference counts disagree with the slots
                              (a count was dropped too often); nothing freed  */
    GPUGC_EBACKEND = -10,  /* an unknown backend name                         */
    GPUGC_ENODEV = -11,    /* the requested backend is not available here     */
    GPUGC_EDEVICE = -12,   /* a backend failed during a collection            */
    GPUGC_EFAULT = -13     /* a fault injected by gpugc_inject_fault          */
};

/* A static string describing a status code ("unknown status" otherwise). */
GPUGC_API const char *gpugc_strerror(int status);

/* ------------------------------------------------------------------------ */
/* Heaps, configuration, backends                                            */
/* ------------------------------------------------------------------------ */

typedef struct gpugc_heap gpugc_heap;
typedef uint32_t gpugc_type;

/* Where the mark phase runs.  AUTO picks, per collection, among those that
 * are available in this build and on this machine. */
typedef enum {
    GPUGC_BACKEND_AUTO,
    GPUGC_BACKEND_CPU,          /* serial reference marker                  */
    GPUGC_BACKEND_CPU_PARALLEL, /* all CPU cores                            */
    GPUGC_BACKEND_OPENCL,       /* an OpenCL device                         */
    GPUGC_BACKEND_CUDA          /* an NVIDIA GPU through CUDA               */
} gpugc_backend;

#define GPUGC_BACKEND_COUNT 5
#define GPUGC_GENERATIONS 3

typedef struct gpugc_config {
    gpugc_backend backend;  /* default AUTO; GPUGC_BACKEND in the environment
                               overrides it                                 */
    uint32_t threshold[GPUGC_GENERATIONS]; /* CPython's (700, 10, 10):
                               generation 0 is collected when allocations
                               minus deallocations of tracked objects exceed
                               threshold[0]; generation g>0 when g-1 was
                               collected more than threshold[g] times.  0 in
                               threshold[0] turns automatic collection off  */
    int validate;           /* nonzero: run gpugc_validate after every
                               collection and fail loudly if it does not hold.
                               Default: on in debug builds (GPUGC_DEBUG)    */
    uint32_t threads;       /* cpu-parallel: worker threads, 0 = one per
                               core; GPUGC_THREADS overrides                 */
    const char *opencl_device; /* opencl: which device; NULL = the default
                               choice; GPUGC_OPENCL_DEVICE overrides        */
    int gpu_cpu_handoff;    /* GPU backends finish a breadth-first search
                               whose frontier stays narrow on the CPU
                               (default 1); 0 keeps every level on the
                               device, for testing the device path          */
} gpugc_config;

/* Fills *cfg with the defaults. */
GPUGC_API void gpugc_config_init(gpugc_config *cfg);

/* A new, empty heap; NULL cfg means the defaults.  Returns NULL when the
 * configuration is invalid, the backend named by cfg or by GPUGC_BACKEND is
 * unknown (GPUGC_EBACKEND) or unavailable (GPUGC_ENODEV), or memory is short;
 * gpugc_last_error_message(NULL) then says why. */
GPUGC_API gpugc_heap *gpugc_heap_new(const gpugc_config *cfg);

/* Releases every object (running `destroy`, never `finalize`), all memory
 * and the backend.  NULL is ignored. */
GPUGC_API void gpugc_heap_free(gpugc_heap *h);

/* The backend a heap was configured with, after GPUGC_BACKEND.  AUTO stays
 * AUTO: it chooses per collection, by the set's size, among the backends
 * available (gpugc_last_collection says which one ran). */
GPUGC_API gpugc_backend gpugc_heap_backend(const gpugc_heap *h);

/* "auto", "cpu", "cpu-parallel", "opencl", "cuda"; NULL for other values. */
GPUGC_API const char *gpugc_backend_name(gpugc_backend b);

/* Parses one of the names above into *out.  GPUGC_EBACKEND if unknown. */
GPUGC_API int gpugc_backend_parse(const char *name, gpugc_backend *out);

/* GPUGC_OK when b can be used in this build on this machine; otherwise
 * GPUGC_ENODEV with the reason written to why (if why_size > 0). */
GPUGC_API int gpugc_backend_available(gpugc_backend b, char *why, size_t why_size);

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct gpugc_type_desc {
    const char *name; /* copied; NULL means "object" */
    /* Optional.  Runs at most once per object, before it is freed, whether it
     * dies by reference count or in a garbage cycle; all finalizers of a
     * cycle run before any of its objects is destroyed.  May resurrect the
     * object by storing a new reference to it. */
    void (*finalize)(gpugc_heap *h, void *obj);
    /* Optional.  Runs exactly once, when the object's memory is released:
     * release resources the payload owns.  The object's slots are still
     * readable; the heap must not be collected from here. */
    void (*destroy)(gpugc_heap *h, void *obj);
} gpugc_type_desc;

/* Type 0 is registered with every heap: "object", with no callbacks. */
#define GPUGC_TYPE_OBJECT ((gpugc_type)0)

/* Registers a type and returns its id; (gpugc_type)-1 on error. */
GPUGC_API gpugc_type gpugc_type_register(gpugc_heap *h, const gpugc_type_desc *desc);

/* The object's type id; (gpugc_type)-1 on error. */
GPUGC_API gpugc_type gpugc_type_of(const gpugc_heap *h, const void *obj);

/* ------------------------------------------------------------------------ */
/* Objects and references                                                    */
/* ------------------------------------------------------------------------ */

/* Largest slot count of one object, and largest reference count. */
#define GPUGC_MAX_REFS 0x7fffffffu
#define GPUGC_MAX_REFCOUNT 0x7fffffffu
/* Payloads are aligned to this many bytes. */
#define GPUGC_ALIGNMENT 8

/* A new object of type t with nrefs NULL slots and a zeroed payload of size
 * bytes, holding one reference for the caller.  Objects with slots are
 * tracked by the cycle collector and start in generation 0; objects without
 * are left to reference counting, as CPython does with atoms.  May run an
 * automatic collection first.  NULL on error. */
GPUGC_API void *gpugc_new(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size);

/* Adds one reference held by C code. */
GPUGC_API void gpugc_incref(gpugc_heap *h, void *obj);

/* Drops one reference held by C code.  At zero the object is finalized,
 * destroyed and freed at once, and the references in its slots are dropped
 * in turn; the cascade runs in a loop, so a chain of any length uses bounded
 * stack.  Dropping a count that is already zero is GPUGC_EUNDERFLOW. */
GPUGC_API void gpugc_decref(gpugc_heap *h, void *obj);

/* The object's reference count (C references plus slot references); 0 on
 * error. */
GPUGC_API size_t gpugc_refcount(const gpugc_heap *h, const void *obj);

/* Stores target (or NULL) in slot `slot` of obj: target's count goes up, the
 * previous target's goes down (and may free it).  GPUGC_OK or an error. */
GPUGC_API int gpugc_set_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target);

/* The object in slot `slot`, borrowed (its count is unchanged); NULL for an
 * empty slot or an error (see gpugc_last_error). */
GPUGC_API void *gpugc_get_ref(const gpugc_heap *h, const void *obj, uint32_t slot);

/* The object's slot count; 0 on error. */
GPUGC_API uint32_t gpugc_nrefs(const gpugc_heap *h, const void *obj);

/* Changes the slot count.  New slots are NULL; references in dropped slots
 * are released.  An object that gains its first slot becomes tracked (in
 * generation 0); one that loses its last is untracked. */
GPUGC_API int gpugc_resize_refs(gpugc_heap *h, void *obj, uint32_t nrefs);

/* ------------------------------------------------------------------------ */
/* Collection                                                                */
/* ------------------------------------------------------------------------ */

/* Collects generations 0..generation (0, 1 or 2).  Returns the number of
 * unreachable objects found (finalizers may resurrect some of them, which
 * then survive), or a negative status, in which case nothing was freed. */
GPUGC_API int64_t gpugc_collect(gpugc_heap *h, int generation);

/* Automatic collection (on by default). */
GPUGC_API void gpugc_enable(gpugc_heap *h);
GPUGC_API void gpugc_disable(gpugc_heap *h);
GPUGC_API int gpugc_isenabled(const gpugc_heap *h);

/* Live objects in the heap. */
GPUGC_API size_t gpugc_object_count(const gpugc_heap *h);

/* The figures of one collection.  Listed once here: each X(type, name, doc)
 * becomes a field of gpugc_collection_stats, and programs can walk the list
 * (the benchmark prints every field this way). */
#define GPUGC_COLLECTION_STATS(X)                                               \
    X(int32_t, generation, "generation collected")                              \
    X(int32_t, backend, "gpugc_backend that ran the mark phase")                \
    X(int32_t, fallback, "1 if the backend failed and the CPU reference ran")   \
    X(uint64_t, objects, "objects in the collected set")                        \
    X(uint64_t, edges, "reference slots of the set's objects")                  \
    X(uint64_t, unreachable, "unreachable objects found")                       \
    X(uint64_t, collected, "objects freed")                                     \
    X(uint64_t, resurrected, "unreachable objects a finalizer resurrected")     \
    X(uint64_t, ns_sync, "bringing the backend's copy of the heap up to date")  \
    X(uint64_t, ns_update_refs, "update_refs: gc_refs = refcount")              \
    X(uint64_t, ns_subtract_refs, "subtract_refs: drop references inside")      \
    X(uint64_t, ns_mark, "breadth-first mark from outside references")          \
    X(uint64_t, ns_download, "bringing the mark bitmap back")                   \
    X(uint64_t, ns_sweep, "finalize, destroy and free the garbage; promote")    \
    X(uint64_t, ns_total, "the whole collection")                               \
    X(uint64_t, bytes_h2d, "bytes copied host to device")                       \
    X(uint64_t, bytes_d2h, "bytes copied device to host")

typedef struct gpugc_collection_stats {
#define GPUGC_STATS_FIELD_(type, name, doc) type name;
    GPUGC_COLLECTION_STATS(GPUGC_STATS_FIELD_)
#undef GPUGC_STATS_FIELD_
} gpugc_collection_stats;

/* Copies the figures of the heap's last collection into *out; fields a
 * newer library has beyond `size` bytes are left out, so programs built
 * against an older header keep working.  GPUGC_EINVAL before any
 * collection. */
GPUGC_API int gpugc_last_collection(const gpugc_heap *h, gpugc_collection_stats *out,
                          size_t size);

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

/* Payloads of up to GPUGC_SMALL_MAX bytes (header included) come from
 * size-class pools in 1 MiB arenas; larger ones straight from the system. */
#define GPUGC_SMALL_MAX 512
#define GPUGC_SIZE_CLASSES (GPUGC_SMALL_MAX / 16)

typedef struct gpugc_size_class_stats {
    uint32_t block_size; /* bytes per block, header included; 0 for large */
    uint64_t pools;      /* pools currently serving this class            */
    uint64_t blocks_used;
    uint64_t blocks_free; /* carved or never-used blocks in those pools   */
    uint64_t allocs;      /* cumulative                                   */
    uint64_t frees;       /* cumulative                                   */
} gpugc_size_class_stats;

typedef struct gpugc_memory_stats {
    uint64_t arenas;          /* arenas mapped now                         */
    uint64_t arenas_peak;
    uint64_t arenas_released; /* returned to the OS, cumulative            */
    uint64_t large_objects;   /* payloads taken straight from the system   */
    uint64_t large_bytes;
    uint64_t metadata_bytes;  /* id-indexed arrays, slot array, bookkeeping */
    uint64_t slots_used;      /* slot array entries held by live objects    */
    uint64_t slots_free;      /* freed slot ranges waiting for reuse        */
} gpugc_memory_stats;

/* Per-class figures; class_index in 0..GPUGC_SIZE_CLASSES-1. */
GPUGC_API int gpugc_size_class_stats_get(const gpugc_heap *h, unsigned class_index,
                               gpugc_size_class_stats *out);
GPUGC_API int gpugc_memory_stats_get(const gpugc_heap *h, gpugc_memory_stats *out);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Called for every error with the heap (NULL for errors with no heap), the
 * status and a one-line message.  The default prints to stderr and returns;
 * the program goes on. */
typedef void (*gpugc_error_handler)(gpugc_heap *h, int status,
                                    const char *message, void *data);

/* Installs fn for heap h, or, with h NULL, for errors that have no heap and
 * as the default of heaps created afterwards.  fn NULL restores the default.
 * Set the process-wide one before threads create heaps. */
GPUGC_API void gpugc_set_error_handler(gpugc_heap *h, gpugc_error_handler fn, void *data);

/* The status and message of the last error on h (or, with h NULL, of the
 * last error with no heap on this thread); GPUGC_OK / "" when none since
 * gpugc_clear_error. */
GPUGC_API int gpugc_last_error(const gpugc_heap *h);
GPUGC_API const char *gpugc_last_error_message(const gpugc_heap *h);
GPUGC_API void gpugc_clear_error(gpugc_heap *h);

/* ------------------------------------------------------------------------ */
/* Checking and testing                                                      */
/* ------------------------------------------------------------------------ */

/* Checks every invariant of the heap: no count is below the number of slots
 * that reference the object, every slot names a live object,
 * generation lists match object flags, slot ranges do not overlap, free
 * lists hold only dead ids, pool counters add up.  GPUGC_OK or
 * GPUGC_ECORRUPT with the first broken invariant in the message.  O(heap). */
GPUGC_API int gpugc_validate(gpugc_heap *h);

/* Places where a fault can be injected. */
typedef enum {
    GPUGC_FAULT_ALLOC,         /* a memory request of the heap (arrays,
                                  arenas, payloads, scratch)                */
    GPUGC_FAULT_MARK,          /* the backend's mark phase as a whole       */
    GPUGC_FAULT_DEVICE_INIT,   /* a device backend's setup: platform,
                                  context, program build                    */
    GPUGC_FAULT_DEVICE_ALLOC,  /* a device memory allocation               */
    GPUGC_FAULT_DEVICE_COPY,   /* a copy or map between host and device    */
    GPUGC_FAULT_DEVICE_LAUNCH, /* a kernel launch                           */
    GPUGC_FAULT_COUNT
} gpugc_fault;

/* Makes the (countdown+1)-th next request at `site` fail as if the system
 * had refused it; a negative countdown disarms.  For testing error paths. */
GPUGC_API int gpugc_inject_fault(gpugc_heap *h, gpugc_fault site, int64_t countdown);

#ifdef __cplusplus
}
#endif

#endif /* GPUGC_H */

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
 *
 * fork.  A child may go on using the heaps it inherited on the CPU backends.
 * A process that has touched OpenCL or CUDA (a heap on it, or even
 * gpugc_backend_available asking for it) must not use that API again in a
 * forked child: the runtime's threads and device state do not survive fork
 * (PoCL, for one, then blocks forever; CUDA reports an error).  Ask and use
 * the GPU in the child.  Nor may a child use a heap that had a background
 * collection pending at the fork: its collector thread is not there.
 */
#ifndef GPUGC_H
#define GPUGC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's entry points for export from a shared build;
 * GPUGC_NODISCARD, the calls whose result owns something (a heap, a new
 * object or reference, a snapshot), so that dropping it warns;
 * GPUGC_ALLOC_SIZE, the argument that sizes a new payload, for the
 * compiler's bounds checks. */
#if defined(__GNUC__) || defined(__clang__)
#define GPUGC_API __attribute__((visibility("default")))
#define GPUGC_NODISCARD __attribute__((warn_unused_result))
#define GPUGC_ALLOC_SIZE(n) __attribute__((alloc_size(n)))
#else
#define GPUGC_API
#define GPUGC_NODISCARD
#define GPUGC_ALLOC_SIZE(n)
#endif

/* The build takes its version from here; the minor changes with the heap
 * prefix the inline paths read (below), and names the soname. */
#define GPUGC_VERSION_MAJOR 0
#define GPUGC_VERSION_MINOR 3
#define GPUGC_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/* Listed once: each X(NAME, value, description) becomes GPUGC_<NAME> and
 * what gpugc_strerror says of it. */
#define GPUGC_STATUS_CODES(X)                                                   \
    X(OK, 0, "success")                                                         \
    /* an argument is NULL or out of its range */                               \
    X(EINVAL, -1, "invalid argument")                                           \
    /* memory could not be had; nothing changed */                              \
    X(ENOMEM, -2, "out of memory")                                              \
    /* a slot index past the object's slot count */                             \
    X(ERANGE, -3, "slot index out of range")                                    \
    /* a pointer that is no live object of this heap */                         \
    X(ENOTOBJ, -4, "not a live object of this heap")                            \
    /* a type id that was never registered */                                   \
    X(ETYPE, -5, "unknown type")                                                \
    /* a count dropped that is zero already (its object is being freed) */      \
    X(EUNDERFLOW, -6, "reference count below zero")                             \
    /* a count or size past what the heap can hold */                           \
    X(EOVERFLOW, -7, "count or size too large")                                 \
    /* called from a finalizer or destructor while the heap is collecting or    \
     * releasing, or a new reference to an object the sweep is freeing */       \
    X(EBUSY, -8, "heap busy collecting or releasing")                           \
    /* reference counts disagree with the slots (a count was dropped too        \
     * often); nothing freed */                                                 \
    X(ECORRUPT, -9, "reference counts disagree with the slots")                 \
    /* an unknown backend name */                                               \
    X(EBACKEND, -10, "unknown backend")                                         \
    /* the requested backend is not available here */                           \
    X(ENODEV, -11, "backend not available")                                     \
    /* a backend failed during a collection */                                  \
    X(EDEVICE, -12, "backend failed")                                           \
    /* a fault injected by gpugc_inject_fault */                                \
    X(EFAULT, -13, "injected fault")                                            \
    /* the heap is in use by another thread at the same time (checked in       \
     * debug builds) */                                                         \
    X(ETHREAD, -14, "heap in use by another thread")

enum {
#define GPUGC_STATUS_ENUM(name, value, text) GPUGC_##name = value,
    GPUGC_STATUS_CODES(GPUGC_STATUS_ENUM)
#undef GPUGC_STATUS_ENUM
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

/* A heap's configuration: fill it with gpugc_config_init, then change what
 * you need.  The fields GPUGC_OPTIONS lists (below) are options, which the
 * environment overrides. */
/* The default generation-0 threshold.  CPython's is 700 (2000 from 3.13);
 * measured with gpugc-bench --program binary-trees,gcbench,interp on 2
 * cores (cpu backend, depth 16, interp 100k), two runs each, thresholds
 * 2000 / 5000 / 10000 / 20000 gave total times of about 700 / 620 / 600 /
 * 550 ms (binary-trees), 645 / 560 / 535 / 565 ms (GCBench) and 270 / 238
 * / 228 / 231 ms (interp), with interp's longest pause 20 / 8 / 13.5 / 21
 * ms and the same peak memory within 2 MiB: 5000 takes most of the gain
 * with the shortest pauses. */
#define GPUGC_DEFAULT_THRESHOLD0 5000

typedef struct gpugc_config {
    gpugc_backend backend;  /* option GPUGC_BACKEND                         */
    uint32_t threshold[GPUGC_GENERATIONS]; /* (GPUGC_DEFAULT_THRESHOLD0, 10, 10):
                               generation 0 is collected when allocations
                               minus deallocations of tracked objects exceed
                               threshold[0]; generation g>0 when g-1 was
                               collected more than threshold[g] times.  0 in
                               threshold[0] turns automatic collection off  */
    int validate;           /* nonzero: run gpugc_validate after every
                               collection and fail loudly if it does not hold.
                               Default: on in debug builds (GPUGC_DEBUG)    */
    uint32_t threads;       /* option GPUGC_THREADS                         */
    const char *opencl_device; /* option GPUGC_OPENCL_DEVICE (copied)      */
    int gpu_cpu_handoff;    /* option GPUGC_GPU_CPU_HANDOFF                 */
    uint32_t objects_per_thread; /* option GPUGC_OBJECTS_PER_THREAD         */
    int concurrent;         /* option GPUGC_CONCURRENT                      */
} gpugc_config;

/* The largest team cpu-parallel runs (option GPUGC_THREADS). */
#define GPUGC_MAX_THREADS 1024

/* The options, listed once: each X(kind, field, NAME, default, max, doc)
 * is the field `field` of gpugc_config, with the default gpugc_config_init
 * writes, and the environment variable GPUGC_<NAME>, which overrides the
 * field when it is set and not empty.  gpugc_heap_new reads the variables
 * and checks every option once, before it makes anything: a malformed
 * value, or one out of range, makes it fail with a message naming the
 * variable (GPUGC_THREADS=abc) or the field (cfg.threads).  `kind` says
 * how a value is written:
 *   backend  a gpugc_backend; in the environment its name (as
 *            gpugc_backend_parse reads it), GPUGC_EBACKEND if unknown
 *   count    a uint32_t from 0 to max; in the environment decimal digits
 *            only (no sign, no spaces, no other base), GPUGC_EINVAL if not
 *   flag     an int, 0 or nonzero; in the environment exactly 0 or 1,
 *            GPUGC_EINVAL if not
 *   string   a const char *, NULL or "" for none; gpugc_heap_new copies
 *            it, so the caller's buffer may change or go afterwards
 * max is the largest count (0 for the other kinds).  Programs can walk the
 * list, as the tests do to check that README.md documents every option. */
#define GPUGC_OPTIONS(X)                                                         \
    X(backend, backend, BACKEND, GPUGC_BACKEND_AUTO, 0,                           \
      "where the mark phase runs: auto, cpu, cpu-parallel, opencl or cuda")      \
    X(count, threads, THREADS, 0, GPUGC_MAX_THREADS,                              \
      "the threads of cpu-parallel's team and of a background start's copy; "    \
      "0 = one per online core")                                                 \
    X(count, objects_per_thread, OBJECTS_PER_THREAD, 150000, UINT32_MAX,          \
      "cpu-parallel: a collection wakes one thread per this many objects, up "   \
      "to the team (none: the serial marker runs); 0 = the whole team always")   \
    X(flag, gpu_cpu_handoff, GPU_CPU_HANDOFF, 1, 0,                               \
      "GPU backends: a search whose frontier stays narrow is finished on the "   \
      "CPU; 0 keeps every level on the device")                                  \
    X(string, opencl_device, OPENCL_DEVICE, NULL, 0,                              \
      "opencl: \"P:D\" (platform and device indices) or part of a platform or "  \
      "device name; none = the first GPU, else the first device")                \
    X(flag, concurrent, CONCURRENT, 0, 0,                                          \
      "automatic collections mark in the background (gpugc_collect_start) and "  \
      "sweep inside a later allocation once the mark is done")

/* Fills *cfg with the defaults: each option's from GPUGC_OPTIONS, CPython's
 * thresholds, validate on in debug builds.  The environment is read later,
 * by gpugc_heap_new. */
GPUGC_API void gpugc_config_init(gpugc_config *cfg);

/* A new, empty heap; NULL cfg means the defaults.  The environment's
 * options (GPUGC_OPTIONS) override cfg's.  Returns NULL when an option of
 * cfg or of the environment is malformed or out of range (GPUGC_EINVAL, or
 * GPUGC_EBACKEND for an unknown backend name), the backend is unavailable
 * (GPUGC_ENODEV), or memory is short; gpugc_last_error_message(NULL) then
 * says why, naming the variable or the field. */
GPUGC_API GPUGC_NODISCARD gpugc_heap *gpugc_heap_new(const gpugc_config *cfg);

/* Releases every object (running `destroy`, never `finalize`), all memory
 * and the backend.  NULL is ignored. */
GPUGC_API void gpugc_heap_free(gpugc_heap *h);

/* The backend a heap was configured with, after GPUGC_BACKEND.  AUTO stays
 * AUTO: it chooses per collection, by the set's size, among the backends
 * available (gpugc_last_collection says which one ran). */
GPUGC_API gpugc_backend gpugc_heap_backend(const gpugc_heap *h);

/* Copies the heap's effective configuration into *out: the one given to
 * gpugc_heap_new with the environment's options applied.  Its strings are
 * the heap's copies, valid until gpugc_heap_free. */
GPUGC_API int gpugc_config_get(const gpugc_heap *h, gpugc_config *out);

/* "auto", "cpu", "cpu-parallel", "opencl", "cuda"; NULL for other values. */
GPUGC_API const char *gpugc_backend_name(gpugc_backend b);

/* Parses one of the names above into *out.  GPUGC_EBACKEND if unknown.      */
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
     * readable; the heap must not be collected from here.  In a sweep, no
     * new reference to an object being freed can be taken from here
     * (GPUGC_EBUSY; see gpugc_collect). */
    void (*destroy)(gpugc_heap *h, void *obj);
} gpugc_type_desc;

/* Type 0 is registered with every heap: "object", with no callbacks. */
#define GPUGC_TYPE_OBJECT ((gpugc_type)0)

/* Registers a type and returns its id; (gpugc_type)-1 on error
 * (GPUGC_EOVERFLOW once a heap has 1,048,576 types). */
GPUGC_API gpugc_type gpugc_type_register(gpugc_heap *h, const gpugc_type_desc *desc);

/* The object's type id; (gpugc_type)-1 on error. */
GPUGC_API gpugc_type gpugc_type_of(const gpugc_heap *h, const void *obj);

/* ------------------------------------------------------------------------ */
/* Objects and references                                                    */
/* ------------------------------------------------------------------------ */

/* Largest slot count of one object, and largest reference count. */
#define GPUGC_MAX_REFS 0x7fffffffu
#define GPUGC_MAX_REFCOUNT 0x7fffffffu
/* What gpugc_refcount says of an immortal object (gpugc_make_immortal). */
#define GPUGC_IMMORTAL_REFCOUNT 0xC0000000u
/* Payloads are aligned to this many bytes. */
#define GPUGC_ALIGNMENT 8

/* A new object of type t with nrefs NULL slots and a zeroed payload of size
 * bytes, holding one reference for the caller.  Objects with slots are
 * tracked by the cycle collector and start in generation 0; objects without
 * are left to reference counting, as CPython does with atoms.  May run an
 * automatic collection first.  NULL on error. */
GPUGC_API GPUGC_NODISCARD GPUGC_ALLOC_SIZE(4) void *gpugc_new(gpugc_heap *h, gpugc_type t,
                                                            uint32_t nrefs, size_t size);

/* gpugc_new that records the caller's file and line as the allocation site
 * (allocation tracing, below); file must outlive the heap (a string literal
 * such as __FILE__). */
GPUGC_API GPUGC_NODISCARD GPUGC_ALLOC_SIZE(4) void *
gpugc_new_at(gpugc_heap *h, gpugc_type t, uint32_t nrefs, size_t size, const char *file, int line);
#define GPUGC_NEW(h, t, nrefs, size) gpugc_new_at((h), (t), (nrefs), (size), __FILE__, __LINE__)

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

/* gpugc_set_ref that gives the slot the caller's reference to target
 * instead of a new one, as CPython's PyTuple_SET_ITEM steals it: target's
 * count is unchanged, and the caller no longer holds that reference (it
 * must have held one).  The common way to fill a new object's slots with
 * new objects.  On an error nothing changed and the reference is still the
 * caller's; GPUGC_EUNDERFLOW when target is what the slot holds and has no
 * count but the slot's. */
GPUGC_API int gpugc_give_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target);

/* The object in slot `slot`, borrowed (its count is unchanged); NULL for an
 * empty slot or an error (see gpugc_last_error). */
GPUGC_API void *gpugc_get_ref(const gpugc_heap *h, const void *obj, uint32_t slot);

/* The object's slot count; 0 on error. */
GPUGC_API uint32_t gpugc_nrefs(const gpugc_heap *h, const void *obj);

/* Changes the slot count.  New slots are NULL; references in dropped slots
 * are released.  An object that gains its first slot becomes tracked (in
 * generation 0, or the permanent one if immortal) unless gpugc_untrack
 * left it out; one that loses its last is untracked. */
GPUGC_API int gpugc_resize_refs(gpugc_heap *h, void *obj, uint32_t nrefs);

/* ------------------------------------------------------------------------ */
/* Collection                                                                */
/* ------------------------------------------------------------------------ */

/* Collects generations 0..generation (0, 1 or 2).  Returns the number of
 * unreachable objects found (callbacks and finalizers may resurrect some
 * of them, which then survive), or a negative status, in which case
 * nothing was freed.
 *
 * The sweep runs in CPython's order (PEP 442 and gc's handle_weakrefs):
 *   1. every weak reference to the whole unreachable set is cleared: from
 *      here on each reads NULL, so no callback can reach the garbage
 *      through one, and none can be made to it (GPUGC_EBUSY);
 *   2. their callbacks run, once each;
 *   3. the finalizers of the unreachable objects run, once per object ever;
 *   4. if any callback or finalizer ran, reachability among the unreachable
 *      objects is computed again: each one that anything outside them now
 *      references (a C reference, a slot of a live object, the garbage
 *      list) survives, with everything it reaches;
 *   5. the rest is destroyed (every destroy runs before any memory goes)
 *      and freed.  While the destroy callbacks run, a new reference to an
 *      object being freed is refused with GPUGC_EBUSY (gpugc_incref,
 *      gpugc_decref, or as the target of gpugc_set_ref), so no slot and no
 *      C reference is left naming a freed object.
 * Under GPUGC_DEBUG_SAVEALL step 5 moves the rest to the garbage list
 * instead.  The introspection calls are refused from every callback of
 * steps 2 to 5, and the collection callbacks' STOP phase runs after it. */
GPUGC_API int64_t gpugc_collect(gpugc_heap *h, int generation);

/* Background collection: the mark phase of a collection of generations
 * 0..generation runs beside the program, on any backend (a collector
 * thread marks; cpu-parallel's team and the GPUs as they do), and the
 * sweep runs on the program's thread in gpugc_collect_finish.
 *
 * What is marked is a snapshot: the set, the counts and the slots as they
 * were at gpugc_collect_start, taken from a copy of the heap that the heap
 * keeps up to date by dirty cards.  The first start copies it whole; a
 * later one only takes the dirty cards, and the collector thread copies
 * what they name and the counts while the program goes on, whose changes
 * meanwhile keep the old values for it (a card is copied before it
 * changes, a count logged), so a start's pause does not grow with the
 * heap.  Meanwhile the heap is used as
 * usual: objects are made (they are not in the set), counted, linked,
 * resized and freed by count; what becomes garbage meanwhile is the next
 * collection's.  The collection frees exactly the set members that were
 * unreachable at the start, unless the program reached one again through
 * gpugc_weakref_get, the one way back to garbage: reachability among them
 * is always computed again before anything is freed, so an object alive
 * at the finish is never freed.  Ids of the set freed meanwhile are not
 * reused before the sweep.  Finalizers, weak-reference callbacks and the
 * collection callbacks' STOP phase run in the sweep (START at the start).
 * Survivors move up a generation as gpugc_collect's do, except an object
 * of the oldest generation the program untracked and tracked again
 * meanwhile, which stays in generation 0 as a new object does.
 *
 * Calls that need a settled heap finish a pending collection first:
 * gpugc_collect, gpugc_freeze, gpugc_unfreeze, gpugc_get_objects,
 * gpugc_get_referrers, the garbage-list calls; gpugc_heap_free waits for
 * the mark and releases everything.  gpugc_last_collection's figures say
 * background = 1, with the two pauses and the snapshot's size. */

/* Starts one.  GPUGC_OK: the mark now runs; GPUGC_EBUSY when one is
 * pending or the heap is in a callback; GPUGC_EINVAL for a generation
 * outside 0..2; GPUGC_ENOMEM (nothing started) when memory is short. */
GPUGC_API int gpugc_collect_start(gpugc_heap *h, int generation);
/* 1: the pending collection's mark is done (finish will not wait); 0:
 * still marking; negative: none is pending (GPUGC_EINVAL, not reported). */
GPUGC_API int gpugc_collect_ready(const gpugc_heap *h);
/* Waits for the mark if needed, sweeps, and returns what gpugc_collect
 * returns; GPUGC_EINVAL if none was started, GPUGC_EBUSY from a callback. */
GPUGC_API int64_t gpugc_collect_finish(gpugc_heap *h);

/* Automatic collection (on by default). */
GPUGC_API void gpugc_enable(gpugc_heap *h);
GPUGC_API void gpugc_disable(gpugc_heap *h);
GPUGC_API int gpugc_isenabled(const gpugc_heap *h);

/* Live objects in the heap. */
GPUGC_API size_t gpugc_object_count(const gpugc_heap *h);

/* ------------------------------------------------------------------------ */
/* Generations, as CPython's gc module has them                              */
/* ------------------------------------------------------------------------ */

/* CPython's gc.get_count: count[0] is allocations minus deallocations of
 * tracked objects since the last collection, count[g] (g > 0) the
 * collections of generation g-1 since the last of generation g. */
GPUGC_API int gpugc_get_count(const gpugc_heap *h, uint32_t count[GPUGC_GENERATIONS]);

/* CPython's gc.set_threshold / gc.get_threshold; the meaning is that of
 * gpugc_config.threshold.  threshold[0] = 0 disables automatic collection
 * (gpugc_collect still works). */
GPUGC_API int gpugc_set_threshold(gpugc_heap *h, const uint32_t threshold[GPUGC_GENERATIONS]);
GPUGC_API int gpugc_get_threshold(const gpugc_heap *h, uint32_t threshold[GPUGC_GENERATIONS]);

/* CPython's gc.freeze: moves every tracked object into the permanent
 * generation, which no collection examines (frozen objects still keep
 * what they reference alive, and still die by reference count).  Call it
 * before fork() so that children do not touch, and so copy, the pages of
 * the objects the parent built.  Resets count[0].  On GPUGC_ENOMEM
 * (reported) nothing moves. */
GPUGC_API void gpugc_freeze(gpugc_heap *h);
/* Moves the frozen objects back into the oldest generation (2). */
GPUGC_API void gpugc_unfreeze(gpugc_heap *h);
/* Objects frozen now (immortal objects are not counted); 0 on error. */
GPUGC_API size_t gpugc_get_freeze_count(const gpugc_heap *h);

/* PEP 683: from now on gpugc_incref, gpugc_decref and references stored in
 * or dropped from slots leave the object's count alone (gpugc_refcount
 * says GPUGC_IMMORTAL_REFCOUNT); it is never collected (it lives in the
 * permanent generation) and never freed before gpugc_heap_free, which
 * destroys it.  What its slots reference stays alive while they do.
 * Refused (GPUGC_EBUSY) from finalizers, destructors and callbacks. */
GPUGC_API int gpugc_make_immortal(gpugc_heap *h, void *obj);

/* ------------------------------------------------------------------------ */
/* Collection callbacks                                                      */
/* ------------------------------------------------------------------------ */

/* Collection callbacks (CPython's gc.callbacks). */
typedef enum { GPUGC_PHASE_START, GPUGC_PHASE_STOP } gpugc_phase;

typedef struct gpugc_collect_info {
    int generation;          /* generation being collected                   */
    uint64_t collected;      /* STOP: unreachable objects freed              */
    uint64_t uncollectable;  /* STOP: moved to the garbage list              */
    uint64_t candidates;     /* STOP: objects in the set                     */
    uint64_t duration_ns;    /* STOP: time the collection took               */
    gpugc_backend backend;   /* START: the configured backend (AUTO stays
                                AUTO); STOP: the one that ran the mark phase */
} gpugc_collect_info;

typedef void (*gpugc_callback)(gpugc_heap *h, gpugc_phase phase,
                               const gpugc_collect_info *info, void *data);

/* Adds fn (with data) to the callbacks run, in the order added, at the
 * START and the STOP of every collection, automatic ones included.  They
 * run while the heap is collecting: they may allocate and drop
 * references, but gpugc_collect and gpugc_callback_add/remove from a
 * callback are refused with GPUGC_EBUSY.  STOP runs also after a
 * collection that failed (figures zero). */
GPUGC_API int gpugc_callback_add(gpugc_heap *h, gpugc_callback fn, void *data);
/* Removes the first callback added with this fn and data; GPUGC_EINVAL if
 * there is none. */
GPUGC_API int gpugc_callback_remove(gpugc_heap *h, gpugc_callback fn, void *data);

/* ------------------------------------------------------------------------ */
/* Weak references                                                           */
/* ------------------------------------------------------------------------ */

/* A weak reference never keeps its referent alive and never dangles: when
 * the referent dies, by reference count (after its finalizer, if that did
 * not resurrect it) or as unreachable garbage of a collection (before any
 * callback or finalizer of that collection runs, every weak reference to
 * any of its garbage reads NULL, as in CPython; a callback or finalizer
 * that then resurrects the object does not bring its weak references
 * back), every weak reference to it reads NULL, and then the callback of
 * each runs once, before the referent's memory can be reused.  A weak reference is
 * the caller's until gpugc_weakref_free; gpugc_heap_free frees those
 * left, running no callback. */
typedef struct gpugc_weakref gpugc_weakref;
typedef void (*gpugc_weakref_cb)(gpugc_heap *h, gpugc_weakref *w, void *data);

/* A weak reference to obj; cb (may be NULL) runs with data when obj dies.
 * NULL on error; GPUGC_EBUSY for an object being freed (from its own
 * weak-reference callbacks, or garbage of a sweep in progress). */
GPUGC_API GPUGC_NODISCARD gpugc_weakref *gpugc_weakref_new(gpugc_heap *h, void *obj,
                                                           gpugc_weakref_cb cb, void *data);
/* The referent with a new reference for the caller (gpugc_decref it), or
 * NULL once it died. */
GPUGC_API GPUGC_NODISCARD void *gpugc_weakref_get(gpugc_heap *h, gpugc_weakref *w);
/* Frees w, dead or alive (its callback will not run); NULL is ignored.
 * May be called from any callback, w's own included. */
GPUGC_API void gpugc_weakref_free(gpugc_heap *h, gpugc_weakref *w);
/* Live weak references to obj (CPython's weakref.getweakrefcount). */
GPUGC_API size_t gpugc_weakref_count(const gpugc_heap *h, const void *obj);

/* ------------------------------------------------------------------------ */
/* Introspection                                                             */
/* ------------------------------------------------------------------------ */

/* Introspection (CPython's gc.get_objects, get_referrers, get_referents).
 * A visitor returns 0 to go on, anything else to stop: the call then
 * returns that value; otherwise GPUGC_OK, or a negative status.  Each
 * object visited is held (one extra count) until the walk ends, so a
 * visitor may take references, drop them, allocate and collect; objects
 * it creates are not visited.  Refused (GPUGC_EBUSY) from the callbacks,
 * finalizers and destructors a collection's sweep runs, so that they never
 * hand out an object about to be freed. */
typedef int (*gpugc_visit)(gpugc_heap *h, void *obj, void *data);

/* The generation of frozen and immortal objects, for gpugc_get_objects. */
#define GPUGC_PERMANENT_GENERATION 3

/* Visits the tracked objects of `generation` (0..2, or
 * GPUGC_PERMANENT_GENERATION), or with -1 every tracked object. */
GPUGC_API int gpugc_get_objects(gpugc_heap *h, int generation, gpugc_visit visit, void *data);
/* Visits, once each, every live object with a slot that references obj,
 * whether tracked or not. */
GPUGC_API int gpugc_get_referrers(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data);
/* Visits what obj's slots reference, in slot order (NULL slots skipped, an
 * object in two slots visited twice). */
GPUGC_API int gpugc_get_referents(gpugc_heap *h, const void *obj, gpugc_visit visit, void *data);

/* 1 if the collector examines obj, 0 if not, or a negative status.  An
 * object is tracked when it has slots, unless gpugc_untrack left it out. */
GPUGC_API int gpugc_is_tracked(const gpugc_heap *h, const void *obj);
/* Leaves obj out of every collection, as CPython's PyObject_GC_UnTrack
 * does: its references still count (what it references stays alive), but
 * a cycle through it is never found.  It stays untracked whatever its
 * slot count does, until gpugc_track. */
GPUGC_API int gpugc_untrack(gpugc_heap *h, void *obj);
/* Undoes gpugc_untrack: obj is tracked again (in generation 0) as soon as
 * it has slots. */
GPUGC_API int gpugc_track(gpugc_heap *h, void *obj);
/* 1 if obj's finalizer has run (it never runs again, PEP 442), 0 if not,
 * or a negative status. */
GPUGC_API int gpugc_is_finalized(const gpugc_heap *h, const void *obj);

/* The garbage list (CPython's gc.garbage): the unreachable objects that
 * collections under GPUGC_DEBUG_SAVEALL kept, oldest first, each holding
 * one count for the list.  Visited as gpugc_get_objects visits. */
GPUGC_API int gpugc_garbage(gpugc_heap *h, gpugc_visit visit, void *data);
/* Objects on the garbage list now. */
GPUGC_API size_t gpugc_garbage_count(const gpugc_heap *h);
/* Empties the garbage list, dropping its counts: what only the list kept
 * alive is freed at once or, in cycles, by the next collection. */
GPUGC_API int gpugc_garbage_clear(gpugc_heap *h);

/* A picture of the heap as Graphviz DOT (objgraph's show_refs): the
 * objects objs[0..nobjs) and what their slots reach within `depth` steps,
 * or with nobjs 0 the live objects in id order; at most max_nodes objects
 * (0: no limit).  Nodes say type, id and count and how many references
 * lead past the bounds; edges say the slot.  The given objects are drawn
 * bold, the garbage list (GPUGC_DEBUG_SAVEALL) red, frozen and immortal
 * objects grey.  Render with `dot -Tsvg`. */
GPUGC_API int gpugc_dump_dot(gpugc_heap *h, FILE *f, void *const *objs, size_t nobjs,
                             unsigned depth, size_t max_nodes);

/* ------------------------------------------------------------------------ */
/* Debugging                                                                 */
/* ------------------------------------------------------------------------ */

/* Debugging (CPython's gc.set_debug), with CPython's values.  Output goes
 * through the heap's output function, one line per call. */
#define GPUGC_DEBUG_STATS 1u         /* figures at the start and end of each
                                        collection                           */
#define GPUGC_DEBUG_COLLECTABLE 2u   /* each unreachable object found        */
#define GPUGC_DEBUG_UNCOLLECTABLE 4u /* each object moved to the garbage list */
#define GPUGC_DEBUG_SAVEALL 32u      /* unreachable objects are not freed but
                                        moved to the garbage list (after
                                        their finalizers ran, PEP 442)        */
#define GPUGC_DEBUG_LEAK (GPUGC_DEBUG_COLLECTABLE | GPUGC_DEBUG_UNCOLLECTABLE | GPUGC_DEBUG_SAVEALL)

/* Sets the debug flags; GPUGC_EINVAL for bits not listed above. */
GPUGC_API int gpugc_set_debug(gpugc_heap *h, unsigned flags);
GPUGC_API unsigned gpugc_get_debug(const gpugc_heap *h);

/* Receives the heap's debug output, one line (ending in a newline) per
 * call.  The default writes to stderr. */
typedef void (*gpugc_output)(gpugc_heap *h, const char *line, void *data);
/* Installs fn for h; NULL restores the default. */
GPUGC_API void gpugc_set_output(gpugc_heap *h, gpugc_output fn, void *data);

/* ------------------------------------------------------------------------ */
/* Figures                                                                   */
/* ------------------------------------------------------------------------ */

/* Every stats getter fills the caller's struct up to `size` bytes (pass
 * sizeof the struct): fields a newer library has beyond it are left out,
 * so programs built against an older header keep working. */

/* The figures of one collection.  Listed once here: each X(type, name, doc)
 * becomes a field of gpugc_collection_stats, and programs can walk the list
 * (the benchmark prints every field this way). */
#define GPUGC_COLLECTION_STATS(X)                                               \
    X(int32_t, generation, "generation collected")                              \
    X(int32_t, backend, "gpugc_backend whose mark was used (CPU after a fallback)") \
    X(int32_t, fallback, "1 if the chosen backend failed and the CPU reference ran") \
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
    X(uint64_t, bytes_d2h, "bytes copied device to host")                       \
    X(int32_t, background, "1 if marked in the background (gpugc_collect_start)") \
    X(uint64_t, pause_start_ns, "background: the program's pause in the start") \
    X(uint64_t, pause_finish_ns, "background: the pause of the finish (sweep included)") \
    X(uint64_t, snapshot_bytes, "background: bytes of the heap's snapshot")

typedef struct gpugc_collection_stats {
#define GPUGC_STATS_FIELD_(type, name, doc) type name;
    GPUGC_COLLECTION_STATS(GPUGC_STATS_FIELD_)
#undef GPUGC_STATS_FIELD_
} gpugc_collection_stats;

/* The figures of the heap's last collection; GPUGC_EINVAL before any. */
GPUGC_API int gpugc_last_collection(const gpugc_heap *h, gpugc_collection_stats *out,
                                    size_t size);

/* Cumulative figures of one generation (CPython's gc.get_stats). */
typedef struct gpugc_gen_stats {
    uint64_t collections;   /* collections of this generation               */
    uint64_t collected;     /* unreachable objects freed                     */
    uint64_t uncollectable; /* unreachable objects moved to the garbage list
                               (gpugc_garbage) instead of being freed        */
    uint64_t candidates;    /* objects examined: the sizes of the sets       */
    uint64_t duration_ns;   /* time spent collecting                         */
} gpugc_gen_stats;

/* The figures of collections of `generation` (0..2) so far. */
GPUGC_API int gpugc_get_stats(const gpugc_heap *h, int generation, gpugc_gen_stats *out,
                              size_t size);

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
                                         gpugc_size_class_stats *out, size_t size);
/* The heap's memory as a whole. */
GPUGC_API int gpugc_memory_stats_get(const gpugc_heap *h, gpugc_memory_stats *out, size_t size);

/* Writes sys._debugmallocstats's picture of the heap's memory to f: per
 * size class the pools, blocks used and free; large payloads; arenas
 * mapped, at peak and released; bytes of collector metadata; slots. */
GPUGC_API int gpugc_print_allocator_stats(const gpugc_heap *h, FILE *f);

/* ------------------------------------------------------------------------ */
/* Allocation tracing                                                        */
/* ------------------------------------------------------------------------ */

/* Allocation tracing, in the spirit of Python's tracemalloc.  While a heap
 * traces, each new object records its payload size and its allocation
 * site: the file and line of a GPUGC_NEW call (plain gpugc_new records a
 * site with file NULL).  Objects allocated before tracing started are not
 * traced.  Stopping forgets every trace. */
GPUGC_API int gpugc_trace_start(gpugc_heap *h);
GPUGC_API int gpugc_trace_stop(gpugc_heap *h);
GPUGC_API int gpugc_trace_is_tracing(const gpugc_heap *h);
/* Payload bytes of the traced live objects now, and at most since tracing
 * started or gpugc_trace_reset_peak; both 0 when not tracing. */
GPUGC_API int gpugc_trace_get_traced_memory(const gpugc_heap *h, uint64_t *current, uint64_t *peak);
GPUGC_API int gpugc_trace_reset_peak(gpugc_heap *h);

/* The traced live objects at one moment, grouped by site and type.  It
 * stays valid after tracing stops, and reads type names from the heap:
 * free it before the heap. */
typedef struct gpugc_trace_snapshot gpugc_trace_snapshot;
typedef enum { GPUGC_TRACE_BY_TYPE, GPUGC_TRACE_BY_SITE } gpugc_trace_key;

typedef struct gpugc_trace_stat {
    const char *file;      /* BY_SITE: file (NULL: plain gpugc_new) and line */
    int line;
    gpugc_type type;       /* BY_TYPE: the type and its name                 */
    const char *type_name;
    uint64_t count, bytes; /* traced objects and payload bytes               */
    int64_t count_diff, bytes_diff; /* gpugc_trace_compare: newer - older    */
} gpugc_trace_stat;

/* NULL on error, or when the heap is not tracing (GPUGC_EINVAL). */
GPUGC_API GPUGC_NODISCARD gpugc_trace_snapshot *gpugc_trace_snapshot_take(gpugc_heap *h);
GPUGC_API void gpugc_trace_snapshot_free(gpugc_trace_snapshot *s);
/* The snapshot grouped by key, most bytes first, as a malloc'd array of *n
 * entries in *out (free() it). */
GPUGC_API int gpugc_trace_statistics(const gpugc_trace_snapshot *s, gpugc_trace_key key,
                                     gpugc_trace_stat **out, size_t *n);
/* Both snapshots grouped by key and compared (tracemalloc's compare_to):
 * one entry per group of either, with newer's figures and the difference,
 * largest |bytes_diff| first. */
GPUGC_API int gpugc_trace_compare(const gpugc_trace_snapshot *newer,
                                  const gpugc_trace_snapshot *older, gpugc_trace_key key,
                                  gpugc_trace_stat **out, size_t *n);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Called for every error with the heap (NULL for errors with no heap), the
 * status and a one-line message.  The default prints to stderr and returns;
 * the program goes on.  A handler called while a collection marks (its
 * backend failed and the CPU reference takes over, or memory ran short)
 * may not change that heap: such calls are refused with GPUGC_EBUSY. */
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
 * (and garbage-list entries) that reference the object, every slot names a
 * live object, generation lists (the permanent one included) match object
 * flags (tracked, untracked by request, immortal), slot ranges do not
 * overlap, free lists hold only dead ids, weak references are listed
 * under live referents, pool counters add up.  GPUGC_OK or
 * GPUGC_ECORRUPT with the first broken invariant in the message.  O(heap). */
GPUGC_API int gpugc_validate(gpugc_heap *h);

/* Places where a fault can be injected. */
typedef enum {
    GPUGC_FAULT_ALLOC,         /* a memory request of the heap (arrays,
                                  arenas, payloads, scratch)                */
    GPUGC_FAULT_MARK,          /* the backend's mark phase as a whole       */
    GPUGC_FAULT_DEVICE_INIT,   /* a device backend's setup: opening the
                                  device, loading the kernels               */
    GPUGC_FAULT_DEVICE_ALLOC,  /* a device memory allocation               */
    GPUGC_FAULT_DEVICE_COPY,   /* a copy or map between host and device    */
    GPUGC_FAULT_DEVICE_LAUNCH, /* a kernel launch                           */
    GPUGC_FAULT_DEVICE_RUNAWAY, /* a device search that never ends: from the
                                  next level on, every level reads as one
                                  more object (the bound on the search must
                                  stop it)                                  */
    GPUGC_FAULT_COUNT
} gpugc_fault;

/* Makes the (countdown+1)-th next request at `site` fail as if the system
 * had refused it; a negative countdown disarms.  For testing error paths. */
GPUGC_API int gpugc_inject_fault(gpugc_heap *h, gpugc_fault site, int64_t countdown);

/* ------------------------------------------------------------------------ */
/* Inline fast paths                                                         */
/* ------------------------------------------------------------------------ */

/* gpugc_incref, gpugc_decref, gpugc_get_ref, gpugc_set_ref, gpugc_give_ref
 * and gpugc_nrefs are also macros that run the common case in the caller,
 * as CPython's Py_INCREF does, and call the library's function for
 * everything else: a NULL heap or object, a header that is not the heap's,
 * an id out of range, a count at zero, at its limit, immortal or (decref)
 * about to reach zero, a payload that is not the live object's (get_ref,
 * nrefs, the holder of a store), a slot out of range, a store that clears
 * a slot or drops the last count of the reference it replaces, a heap
 * whose writes are carded for a device mirror or a snapshot, a heap in the
 * middle of a mark, a sweep's frees or gpugc_heap_free, and a library
 * built with GPUGC_DEBUG, which checks every call fully.  The function
 * checks again and reports, so every error is what it was without the
 * macro.  They read the start of every heap, laid out below: it belongs
 * to this version of the library, which the shared library's soname
 * names.  Define GPUGC_NO_INLINE before including this header to call the
 * library every time; the functions exist either way, so their addresses
 * can be taken. */

/* What the inline paths read; the first fields of every heap. */
#define GPUGC__HEAP_PREFIX                                                             \
    uint32_t cookie;    /* a payload header's check is cookie ^ its size class */     \
    uint32_t nids;      /* ids handed out so far: 0..nids-1                     */     \
    unsigned busy;      /* what the heap is in the middle of (bits)             */     \
    unsigned checked;   /* nonzero: a GPUGC_DEBUG library, no inline path       */     \
    unsigned mirrors;   /* nonzero: copies of the heap keep cards of its writes */     \
    uint32_t *rc;       /* id-indexed: reference counts                         */     \
    uint32_t *slot_off; /* id-indexed: where the object's slots start           */     \
    uint32_t *slot_cnt; /* id-indexed: how many it has                          */     \
    uint32_t *slots;    /* every object's slots: target ids or GPUGC__NO_ID     */     \
    void **addr;        /* id-indexed: payload addresses, NULL for a dead id    */

typedef struct gpugc__heap_prefix {
    GPUGC__HEAP_PREFIX
} gpugc__heap_prefix;

/* The 8 bytes before every payload. */
typedef struct gpugc__header {
    uint32_t id;
    uint32_t check;
} gpugc__header;

#define GPUGC__NO_ID 0xffffffffu   /* an empty slot                          */
#define GPUGC__BUSY_SLOW 0x74u     /* busy: freeing garbage, dying, marking,
                                      counts being copied                  */

/* obj's id if its header is one of p's heap (GPUGC__NO_ID if not).  The
 * header is reached through the address, not the pointer: to the compiler
 * a payload is the object GPUGC_ALLOC_SIZE says, with nothing before it. */
static inline uint32_t gpugc__inline_id(const gpugc__heap_prefix *p, const void *obj) {
    const gpugc__header *hd = (const gpugc__header *)((uintptr_t)obj - sizeof(gpugc__header));
    return (hd->check ^ p->cookie) <= GPUGC_SIZE_CLASSES && hd->id < p->nids ? hd->id
                                                                              : GPUGC__NO_ID;
}

static inline const gpugc__heap_prefix *gpugc__prefix(const gpugc_heap *h) {
    return (const gpugc__heap_prefix *)(const void *)h;
}

/* Counts may move inline: the heap is in no state that refuses them. */
static inline int gpugc__counts_inline(const gpugc__heap_prefix *p) {
    return !((p->busy & GPUGC__BUSY_SLOW) | p->checked);
}

/* 1 <= count < GPUGC_MAX_REFCOUNT: not dying, not at the limit, not
 * immortal, so it may go up one. */
static inline int gpugc__can_count_up(uint32_t c) { return c - 1u < GPUGC_MAX_REFCOUNT - 1u; }
/* 2 <= count <= GPUGC_MAX_REFCOUNT: it may go down one and stay above
 * zero, not immortal. */
static inline int gpugc__can_count_down(uint32_t c) { return c - 2u < GPUGC_MAX_REFCOUNT - 1u; }

/* obj's id if it is a live object's payload (a dead id's address is
 * NULL), else GPUGC__NO_ID. */
static inline uint32_t gpugc__inline_live(const gpugc__heap_prefix *p, const void *obj) {
    uint32_t id = gpugc__inline_id(p, obj);
    return id != GPUGC__NO_ID && p->addr[id] == obj ? id : GPUGC__NO_ID;
}

/* Whether obj is a live object's payload with slot `slot` in range; if
 * so, *at is the slot's index in p's slot array. */
static inline int gpugc__inline_slot(const gpugc__heap_prefix *p, const void *obj, uint32_t slot,
                                     uint32_t *at) {
    uint32_t id = gpugc__inline_live(p, obj);
    if (id == GPUGC__NO_ID || slot >= p->slot_cnt[id])
        return 0;
    *at = p->slot_off[id] + slot;
    return 1;
}

static inline void gpugc__incref(gpugc_heap *h, void *obj) {
    const gpugc__heap_prefix *p = gpugc__prefix(h);
    uint32_t id;
    if (h && obj && gpugc__counts_inline(p) && (id = gpugc__inline_id(p, obj)) != GPUGC__NO_ID &&
        gpugc__can_count_up(p->rc[id])) {
        p->rc[id]++;
        return;
    }
    (gpugc_incref)(h, obj);
}

static inline void gpugc__decref(gpugc_heap *h, void *obj) {
    const gpugc__heap_prefix *p = gpugc__prefix(h);
    uint32_t id;
    if (h && obj && gpugc__counts_inline(p) && (id = gpugc__inline_id(p, obj)) != GPUGC__NO_ID &&
        gpugc__can_count_down(p->rc[id])) {
        p->rc[id]--;
        return;
    }
    (gpugc_decref)(h, obj);
}

static inline void *gpugc__get_ref(const gpugc_heap *h, const void *obj, uint32_t slot) {
    const gpugc__heap_prefix *p = gpugc__prefix(h);
    uint32_t at, t;
    if (h && obj && gpugc__inline_slot(p, obj, slot, &at))
        return (t = p->slots[at]) == GPUGC__NO_ID ? NULL : p->addr[t];
    return (gpugc_get_ref)(h, obj, slot);
}

static inline uint32_t gpugc__nrefs(const gpugc_heap *h, const void *obj) {
    const gpugc__heap_prefix *p = gpugc__prefix(h);
    uint32_t id;
    if (h && obj && (id = gpugc__inline_live(p, obj)) != GPUGC__NO_ID)
        return p->slot_cnt[id];
    return (gpugc_nrefs)(h, obj);
}

/* gpugc_set_ref, or with `give` gpugc_give_ref: stores target into a slot
 * of obj that is empty or holds a reference the inline decref could drop,
 * the common cases of building and re-pointing a graph.  The target's
 * count test is set_ref's for both (giving an immortal target, or one at
 * the limit, is the library's). */
static inline int gpugc__store_ref(gpugc_heap *h, void *obj, uint32_t slot, void *target,
                                   int give) {
    const gpugc__heap_prefix *p = gpugc__prefix(h);
    uint32_t at, old, tid;
    if (h && obj && target && gpugc__counts_inline(p) && !p->mirrors &&
        gpugc__inline_slot(p, obj, slot, &at) &&
        ((old = p->slots[at]) == GPUGC__NO_ID || gpugc__can_count_down(p->rc[old])) &&
        (tid = gpugc__inline_id(p, target)) != GPUGC__NO_ID && gpugc__can_count_up(p->rc[tid])) {
        if (!give)
            p->rc[tid]++;
        if (old != GPUGC__NO_ID)
            p->rc[old]--;
        p->slots[at] = tid;
        return GPUGC_OK;
    }
    return give ? (gpugc_give_ref)(h, obj, slot, target) : (gpugc_set_ref)(h, obj, slot, target);
}

#ifndef GPUGC_NO_INLINE
#define gpugc_set_ref(h, obj, slot, target) gpugc__store_ref((h), (obj), (slot), (target), 0)
#define gpugc_give_ref(h, obj, slot, target) gpugc__store_ref((h), (obj), (slot), (target), 1)
#define gpugc_incref(h, obj) gpugc__incref((h), (obj))
#define gpugc_decref(h, obj) gpugc__decref((h), (obj))
#define gpugc_get_ref(h, obj, slot) gpugc__get_ref((h), (obj), (slot))
#define gpugc_nrefs(h, obj) gpugc__nrefs((h), (obj))
#endif

#ifdef __cplusplus
}
#endif

#endif /* GPUGC_H */

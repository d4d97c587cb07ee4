/* test_device.c - a GPU backend (GPUGC_TEST_DEVICE: opencl, the default,
 * or cuda): agreement with the serial reference on large graphs (with the
 * narrow-frontier handoff on and off), a search that narrows after wide
 * levels through objects of many slots, the transfer bound of the device
 * mirror and its whole uploads, corrupt counts, a failure injected at each device stage in turn,
 * and for OpenCL the choice of device.
 *
 * Every graph is built twice from one seed, on a cpu heap and on a heap of
 * the backend under test; both are collected alike and must free exactly
 * the same objects (each payload holds its object's index; destroy
 * records it).
 *
 * Where the backend has no device, the program checks instead that a
 * machine without one gets clear answers and AUTO marks on the CPU (CI
 * runs it so for CUDA, having no GPU, and for OpenCL with an empty ICD
 * directory, GPUGC_TEST_EXPECT_NO_DEVICE set), unless
 * GPUGC_TEST_REQUIRE_DEVICE is set: then a missing device is a failure
 * (CI sets it for OpenCL, which PoCL provides).  GPUGC_BACKEND is ignored
 * here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpugc.h"

/* The backend under test (GPUGC_TEST_DEVICE). */
static gpugc_backend device = GPUGC_BACKEND_OPENCL;
static const char *device_name = "opencl";

/* ---- graphs built alike on two heaps -------------------------------------------- */

typedef struct graph {
    gpugc_heap *h;
    gpugc_type type;
    void **obj;         /* by index; NULL once freed                    */
    uint8_t *held;      /* the test holds a C reference                 */
    uint32_t n;
    int errors;         /* reports to the error handler                 */
    int last_status;
} graph;

/* destroy callbacks find their graph through the heap. */
static graph *graphs[2];

/* The payload of objects a graph does not track by index. */
#define EXTRA UINT32_MAX

static void record_destroy(gpugc_heap *h, void *obj) {
    uint32_t i = *(uint32_t *)obj;
    for (int g = 0; g < 2; g++)
        if (graphs[g] && graphs[g]->h == h && i != EXTRA)
            graphs[g]->obj[i] = NULL;
}

/* A new object of `slots` slots that the graph does not track, with the
 * caller's reference. */
static void *extra(graph *g, uint32_t slots) {
    void *o = gpugc_new(g->h, g->type, slots, sizeof(uint32_t));
    assert_non_null(o);
    *(uint32_t *)o = EXTRA;
    return o;
}

static void count_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    graph *g = data;
    g->errors++;
    g->last_status = status;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) % n);
}

static gpugc_heap *heap_on(gpugc_backend b, int handoff) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = b;
    cfg.threshold[0] = 0;
    cfg.gpu_cpu_handoff = handoff;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    if (!h)
        print_error("gpugc_heap_new: %s\n", gpugc_last_error_message(NULL));
    assert_non_null(h);
    return h;
}

static void graph_open(graph *g, int slot, gpugc_backend b, int handoff, uint32_t n) {
    memset(g, 0, sizeof *g);
    g->h = heap_on(b, handoff);
    gpugc_set_error_handler(g->h, count_error, g);
    gpugc_type_desc d = {"indexed", NULL, record_destroy};
    g->type = gpugc_type_register(g->h, &d);
    g->n = n;
    g->obj = calloc(n, sizeof *g->obj);
    g->held = calloc(n, 1);
    assert_non_null(g->obj);
    assert_non_null(g->held);
    graphs[slot] = g;
}

static void graph_close(graph *g) {
    for (int s = 0; s < 2; s++)
        if (graphs[s] == g)
            graphs[s] = NULL;
    gpugc_heap_free(g->h);
    free(g->obj);
    free(g->held);
}

/* n objects of `slots` slots, every one held from C. */
static void make_objects(graph *g, uint32_t slots) {
    for (uint32_t i = 0; i < g->n; i++) {
        g->obj[i] = gpugc_new(g->h, g->type, slots, sizeof(uint32_t));
        assert_non_null(g->obj[i]);
        *(uint32_t *)g->obj[i] = i;
        g->held[i] = 1;
    }
}

static void set(graph *g, uint32_t i, uint32_t slot, uint32_t target) {
    assert_int_equal(gpugc_set_ref(g->h, g->obj[i], slot, g->obj[target]), GPUGC_OK);
}

static void drop(graph *g, uint32_t i) {
    if (g->held[i] && g->obj[i]) {
        g->held[i] = 0;
        gpugc_decref(g->h, g->obj[i]);
    }
}

/* Every object's two slots point at random objects. */
static void wire_random(graph *g) {
    for (uint32_t i = 0; i < g->n; i++) {
        set(g, i, 0, rnd(g->n));
        set(g, i, 1, rnd(g->n));
    }
}

/* A ring: object i references i + 1, the last references the first. */
static void wire_ring(graph *g) {
    for (uint32_t i = 0; i < g->n; i++)
        set(g, i, 0, (i + 1) % g->n);
}

/* Keeps a C reference on about one object in `every` (at least object 0). */
static void drop_most(graph *g, uint32_t every) {
    for (uint32_t i = 1; i < g->n; i++)
        if (rnd(every) != 0)
            drop(g, i);
}

static int64_t collect(graph *g, gpugc_collection_stats *st) {
    int64_t found = gpugc_collect(g->h, 2);
    assert_int_equal(gpugc_last_collection(g->h, st, sizeof *st), GPUGC_OK);
    return found;
}

/* Both heaps hold the same objects. */
static void expect_same(const graph *a, const graph *b) {
    assert_int_equal(gpugc_object_count(a->h), gpugc_object_count(b->h));
    for (uint32_t i = 0; i < a->n; i++)
        if ((a->obj[i] == NULL) != (b->obj[i] == NULL)) {
            print_error("object %u: %s on cpu, %s on %s\n", i, a->obj[i] ? "alive" : "freed",
                        b->obj[i] ? "alive" : "freed", device_name);
            fail();
        }
}

/* Collects both and checks that they agree and that the backend under test
 * marked on the device.  Returns its collection's stats. */
static gpugc_collection_stats collect_both(graph *cpu, graph *gpu) {
    gpugc_collection_stats a, b;
    int64_t na = collect(cpu, &a), nb = collect(gpu, &b);
    assert_int_equal(na, nb);
    assert_int_equal(b.backend, device);
    assert_int_equal(b.fallback, 0);
    assert_int_equal(a.objects, b.objects);
    assert_int_equal(a.edges, b.edges);
    expect_same(cpu, gpu);
    assert_int_equal(gpu->errors, 0);
    /* the device's stages, timed on its clock, lie inside the collection */
    assert_true(b.objects == 0 || b.ns_mark > 0);
    assert_true(b.ns_sync + b.ns_subtract_refs + b.ns_update_refs + b.ns_mark + b.ns_download <=
                b.ns_total);
    return b;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/* ---- tests -------------------------------------------------------------------- */

/* Group setup: a clean environment, and the device the full group needs. */
static int need_device(void **state) {
    (void)state;
    unsetenv("GPUGC_BACKEND");
    unsetenv("GPUGC_GPU_CPU_HANDOFF");
    unsetenv("GPUGC_OPENCL_DEVICE");
    char why[200];
    if (gpugc_backend_available(device, why, sizeof why) == GPUGC_OK)
        return 0;
    print_error("the %s backend is required but not available: %s\n", device_name, why);
    return -1;
}

/* "P:D" and name substrings choose the device, the environment overrides
 * the configuration, and a device that is not there fails heap creation
 * with GPUGC_ENODEV and a message naming it. */
static void test_device_choice(void **state) {
    (void)state;
    if (device != GPUGC_BACKEND_OPENCL)
        skip(); /* CUDA takes CUDA_VISIBLE_DEVICES' first device */
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = device;
    cfg.opencl_device = "0:0";
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    gpugc_heap_free(h);

    gpugc_set_error_handler(NULL, count_error, &(graph){0});
    cfg.opencl_device = "no-such-device-xyz";
    assert_null(gpugc_heap_new(&cfg));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_ENODEV);
    assert_non_null(strstr(gpugc_last_error_message(NULL), "no-such-device-xyz"));

    cfg.opencl_device = "0:99";
    assert_null(gpugc_heap_new(&cfg));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_ENODEV);

    /* The environment wins over the configuration, both ways. */
    setenv("GPUGC_OPENCL_DEVICE", "0:0", 1);
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    gpugc_heap_free(h);
    cfg.opencl_device = NULL;
    setenv("GPUGC_OPENCL_DEVICE", "99:0", 1);
    assert_null(gpugc_heap_new(&cfg));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_ENODEV);
    unsetenv("GPUGC_OPENCL_DEVICE");
    gpugc_set_error_handler(NULL, NULL, NULL);

    /* No name: the default device. */
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(gpugc_heap_backend(h), device);
    gpugc_heap_free(h);
}

/* Random graphs with garbage, collected, mutated and collected again, on
 * both backends; with the handoff on and off. */
static void random_rounds(int handoff, uint32_t n) {
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, n);
    graph_open(&gpu, 1, device, handoff, n);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        rng_state = 42;
        make_objects(both[g], 2);
        wire_random(both[g]);
        drop_most(both[g], 50);
    }
    collect_both(&cpu, &gpu);
    for (int round = 0; round < 4; round++) {
        for (int g = 0; g < 2; g++) {
            rng_state = 1000 + (uint64_t)round;
            graph *x = both[g];
            for (uint32_t k = 0; k < n / 20; k++) {
                uint32_t i = rnd(n), t = rnd(n);
                if (x->obj[i] && x->obj[t])
                    set(x, i, rnd(2), t);
            }
            for (uint32_t k = 0; k < n / 100; k++)
                drop(x, rnd(n));
            /* new objects join generation 0, which a young collection
             * examines alone */
            for (uint32_t k = 0; k < 100; k++) {
                void *o = extra(x, 1);
                uint32_t t = rnd(n);
                if (x->obj[t])
                    assert_int_equal(gpugc_set_ref(x->h, o, 0, x->obj[t]), GPUGC_OK);
                if (k % 2 == 0)
                    assert_int_equal(gpugc_set_ref(x->h, o, 0, o), GPUGC_OK);
                gpugc_decref(x->h, o);
            }
        }
        if (round % 2) {
            collect_both(&cpu, &gpu);
        } else {
            assert_int_equal(gpugc_collect(cpu.h, 0), gpugc_collect(gpu.h, 0));
            expect_same(&cpu, &gpu);
        }
    }
    graph_close(&cpu);
    graph_close(&gpu);
}

static void test_random_graph_handoff_on(void **state) {
    (void)state;
    random_rounds(1, (uint32_t)env_u64("GPUGC_TEST_OBJECTS", 100000));
}

static void test_random_graph_handoff_off(void **state) {
    (void)state;
    random_rounds(0, (uint32_t)env_u64("GPUGC_TEST_OBJECTS", 100000));
}

/* A ring held at one object, then dropped: every member is reached over
 * one long chain, then every member is garbage.  With the handoff the
 * device runs a couple of levels and the CPU the rest; without, one level
 * per member (one 4-byte read each) on the device. */
static void ring(int handoff) {
    uint32_t n = 5000;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, n);
    graph_open(&gpu, 1, device, handoff, n);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        make_objects(both[g], 1);
        wire_ring(both[g]);
        for (uint32_t i = 1; i < n; i++)
            drop(both[g], i);
    }
    gpugc_collection_stats st = collect_both(&cpu, &gpu);
    uint64_t per_level = 4 * (uint64_t)n;
    if (handoff)
        assert_true(st.bytes_d2h < per_level);
    else
        assert_true(st.bytes_d2h >= per_level);
    for (int g = 0; g < 2; g++)
        drop(both[g], 0);
    collect_both(&cpu, &gpu);
    assert_int_equal(gpugc_object_count(gpu.h), 0);
    graph_close(&cpu);
    graph_close(&gpu);
}

static void test_ring_handoff_on(void **state) {
    (void)state;
    ring(1);
}

static void test_ring_handoff_off(void **state) {
    (void)state;
    ring(0);
}

/* A broom: one held object of n/4 slots (the handle) reaches n/4 objects
 * at once; ten of them start bristles, chains of 2000; the rest of the
 * objects are garbage rings of 7, one of them through an object of 5000
 * slots that also points into the live part.  The search goes from a
 * narrow level to a wide one (queued, then scanned dense), back to a
 * narrow one (found by a dense pass, not queued), then along the chains
 * (queued, sparse, handed to the CPU when the handoff is on).  Each
 * bristle's end points back at the handle: when the handle is dropped,
 * all of it is one garbage cycle. */
static void broom(int handoff) {
    uint32_t n = 40000, width = n / 4, bristles = 10, length = 2000, hub_slots = 5000;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, n);
    graph_open(&gpu, 1, device, handoff, n);
    graph *both[2] = {&cpu, &gpu};
    void *handle[2];
    for (int g = 0; g < 2; g++) {
        graph *x = both[g];
        make_objects(x, 1);
        void *hub = extra(x, hub_slots);
        handle[g] = extra(x, width);
        for (uint32_t k = 0; k < width; k++)
            assert_int_equal(gpugc_set_ref(x->h, handle[g], k, x->obj[k]), GPUGC_OK);
        uint32_t next = width;
        for (uint32_t b = 0; b < bristles; b++, next += length) {
            set(x, b, 0, next);
            for (uint32_t k = 0; k + 1 < length; k++)
                set(x, next + k, 0, next + k + 1);
            assert_int_equal(gpugc_set_ref(x->h, x->obj[next + length - 1], 0, handle[g]),
                             GPUGC_OK);
        }
        for (uint32_t k = 0; k < hub_slots; k++)
            assert_int_equal(gpugc_set_ref(x->h, hub, k, x->obj[k ? (k * 7919u) % next : next]),
                             GPUGC_OK);
        for (uint32_t first = next; first < n; first += 7) {
            uint32_t last = n - first > 7 ? first + 6 : n - 1;
            for (uint32_t i = first; i < last; i++)
                set(x, i, 0, i + 1);
            if (first == next)
                assert_int_equal(gpugc_set_ref(x->h, x->obj[last], 0, hub), GPUGC_OK);
            else
                set(x, last, 0, first);
        }
        gpugc_decref(x->h, hub);
        for (uint32_t i = 0; i < n; i++)
            drop(x, i);
    }
    collect_both(&cpu, &gpu);
    assert_int_equal(gpugc_object_count(gpu.h), 1 + width + bristles * length);
    for (int g = 0; g < 2; g++)
        gpugc_decref(both[g]->h, handle[g]);
    collect_both(&cpu, &gpu);
    assert_int_equal(gpugc_object_count(gpu.h), 0);
    assert_int_equal(gpu.errors, 0);
    graph_close(&cpu);
    graph_close(&gpu);
}

static void test_broom_handoff_on(void **state) {
    (void)state;
    broom(1);
}

static void test_broom_handoff_off(void **state) {
    (void)state;
    broom(0);
}

/* When more than an eighth of a group's cards are dirty, the group goes up
 * whole, and the mirror still matches: after n/2 objects are made (their
 * ids' cards dirty), the id arrays go up whole; after half the objects'
 * slots change, the slot array does. */
static void test_whole_upload(void **state) {
    (void)state;
    uint32_t n = 20000;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, n);
    graph_open(&gpu, 1, device, 1, n);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        rng_state = 11;
        make_objects(both[g], 2);
        wire_random(both[g]);
        drop_most(both[g], 100);
    }
    gpugc_collection_stats st = collect_both(&cpu, &gpu);
    uint64_t slot_bytes = st.edges * 4;
    for (int g = 0; g < 2; g++) {
        rng_state = 13;
        for (uint32_t k = 0; k < n / 2; k++) {
            void *o = extra(both[g], 1);
            uint32_t t = rnd(n);
            if (both[g]->obj[t])
                assert_int_equal(gpugc_set_ref(both[g]->h, o, 0, both[g]->obj[t]), GPUGC_OK);
        }
    }
    /* packed, the id group would take at most 12.5% of its 12 bytes per id */
    st = collect_both(&cpu, &gpu);
    assert_true(st.bytes_h2d >= 16 * (uint64_t)gpugc_object_count(gpu.h));
    for (int g = 0; g < 2; g++) {
        rng_state = 12;
        for (uint32_t i = 0; i < n; i += 2)
            if (both[g]->obj[i] && both[g]->obj[(i * 31u + 7u) % n])
                set(both[g], i, 1, (i * 31u + 7u) % n);
    }
    st = collect_both(&cpu, &gpu);
    print_message("half the slots changed: %llu bytes up, slots %llu\n",
                  (unsigned long long)st.bytes_h2d, (unsigned long long)slot_bytes);
    assert_true(st.bytes_h2d >= 4 * (uint64_t)n + slot_bytes);
    graph_close(&cpu);
    graph_close(&gpu);
}

/* After changing the slots of 1% of the objects, a collection moves at
 * most 4 bytes per object (refcounts) + 1 bit per object (the bitmap) + 5%
 * of the slot array (dirty cards); the first collection moves the whole
 * mirror. */
static void test_transfer_bound(void **state) {
    (void)state;
    uint32_t n = (uint32_t)env_u64("GPUGC_TEST_OBJECTS", 100000);
    graph g;
    graph_open(&g, 0, device, 1, n);
    rng_state = 7;
    make_objects(&g, 2);
    wire_random(&g);
    gpugc_collection_stats st;
    assert_int_equal(collect(&g, &st), 0);
    uint64_t slot_bytes = st.edges * 4;
    assert_true(st.bytes_h2d >= 12 * (uint64_t)n + slot_bytes); /* full upload */
    assert_int_equal(collect(&g, &st), 0); /* the promotion's cards */
    assert_int_equal(collect(&g, &st), 0); /* nothing changed: rc only */
    assert_true(st.bytes_h2d <= 4 * (uint64_t)n + 64);
    for (uint32_t k = 0; k < n / 100; k++)
        set(&g, rnd(n), rnd(2), rnd(n));
    assert_int_equal(collect(&g, &st), 0);
    uint64_t bound = 4 * (uint64_t)n + n / 8 + slot_bytes / 20;
    print_message("after 1%% changed: %llu bytes up, %llu down; bound %llu\n",
                  (unsigned long long)st.bytes_h2d, (unsigned long long)st.bytes_d2h,
                  (unsigned long long)bound);
    assert_true(st.bytes_h2d + st.bytes_d2h <= bound);
    assert_int_equal(st.fallback, 0);
    assert_int_equal(g.errors, 0);
    graph_close(&g);
}

/* Counts below the references from slots: the device reports
 * GPUGC_ECORRUPT as the serial reference does, and frees nothing. */
static void test_corrupt_counts(void **state) {
    (void)state;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, 3);
    graph_open(&gpu, 1, device, 1, 3);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        graph *x = both[g];
        make_objects(x, 1);
        set(x, 1, 0, 0);
        set(x, 2, 0, 0);
        /* object 0: one C reference and two from slots; drop two */
        gpugc_decref(x->h, x->obj[0]);
        gpugc_decref(x->h, x->obj[0]);
        assert_int_equal(gpugc_collect(x->h, 2), GPUGC_ECORRUPT);
        assert_int_equal(x->last_status, GPUGC_ECORRUPT);
        assert_int_equal(gpugc_object_count(x->h), 3);
        gpugc_incref(x->h, x->obj[0]);
        gpugc_incref(x->h, x->obj[0]);
        x->errors = 0;
    }
    collect_both(&cpu, &gpu);
    graph_close(&cpu);
    graph_close(&gpu);
}

/* A fault at every device request of a collection in turn: the k-th
 * allocation, copy, launch (and the program build) fails; the collection
 * finishes on the CPU with the same result, says so in its stats and
 * reports GPUGC_EDEVICE; the next collection runs on the device again.
 * Each site is swept until a collection makes fewer requests than k. */
static void test_fault_each_stage(void **state) {
    (void)state;
    static const gpugc_fault sites[] = {GPUGC_FAULT_DEVICE_INIT, GPUGC_FAULT_DEVICE_ALLOC,
                                        GPUGC_FAULT_DEVICE_COPY, GPUGC_FAULT_DEVICE_LAUNCH};
    uint32_t n = 2000;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 1, n);
    graph_open(&gpu, 1, device, 1, n);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        rng_state = 3;
        make_objects(both[g], 2);
        wire_random(both[g]);
    }
    /* Each site from scratch (fresh), then in the steady state, where the
     * sync sends dirty cards (staging copies, scatter launches). */
    for (size_t run = 0; run < 2 * sizeof sites / sizeof sites[0]; run++) {
        size_t s = run / 2;
        int fresh = run % 2 == 0, fired = 0;
        for (int64_t k = 0; k < 200; k++) {
            /* Fresh: drop the device state, so that the collection under
             * test starts from scratch (program build, buffers, full
             * upload).  Steady: make sure the device state is there. */
            gpugc_collection_stats a, b;
            if (fresh)
                assert_int_equal(gpugc_inject_fault(gpu.h, GPUGC_FAULT_DEVICE_COPY, 0), GPUGC_OK);
            assert_int_equal(collect(&cpu, &a), 0);
            assert_int_equal(collect(&gpu, &b), 0);
            assert_int_equal(b.fallback, fresh);
            assert_int_equal(b.backend, fresh ? GPUGC_BACKEND_CPU : device);
            /* some garbage for this round: a few small cycles */
            for (int g = 0; g < 2; g++) {
                graph *x = both[g];
                rng_state = s * 1000 + (uint64_t)k;
                for (int c = 0; c < 3; c++) {
                    void *a = extra(x, 1), *b = extra(x, 1);
                    assert_int_equal(gpugc_set_ref(x->h, a, 0, b), GPUGC_OK);
                    assert_int_equal(gpugc_set_ref(x->h, b, 0, a), GPUGC_OK);
                    gpugc_decref(x->h, a);
                    gpugc_decref(x->h, b);
                }
                for (int m = 0; m < 20; m++)
                    set(x, rnd(n), rnd(2), rnd(n));
            }
            gpu.errors = 0;
            assert_int_equal(gpugc_inject_fault(gpu.h, sites[s], k), GPUGC_OK);
            int64_t na = collect(&cpu, &a), nb = collect(&gpu, &b);
            gpugc_inject_fault(gpu.h, sites[s], -1);
            assert_int_equal(na, 6);
            assert_int_equal(nb, na);
            expect_same(&cpu, &gpu);
            if (!b.fallback)
                break; /* the collection made fewer than k + 1 requests */
            assert_int_equal(b.backend, GPUGC_BACKEND_CPU); /* whose marks were used */
            fired++;
            assert_true(gpu.errors >= 1);
            assert_int_equal(gpu.last_status, GPUGC_EDEVICE);
            assert_int_equal(gpugc_validate(gpu.h), GPUGC_OK);
        }
        print_message("site %d, %s: %d requests failed in turn\n", (int)sites[s],
                      fresh ? "fresh" : "steady", fired);
        /* the program is built once, so a steady state has no init */
        assert_true(fired >= 1 || (!fresh && sites[s] == GPUGC_FAULT_DEVICE_INIT));
        /* and the device works again */
        gpu.errors = 0;
        collect_both(&cpu, &gpu);
    }
    graph_close(&cpu);
    graph_close(&gpu);
}

/* A device whose search never ends (every level reads as one more member,
 * as a kernel bug could make it): the bound on the search stops it, the
 * collection finishes on the CPU reference with the same result, says so,
 * and the next one runs on the device again.  Handoff off: a narrow
 * search would otherwise be finished on the CPU before the bound. */
static void test_runaway_search_falls_back(void **state) {
    (void)state;
    uint32_t n = 3000;
    graph cpu, gpu;
    graph_open(&cpu, 0, GPUGC_BACKEND_CPU, 0, n);
    graph_open(&gpu, 1, device, 0, n);
    graph *both[2] = {&cpu, &gpu};
    for (int g = 0; g < 2; g++) {
        rng_state = 5;
        make_objects(both[g], 2);
        wire_random(both[g]);
        for (uint32_t i = 0; i < n; i += 3)
            drop(both[g], i);
    }
    assert_int_equal(gpugc_inject_fault(gpu.h, GPUGC_FAULT_DEVICE_RUNAWAY, 0), GPUGC_OK);
    gpugc_collection_stats a, b;
    int64_t na = collect(&cpu, &a), nb = collect(&gpu, &b);
    assert_int_equal(nb, na);
    expect_same(&cpu, &gpu);
    assert_int_equal(b.fallback, 1);
    assert_int_equal(b.backend, GPUGC_BACKEND_CPU);
    assert_int_equal(gpu.errors, 2); /* the fault found, then the fallback */
    assert_int_equal(gpu.last_status, GPUGC_EDEVICE);
    gpu.errors = 0;
    collect_both(&cpu, &gpu);
    graph_close(&cpu);
    graph_close(&gpu);
}

/* No driver, ICD or device: the backend says so, choosing it explicitly fails
 * heap creation with GPUGC_ENODEV, and AUTO collects on the CPU. */
static void test_no_device(void **state) {
    (void)state;
    unsetenv("GPUGC_BACKEND");
    char why[200];
    assert_int_equal(gpugc_backend_available(device, why, sizeof why), GPUGC_ENODEV);
    print_message("%s: %s\n", device_name, why);
    assert_true(strlen(why) > 0);
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = device;
    gpugc_set_error_handler(NULL, count_error, &(graph){0});
    assert_null(gpugc_heap_new(&cfg));
    assert_int_equal(gpugc_last_error(NULL), GPUGC_ENODEV);
    gpugc_set_error_handler(NULL, NULL, NULL);
    /* as large a set as AUTO gives a GPU backend (1M objects) */
    uint32_t n = 1u << 20;
    graph g;
    graph_open(&g, 0, GPUGC_BACKEND_AUTO, 1, n);
    make_objects(&g, 1);
    wire_ring(&g);
    for (uint32_t i = 0; i < g.n; i++)
        drop(&g, i);
    gpugc_collection_stats st;
    assert_int_equal(collect(&g, &st), n);
    assert_int_not_equal(st.backend, device);
    assert_int_equal(st.fallback, 0);
    assert_int_equal(g.errors, 0);
    graph_close(&g);
}

int main(void) {
    const char *name = getenv("GPUGC_TEST_DEVICE");
    if (name && *name &&
        (gpugc_backend_parse(name, &device) != GPUGC_OK || device < GPUGC_BACKEND_OPENCL)) {
        fprintf(stderr, "GPUGC_TEST_DEVICE=%s: expected opencl or cuda\n", name);
        return 1;
    }
    device_name = gpugc_backend_name(device);
    char why[200];
    int none = gpugc_backend_available(device, why, sizeof why) != GPUGC_OK;
    if (getenv("GPUGC_TEST_EXPECT_NO_DEVICE") || (none && !getenv("GPUGC_TEST_REQUIRE_DEVICE"))) {
        if (none)
            printf("%s: %s; checking what a machine without one gets\n", device_name, why);
        const struct CMUnitTest without[] = {cmocka_unit_test(test_no_device)};
        return cmocka_run_group_tests(without, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_choice),
        cmocka_unit_test(test_random_graph_handoff_on),
        cmocka_unit_test(test_random_graph_handoff_off),
        cmocka_unit_test(test_ring_handoff_on),
        cmocka_unit_test(test_ring_handoff_off),
        cmocka_unit_test(test_broom_handoff_on),
        cmocka_unit_test(test_broom_handoff_off),
        cmocka_unit_test(test_transfer_bound),
        cmocka_unit_test(test_whole_upload),
        cmocka_unit_test(test_corrupt_counts),
        cmocka_unit_test(test_fault_each_stage),
        cmocka_unit_test(test_runaway_search_falls_back),
    };
    return cmocka_run_group_tests(tests, need_device, NULL);
}

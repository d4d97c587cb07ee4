/* test_parallel.c - the cpu-parallel backend against the serial reference
 * on large graphs.
 *
 * The differential suite's graphs are small; these reach what only large
 * sets reach: dense levels through the per-block bins, lists of many
 * pieces, bins over many blocks, narrow frontiers run on one member, big
 * objects shared out, corrupt counts found by several members at once, and
 * the choice of how many members a collection wakes.  Each case builds the
 * same heap (same seed, so the same ids) once on the serial backend and
 * once per team on cpu-parallel, collects the same generations in the same
 * order, and compares what each collection returned, its figures and
 * exactly which objects were freed.
 *
 * Shapes: a random graph with garbage and NULL slots, a long chain next to
 * a garbage ring, a wide fan-out, many parallel chains, young objects
 * referenced from old ones (collections of generations 0, 1 and 2), and a
 * heap whose counts are corrupt.  GPUGC_TEST_SEED overrides the seed.
 *
 * Also: bad thread settings are errors at gpugc_heap_new, and a collection
 * whose scratch memory cannot be had falls back to the serial reference
 * with the same result.  GPUGC_TEST_SCALE divides the graphs' sizes
 * (sanitized builds run them smaller).
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

#define MAX_COLLECTIONS 4

static uint32_t scale = 1; /* GPUGC_TEST_SCALE */
#define DEFAULT_SEED 0x70617261ull /* "para" */

/* Teams to check, and their GPUGC_OBJECTS_PER_THREAD: "0" runs every
 * collection on the whole team; NULL leaves the default, by which these
 * sets get none (the serial reference), one or two members. */
static const struct {
    const char *threads, *per_thread;
} teams[] = {{"1", "0"}, {"2", "0"}, {"8", "0"}, {"2", NULL}};

/* ---- a seeded generator (splitmix64): the same graph on every heap ------- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n) {
    return (uint32_t)(((rng_next() >> 32) * n) >> 32);
}

static uint64_t base_seed(void) {
    const char *s = getenv("GPUGC_TEST_SEED");
    return s && *s ? strtoull(s, NULL, 0) : DEFAULT_SEED;
}

/* ---- one heap, and what its collections did ----------------------------- */

/* Every object's payload is its index in the build; destroy records it. */
static uint8_t *freed;    /* by index: destroyed by the heap being checked */
static uint32_t capacity; /* indices the current build may use             */

static void record_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    if (!freed)
        return; /* gpugc_heap_free releasing what is left */
    uint32_t tag;
    memcpy(&tag, obj, sizeof tag);
    assert_true(tag < capacity);
    freed[tag]++;
}

/* The corrupt case's errors are expected: kept quiet, read back after. */
static void quiet(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)status;
    (void)message;
    (void)data;
}

typedef struct build {
    gpugc_heap *h;
    gpugc_type type;
    void **obj;     /* by index                                          */
    uint32_t n;     /* objects made so far                               */
} build;

static void *make(build *b, uint32_t nrefs) {
    assert_true(b->n < capacity);
    void *o = gpugc_new(b->h, b->type, nrefs, sizeof(uint32_t));
    assert_non_null(o);
    memcpy(o, &b->n, sizeof b->n);
    b->obj[b->n++] = o;
    return o;
}

static void set_slot(build *b, uint32_t from, uint32_t slot, uint32_t to) {
    assert_int_equal(gpugc_set_ref(b->h, b->obj[from], slot, b->obj[to]), GPUGC_OK);
}

/* Objects first..n-1 lose their creation reference, except every
 * `keep`-th, which stays held from C (keep 0: none). */
static void drop_from(build *b, uint32_t first, uint32_t keep) {
    for (uint32_t i = first; i < b->n; i++)
        if (keep == 0 || i % keep != 0)
            gpugc_decref(b->h, b->obj[i]);
}

/* A shape builds its graph into b and lists the generations to collect,
 * in order, between which it may add more (young objects). */
typedef struct shape {
    const char *name;
    uint32_t capacity;
    /* Builds step `step` (0..); returns the generation to collect then, or
     * -1 when the shape is done. */
    int (*step)(build *b, int step);
} shape;

/* What one collection did. */
typedef struct outcome {
    int64_t result;
    uint64_t objects, edges, unreachable, collected;
    char message[256];
} outcome;

typedef struct run {
    outcome c[MAX_COLLECTIONS];
    int ncollections;
    uint8_t *freed; /* by index, after the last collection */
} run;

static void run_shape(const shape *sh, const char *backend, const char *threads,
                      const char *per_thread, run *out) {
    setenv("GPUGC_BACKEND", backend, 1);
    setenv("GPUGC_THREADS", threads, 1);
    if (per_thread)
        setenv("GPUGC_OBJECTS_PER_THREAD", per_thread, 1);
    else
        unsetenv("GPUGC_OBJECTS_PER_THREAD");
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 0;
    build b = {.h = gpugc_heap_new(&cfg)};
    assert_non_null(b.h);
    gpugc_set_error_handler(b.h, quiet, NULL);
    gpugc_type_desc desc = {"tagged", NULL, record_destroy};
    b.type = gpugc_type_register(b.h, &desc);
    capacity = sh->capacity;
    b.obj = calloc(capacity, sizeof *b.obj);
    freed = out->freed = calloc(capacity, 1);
    assert_true(b.obj && freed);
    rng_state = base_seed();
    out->ncollections = 0;
    for (int step = 0;; step++) {
        int g = sh->step(&b, step);
        if (g < 0)
            break;
        assert_true(out->ncollections < MAX_COLLECTIONS);
        outcome *o = &out->c[out->ncollections++];
        *o = (outcome){0};
        gpugc_clear_error(b.h);
        o->result = gpugc_collect(b.h, g);
        snprintf(o->message, sizeof o->message, "%s", gpugc_last_error_message(b.h));
        gpugc_collection_stats st;
        if (o->result >= 0) {
            assert_int_equal(gpugc_last_collection(b.h, &st, sizeof st), GPUGC_OK);
            assert_int_equal(st.backend, strcmp(backend, "cpu") == 0 ? GPUGC_BACKEND_CPU
                                                                      : GPUGC_BACKEND_CPU_PARALLEL);
            assert_int_equal(st.fallback, 0);
            o->objects = st.objects;
            o->edges = st.edges;
            o->unreachable = st.unreachable;
            o->collected = st.collected;
        }
    }
    free(b.obj);
    freed = NULL;
    capacity = 0;
    gpugc_heap_free(b.h);
    unsetenv("GPUGC_BACKEND");
    unsetenv("GPUGC_THREADS");
    unsetenv("GPUGC_OBJECTS_PER_THREAD");
}

/* Builds the shape on the serial reference and on cpu-parallel with each
 * team, and compares. */
static void check_shape(const shape *sh) {
    run ref, par;
    run_shape(sh, "cpu", "1", NULL, &ref);
    for (size_t t = 0; t < sizeof teams / sizeof teams[0]; t++) {
        run_shape(sh, "cpu-parallel", teams[t].threads, teams[t].per_thread, &par);
        assert_int_equal(par.ncollections, ref.ncollections);
        for (int c = 0; c < ref.ncollections; c++) {
            const outcome *r = &ref.c[c], *p = &par.c[c];
            if (p->result != r->result)
                fail_msg("%s, %s threads, collection %d: returned %lld, the reference %lld (%s)",
                         sh->name, teams[t].threads, c, (long long)p->result, (long long)r->result,
                         p->message);
            assert_string_equal(p->message, r->message);
            assert_int_equal(p->objects, r->objects);
            assert_int_equal(p->edges, r->edges);
            assert_int_equal(p->unreachable, r->unreachable);
            assert_int_equal(p->collected, r->collected);
        }
        for (uint32_t i = 0; i < sh->capacity; i++)
            if (par.freed[i] != ref.freed[i])
                fail_msg("%s, %s threads: object %u freed %d times, by the reference %d",
                         sh->name, teams[t].threads, i, par.freed[i], ref.freed[i]);
        free(par.freed);
    }
    free(ref.freed);
}

/* ---- shapes ------------------------------------------------------------- */

#define RANDOM_N (300000 / scale)

/* As many objects as the shape has room for, 0..4 slots each (no slot:
 * untracked), a tenth of them NULL, targets uniform; one object in 200
 * held from C, so part of the graph is unreachable garbage. */
static int random_step(build *b, int step) {
    if (step > 0)
        return -1;
    uint32_t n = capacity;
    uint8_t *deg = malloc(n);
    assert_non_null(deg);
    for (uint32_t i = 0; i < n; i++)
        make(b, deg[i] = (uint8_t)rng_below(5));
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t s = 0; s < deg[i]; s++)
            if (rng_below(10) != 0)
                set_slot(b, i, s, rng_below(n));
    free(deg);
    drop_from(b, 0, 200);
    return 2;
}

#define CHAIN_N (200000 / scale)
#define RING_N (50000 / scale)

/* A chain held at its head, each link also pointing back to the head; and
 * a ring nothing holds. */
static int chain_step(build *b, int step) {
    if (step > 0)
        return -1;
    for (uint32_t i = 0; i < CHAIN_N + RING_N; i++)
        make(b, 2);
    for (uint32_t i = 0; i + 1 < CHAIN_N; i++) {
        set_slot(b, i, 0, i + 1);
        set_slot(b, i + 1, 1, 0);
    }
    for (uint32_t i = 0; i < RING_N; i++)
        set_slot(b, CHAIN_N + i, 0, CHAIN_N + (i + 1) % RING_N);
    drop_from(b, 1, 0);
    return 2;
}

#define FAN_CHILDREN (20000 / scale)
#define FAN_LEAVES 10

/* One root with FAN_CHILDREN slots, each child with FAN_LEAVES leaves; a
 * tenth of the children are also in a garbage cycle of their own. */
static int fan_step(build *b, int step) {
    if (step > 0)
        return -1;
    make(b, FAN_CHILDREN);
    for (uint32_t c = 0; c < FAN_CHILDREN; c++) {
        uint32_t child = b->n;
        make(b, FAN_LEAVES + 1);
        for (uint32_t l = 0; l < FAN_LEAVES; l++) {
            make(b, 1);
            set_slot(b, child, l, b->n - 1);
            set_slot(b, b->n - 1, 0, child);
        }
        if (c % 10 != 0)
            set_slot(b, 0, c, child);
    }
    drop_from(b, 1, 0);
    return 2;
}

#define CHAINS (1000 / scale)
#define CHAIN_LEN 150

/* Many chains, every third held at its head: frontiers of a few hundred
 * ids for a hundred and fifty levels. */
static int chains_step(build *b, int step) {
    if (step > 0)
        return -1;
    for (uint32_t c = 0; c < CHAINS; c++) {
        uint32_t head = b->n;
        for (uint32_t i = 0; i < CHAIN_LEN; i++) {
            make(b, 1);
            if (i > 0)
                set_slot(b, b->n - 2, 0, b->n - 1);
        }
        set_slot(b, b->n - 1, 0, head); /* each chain is a ring */
    }
    drop_from(b, 0, 3 * CHAIN_LEN);
    return 2;
}

#define OLD_N (150000 / scale)
#define YOUNG_N (150000 / scale)

/* Old objects (survivors of a full collection), then young ones that old
 * ones reference and that reference old ones; generation 0, 1 and 2 are
 * collected in turn, with more young garbage in between. */
static int generations_step(build *b, int step) {
    switch (step) {
    case 0:
        for (uint32_t i = 0; i < OLD_N; i++)
            make(b, 3);
        for (uint32_t i = 0; i < OLD_N; i++)
            for (uint32_t s = 0; s < 3; s++)
                set_slot(b, i, s, rng_below(OLD_N));
        drop_from(b, 0, 100);
        return 2;
    case 1:
    case 2: {
        uint32_t first = b->n, n = YOUNG_N / 2;
        for (uint32_t i = 0; i < n; i++)
            make(b, 3);
        for (uint32_t i = first; i < b->n; i++) {
            set_slot(b, i, 0, first + rng_below(n));
            set_slot(b, i, 1, first + rng_below(n));
            set_slot(b, i, 2, rng_below(OLD_N)); /* young -> old */
        }
        /* A few old objects held from C take young ones in. */
        for (uint32_t k = 0; k < 300; k++)
            set_slot(b, 100 * rng_below(OLD_N / 100), 0, first + rng_below(n));
        drop_from(b, first, 0);
        return step - 1;
    }
    case 3:
        return 2;
    default:
        return -1;
    }
}

/* The random graph with one count dropped below its slot references:
 * every backend must refuse to collect, naming the same object. */
static int corrupt_step(build *b, int step) {
    if (step > 1)
        return -1;
    if (step == 1)
        return 2;
    random_step(b, 0);
    for (uint32_t i = 0;; i++) {
        assert_true(i < b->n);
        /* Not held from C, and referenced from two slots: one count
         * dropped leaves it alive, with fewer counts than references. */
        if (i % 200 != 0 && gpugc_refcount(b->h, b->obj[i]) == 2) {
            gpugc_decref(b->h, b->obj[i]);
            break;
        }
    }
    return 2;
}

static void test_random(void **state) { (void)state; check_shape(&(shape){"random", RANDOM_N, random_step}); }
static void test_chain(void **state) { (void)state; check_shape(&(shape){"chain", CHAIN_N + RING_N, chain_step}); }
static void test_fan(void **state) { (void)state; check_shape(&(shape){"fan", 1 + FAN_CHILDREN * (1 + FAN_LEAVES), fan_step}); }
static void test_chains(void **state) { (void)state; check_shape(&(shape){"chains", CHAINS * CHAIN_LEN, chains_step}); }
static void test_generations(void **state) { (void)state; check_shape(&(shape){"generations", OLD_N + YOUNG_N, generations_step}); }
static void test_corrupt(void **state) { (void)state; check_shape(&(shape){"corrupt", RANDOM_N, corrupt_step}); }

/* ---- settings and failures --------------------------------------------- */

/* gpugc_heap_new with GPUGC_BACKEND=cpu-parallel, `name` set to `value`. */
static gpugc_heap *heap_with(const char *name, const char *value, const gpugc_config *cfg) {
    setenv("GPUGC_BACKEND", "cpu-parallel", 1);
    setenv(name, value, 1);
    gpugc_heap *h = gpugc_heap_new(cfg);
    unsetenv(name);
    unsetenv("GPUGC_BACKEND");
    return h;
}

static void test_settings(void **state) {
    (void)state;
    gpugc_set_error_handler(NULL, quiet, NULL);
    static const char *const bad[] = {"x", "-1", "2k", "1025", " 2", "99999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_null(heap_with("GPUGC_THREADS", bad[k], NULL));
        assert_non_null(strstr(gpugc_last_error_message(NULL), "GPUGC_THREADS"));
    }
    assert_null(heap_with("GPUGC_OBJECTS_PER_THREAD", "many", NULL));
    assert_non_null(strstr(gpugc_last_error_message(NULL), "GPUGC_OBJECTS_PER_THREAD"));
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threads = 5000;
    assert_null(heap_with("GPUGC_THREADS", "", &cfg));
    assert_non_null(strstr(gpugc_last_error_message(NULL), "threads"));
    /* Good ones: 0 is one thread per core; the environment overrides the
     * configuration. */
    gpugc_heap *h = heap_with("GPUGC_THREADS", "0", &cfg);
    assert_non_null(h);
    gpugc_heap_free(h);
    cfg.threads = 3;
    h = heap_with("GPUGC_THREADS", "", &cfg);
    assert_non_null(h);
    gpugc_heap_free(h);
    gpugc_set_error_handler(NULL, NULL, NULL);
}

enum { FAULT_N = 20000 };

/* A random graph on a fresh two-member heap, collected with the
 * (countdown+1)-th allocation failing: either the collection fails and
 * changes nothing, or it succeeds (after the backend's failure, on the
 * serial reference) and finds what the reference finds. */
static void test_alloc_failure(void **state) {
    (void)state;
    run ref;
    shape sh = {"random", FAULT_N, random_step};
    run_shape(&sh, "cpu", "1", NULL, &ref);
    free(ref.freed);
    int fell_back = 0;
    for (int64_t countdown = 0; countdown < 8; countdown++) {
        setenv("GPUGC_BACKEND", "cpu-parallel", 1);
        setenv("GPUGC_THREADS", "2", 1);
        setenv("GPUGC_OBJECTS_PER_THREAD", "0", 1);
        gpugc_config cfg;
        gpugc_config_init(&cfg);
        cfg.threshold[0] = 0;
        build b = {.h = gpugc_heap_new(&cfg)};
        unsetenv("GPUGC_BACKEND");
        unsetenv("GPUGC_THREADS");
        unsetenv("GPUGC_OBJECTS_PER_THREAD");
        assert_non_null(b.h);
        gpugc_set_error_handler(b.h, quiet, NULL);
        gpugc_type_desc desc = {"tagged", NULL, record_destroy};
        b.type = gpugc_type_register(b.h, &desc);
        capacity = FAULT_N;
        b.obj = calloc(capacity, sizeof *b.obj);
        freed = calloc(capacity, 1);
        assert_true(b.obj && freed);
        rng_state = base_seed();
        random_step(&b, 0);
        size_t before = gpugc_object_count(b.h);
        assert_int_equal(gpugc_inject_fault(b.h, GPUGC_FAULT_ALLOC, countdown), GPUGC_OK);
        int64_t r = gpugc_collect(b.h, 2);
        gpugc_inject_fault(b.h, GPUGC_FAULT_ALLOC, -1);
        if (r < 0) {
            assert_int_equal(r, GPUGC_ENOMEM);
            assert_int_equal(gpugc_object_count(b.h), before);
        } else {
            gpugc_collection_stats st;
            assert_int_equal(gpugc_last_collection(b.h, &st, sizeof st), GPUGC_OK);
            assert_int_equal(r, ref.c[0].result);
            fell_back += st.fallback;
        }
        free(b.obj);
        free(freed);
        freed = NULL;
        capacity = 0;
        gpugc_heap_free(b.h);
    }
    /* Some countdown hit the backend's own scratch. */
    assert_true(fell_back > 0);
}

int main(void) {
    const char *s = getenv("GPUGC_TEST_SCALE");
    if (s && atoi(s) > 0)
        scale = (uint32_t)atoi(s);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_fan),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_generations),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

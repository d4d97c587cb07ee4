/* test_background.c - background collections (gpugc_collect_start, _ready,
 * _finish, cfg.concurrent): the mark runs on the snapshot taken at the
 * start while the program goes on, the finish frees exactly what was
 * garbage then, and nothing alive at the finish is ever freed.
 *
 * Every object carries its tag in its payload, and a destroy callback
 * records which tags died and when (before the finish: by count while the
 * mark ran; at the finish: the sweep and its cascade).  The random cases
 * keep their own copy of the graph and of the references C holds, so what
 * must survive is computed here, independently of the library.  The suite
 * runs again on every backend (GPUGC_BACKEND, as the other suites do). */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

#define MAX_OBJS 600
#define MAX_SLOTS 4

static int died_at[MAX_OBJS]; /* 0 alive; 1 died before the finish; 2 in it */
static int phase;             /* 1 while a collection is pending, 2 after   */
static int reports, last_status;

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    uint32_t tag = *(const uint32_t *)obj;
    assert_true(tag < MAX_OBJS);
    assert_int_equal(died_at[tag], 0);
    died_at[tag] = phase;
}

static void on_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)message;
    (void)data;
    reports++;
    last_status = status;
}

static gpugc_type tagged;

static gpugc_heap *heap_for(int concurrent, uint32_t threshold0) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = threshold0;
    cfg.concurrent = concurrent;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    gpugc_set_error_handler(h, on_error, NULL);
    gpugc_type_desc d = {.name = "tagged", .destroy = on_destroy};
    tagged = gpugc_type_register(h, &d);
    memset(died_at, 0, sizeof died_at);
    phase = 1;
    reports = 0;
    return h;
}

static void *obj(gpugc_heap *h, uint32_t tag, uint32_t nrefs) {
    uint32_t *o = gpugc_new(h, tagged, nrefs, sizeof(uint32_t));
    assert_non_null(o);
    *o = tag;
    return o;
}

/* Two objects referencing each other, dropped by C: garbage. */
static void cycle(gpugc_heap *h, uint32_t tag) {
    void *a = obj(h, tag, 1), *b = obj(h, tag + 1, 1);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
}

static void wait_ready(gpugc_heap *h) {
    int r;
    while ((r = gpugc_collect_ready(h)) == 0)
        sched_yield();
    assert_int_equal(r, 1);
}

static int64_t finish(gpugc_heap *h) {
    phase = 2;
    int64_t found = gpugc_collect_finish(h);
    phase = 1;
    return found;
}

static void test_start_ready_finish(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    assert_true(gpugc_collect_ready(h) < 0);
    assert_int_equal(gpugc_collect_finish(h), GPUGC_EINVAL);
    assert_int_equal(reports, 1);
    void *keep = obj(h, 0, 2);
    for (uint32_t t = 10; t < 30; t += 2)
        cycle(h, t);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_EBUSY);
    assert_int_equal(gpugc_collect_start(h, 7), GPUGC_EINVAL);
    wait_ready(h);
    assert_int_equal(finish(h), 20);
    for (uint32_t t = 10; t < 30; t++)
        assert_int_equal(died_at[t], 2);
    assert_int_equal(died_at[0], 0);
    assert_int_equal(gpugc_object_count(h), 1);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.background, 1);
    assert_int_equal(st.unreachable, 20);
    assert_int_equal(st.collected, 20);
    assert_true(st.snapshot_bytes > 0);
    assert_true(gpugc_collect_ready(h) < 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    /* A young one, then one again: the snapshot is brought up to date. */
    cycle(h, 40);
    assert_int_equal(gpugc_collect_start(h, 0), GPUGC_OK);
    assert_int_equal(finish(h), 2);
    assert_int_equal(gpugc_set_ref(h, keep, 0, NULL), GPUGC_OK);
    cycle(h, 50);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    assert_int_equal(finish(h), 2);
    assert_int_equal(died_at[50] + died_at[51], 4);
    gpugc_decref(h, keep);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
}

/* The program allocates, links, resizes and frees while the mark runs; the
 * finish frees the garbage of the start and nothing else. */
static void test_program_goes_on(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    void *root = obj(h, 0, 4), *x = obj(h, 1, 1);
    assert_int_equal(gpugc_set_ref(h, root, 0, x), GPUGC_OK);
    gpugc_decref(h, x);
    for (uint32_t t = 10; t < 20; t += 2)
        cycle(h, t);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    /* New garbage, new live objects, a death by count, a resize. */
    cycle(h, 100);
    void *y = obj(h, 2, 2);
    assert_int_equal(gpugc_set_ref(h, root, 1, y), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, y, 0, root), GPUGC_OK);
    gpugc_decref(h, y);
    assert_int_equal(gpugc_set_ref(h, root, 0, NULL), GPUGC_OK); /* x dies now */
    assert_int_equal(died_at[1], 1);
    assert_int_equal(gpugc_resize_refs(h, root, 9), GPUGC_OK);
    for (uint32_t t = 200; t < 260; t++)
        gpugc_decref(h, obj(h, t, t % 3));
    assert_int_equal(finish(h), 10);
    for (uint32_t t = 10; t < 20; t++)
        assert_int_equal(died_at[t], 2);
    assert_int_equal(died_at[100] + died_at[101] + died_at[2] + died_at[0], 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    /* What became garbage meanwhile is the next collection's. */
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(died_at[100] + died_at[101], 2);
    gpugc_decref(h, root);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(gpugc_object_count(h), 0);
    gpugc_heap_free(h);
}

/* gpugc_weakref_get hands garbage back: it survives with all it reaches.
 * Garbage revived and then freed by count leaves an id that must not be
 * reused before the sweep. */
static void test_weakref_revives(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    void *a = obj(h, 10, 1), *b = obj(h, 11, 1), *c = obj(h, 12, 1);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, c, 0, c), GPUGC_OK);
    gpugc_weakref *wa = gpugc_weakref_new(h, a, NULL, NULL);
    gpugc_weakref *wc = gpugc_weakref_new(h, c, NULL, NULL);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    gpugc_decref(h, c);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    void *ra = gpugc_weakref_get(h, wa), *rc = gpugc_weakref_get(h, wc);
    assert_ptr_equal(ra, a);
    assert_ptr_equal(rc, c);
    /* c: its cycle broken and its count dropped, it dies by count now. */
    assert_int_equal(gpugc_set_ref(h, c, 0, NULL), GPUGC_OK);
    gpugc_decref(h, c);
    assert_int_equal(died_at[12], 1);
    /* New objects: none may take c's id before the sweep. */
    void *fresh[50];
    for (uint32_t k = 0; k < 50; k++)
        fresh[k] = obj(h, 300 + k, 1);
    /* a and b were reached again: nothing of the sweep touches them, not
     * even a's weak reference. */
    assert_int_equal(finish(h), 0);
    assert_int_equal(died_at[10] + died_at[11], 0);
    assert_ptr_equal(gpugc_weakref_get(h, wa), a);
    gpugc_decref(h, a);
    for (uint32_t k = 0; k < 50; k++) {
        assert_int_equal(died_at[300 + k], 0);
        assert_int_equal(gpugc_refcount(h, fresh[k]), 1);
        gpugc_decref(h, fresh[k]);
    }
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_decref(h, ra);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(died_at[10] + died_at[11], 2);
    assert_null(gpugc_weakref_get(h, wa));
    gpugc_weakref_free(h, wa);
    gpugc_weakref_free(h, wc);
    gpugc_heap_free(h);
}

static int count_visit(gpugc_heap *h, void *o, void *data) {
    (void)h;
    (void)o;
    ++*(int *)data;
    return 0;
}

/* Calls that need a settled heap finish the pending collection first. */
static void test_settling_calls_finish_first(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    void *keep = obj(h, 0, 1);
    cycle(h, 10);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    int seen = 0;
    assert_int_equal(gpugc_get_objects(h, -1, count_visit, &seen), GPUGC_OK);
    assert_int_equal(seen, 1); /* the garbage was swept first */
    assert_true(gpugc_collect_ready(h) < 0);
    assert_true(died_at[10] && died_at[11]);
    cycle(h, 20);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    phase = 2;
    assert_int_equal(gpugc_collect(h, 0), 0); /* the background one found it */
    phase = 1;
    assert_int_equal(died_at[20] + died_at[21], 4);
    cycle(h, 30);
    assert_int_equal(gpugc_collect_start(h, 1), GPUGC_OK);
    phase = 2;
    gpugc_freeze(h);
    phase = 1;
    assert_int_equal(died_at[30] + died_at[31], 4);
    assert_int_equal(gpugc_get_freeze_count(h), 1);
    gpugc_unfreeze(h);
    gpugc_decref(h, keep);
    assert_int_equal(gpugc_object_count(h), 0);
    gpugc_heap_free(h);
}

static void test_heap_free_while_pending(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    void *keep = obj(h, 0, 1);
    (void)keep;
    for (uint32_t t = 10; t < 200; t += 2)
        cycle(h, t);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    gpugc_heap_free(h); /* waits, then releases everything */
}

/* cfg.concurrent: automatic collections start in the background and are
 * finished by later allocations. */
static void test_concurrent_automatic(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(1, 50);
    for (uint32_t k = 0; k < 3000; k++)
        garbage_cycle(h, GPUGC_TYPE_OBJECT);
    /* A slow device may still be marking the first: the next allocation
     * after its mark finishes it. */
    if (gpugc_collect_ready(h) >= 0) {
        wait_ready(h);
        gpugc_decref(h, gpugc_new(h, GPUGC_TYPE_OBJECT, 0, 8));
    }
    gpugc_gen_stats gs;
    assert_int_equal(gpugc_get_stats(h, 0, &gs, sizeof gs), GPUGC_OK);
    assert_true(gs.collections > 0);
    assert_true(gs.collected > 0);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.background, 1);
    gpugc_collect(h, 2);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(reports, 0);
    gpugc_heap_free(h);
}

/* A mark that fails in the background: the serial reference marks the same
 * snapshot (or, on the serial reference itself, nothing is freed), and the
 * error reaches the handler on the program's thread, at the finish. */
static void test_mark_failure(void **state) {
    (void)state;
    gpugc_heap *h = heap_for(0, 0);
    for (uint32_t t = 10; t < 30; t += 2)
        cycle(h, t);
    assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_MARK, 0), GPUGC_OK);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    cycle(h, 100);
    wait_ready(h);
    assert_int_equal(reports, 0);
    int64_t found = finish(h);
    assert_true(reports >= 1);
    gpugc_backend b = gpugc_heap_backend(h);
    if (b == GPUGC_BACKEND_CPU || b == GPUGC_BACKEND_AUTO) { /* AUTO: the reference, at this size */
        assert_int_equal(found, GPUGC_EFAULT);
        assert_int_equal(died_at[10], 0);
        assert_int_equal(gpugc_collect(h, 2), 22);
    } else {
        assert_int_equal(last_status, GPUGC_EDEVICE);
        assert_int_equal(found, 20);
        gpugc_collection_stats st;
        assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
        assert_int_equal(st.fallback, 1);
        assert_int_equal(st.backend, GPUGC_BACKEND_CPU);
        assert_int_equal(gpugc_collect(h, 2), 2);
    }
    assert_int_equal(gpugc_object_count(h), 0);
    gpugc_heap_free(h);
}

/* A heap of RINGS rings of RING objects, every other ring held from C by
 * one object.  With four threads allowed, its starts copy the snapshot in
 * four shares, two of them on helper threads: the first start copies the
 * whole heap, the second what the cards name after every held ring was cut
 * in two rings (the one the held object is not on becomes garbage).  The
 * counts expected are the rings', computed here. */
#define RING 1000u
#define RINGS 1100u
static void test_start_in_shares(void **state) {
    (void)state;
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 0;
    cfg.threads = 4;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    /* each ring's first, middle, next and last objects */
    void **first = calloc(4 * RINGS, sizeof *first), **mid = first + RINGS, **next = mid + RINGS,
         **last = next + RINGS;
    assert_non_null(first);
    for (uint32_t r = 0; r < RINGS; r++) {
        void *prev = first[r] = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
        assert_non_null(prev);
        for (uint32_t k = 1; k < RING; k++) {
            void *o = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
            assert_non_null(o);
            assert_int_equal(gpugc_set_ref(h, prev, 0, o), GPUGC_OK);
            gpugc_decref(h, o);
            mid[r] = k == RING / 2 ? o : mid[r];
            next[r] = k == RING / 2 + 1 ? o : next[r];
            prev = last[r] = o;
        }
        assert_int_equal(gpugc_set_ref(h, prev, 0, first[r]), GPUGC_OK);
        if (r % 2)
            gpugc_decref(h, first[r]);
    }
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    wait_ready(h);
    assert_int_equal(gpugc_collect_finish(h), (int64_t)(RINGS / 2) * RING);
    /* first .. mid and next .. last, two rings now */
    for (uint32_t r = 0; r < RINGS; r += 2) {
        assert_int_equal(gpugc_set_ref(h, last[r], 0, next[r]), GPUGC_OK);
        assert_int_equal(gpugc_set_ref(h, mid[r], 0, first[r]), GPUGC_OK);
    }
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    wait_ready(h);
    assert_int_equal(gpugc_collect_finish(h), (int64_t)(RINGS / 2) * (RING - RING / 2 - 1));
    assert_int_equal(gpugc_object_count(h), (uint64_t)(RINGS / 2) * (RING / 2 + 1));
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    for (uint32_t r = 0; r < RINGS; r += 2)
        gpugc_decref(h, first[r]);
    assert_int_equal(gpugc_collect(h, 2), (int64_t)(RINGS / 2) * (RING / 2 + 1));
    free(first);
    gpugc_heap_free(h);
}

/* The counts are copied after the start, beside the program: the counts
 * it changes first are logged as they were.  Pairs a <-> b, each a held
 * from C; right after the start C drops every a, from the last pair down,
 * while the copy goes up from the first id: counts the copy reads after
 * they changed.  Read as they are then, a's count would be b's reference
 * alone, and both would be called garbage (and, garbage at the finish,
 * freed by this collection, not the next).  `fault`: the log's first
 * chunk finds no memory, and the program waits for the copy instead. */
#define PAIRS 300000u
#define CARD_SLOTS 8 /* slots of a card (src/mark/layout.h) */

/* A heap of PAIRS pairs a <-> b of `nslots` slots each (slot 0 holding
 * the other), each a held from C in held[]; no automatic collection. */
static gpugc_heap *pairs_heap(void **held, uint32_t nslots) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.threshold[0] = 0;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    for (uint32_t p = 0; p < PAIRS; p++) {
        void *a = held[p] = gpugc_new(h, GPUGC_TYPE_OBJECT, nslots, 8),
             *b = gpugc_new(h, GPUGC_TYPE_OBJECT, nslots, 8);
        assert_true(a && b);
        assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
        assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
        gpugc_decref(h, b);
    }
    return h;
}

static void counts_kept_at_start(bool fault) {
    void **held = calloc(PAIRS, sizeof *held);
    assert_non_null(held);
    gpugc_heap *h = pairs_heap(held, 1);
    assert_int_equal(gpugc_collect(h, 2), 0);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    if (fault)
        assert_int_equal(gpugc_inject_fault(h, GPUGC_FAULT_ALLOC, 0), GPUGC_OK);
    for (uint32_t p = PAIRS; p-- > 0;)
        gpugc_decref(h, held[p]);
    wait_ready(h);
    assert_int_equal(gpugc_collect_finish(h), 0);
    assert_int_equal(gpugc_object_count(h), 2 * (uint64_t)PAIRS);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), 2 * (int64_t)PAIRS);
    free(held);
    gpugc_heap_free(h);
}

static void test_counts_kept_at_start(void **state) {
    (void)state;
    counts_kept_at_start(false);
}

static void test_counts_kept_without_memory(void **state) {
    (void)state;
    counts_kept_at_start(true);
}

/* A later start leaves the changed cards to the collector thread, which
 * copies them beside the program; a card the program changes first it
 * copies itself.  Pairs x <-> y, each x held from C, each object's slots
 * a card of their own; the first background collection copies
 * everything, then every object's second slot is written (NULL again) so
 * that each card is to be copied.
 * Right after the next start, from the last pair down, C stores x into
 * y's second slot and drops x in every other pair.  A snapshot with that
 * slot would count two references to x from inside (its count at the
 * start is two) and call the pair garbage, which it is at the finish:
 * freed by this collection, not the next.  The other pairs die by count
 * meanwhile (y drops x, then C): x's ids and slot range are taken back (a
 * link written into a card no slot write touched) while the copy may be
 * reading them (ThreadSanitizer runs this suite). */
static void test_cards_kept_at_start(void **state) {
    (void)state;
    void **held = calloc(PAIRS, sizeof *held);
    assert_non_null(held);
    gpugc_heap *h = pairs_heap(held, CARD_SLOTS);
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    wait_ready(h);
    assert_int_equal(gpugc_collect_finish(h), 0);
    for (uint32_t p = 0; p < PAIRS; p++) {
        assert_int_equal(gpugc_set_ref(h, held[p], 1, NULL), GPUGC_OK);
        assert_int_equal(gpugc_set_ref(h, gpugc_get_ref(h, held[p], 0), 1, NULL), GPUGC_OK);
    }
    assert_int_equal(gpugc_collect_start(h, 2), GPUGC_OK);
    for (uint32_t p = PAIRS; p-- > 0;) {
        void *y = gpugc_get_ref(h, held[p], 0);
        assert_int_equal(gpugc_set_ref(h, y, p % 2, p % 2 ? held[p] : NULL), GPUGC_OK);
        gpugc_decref(h, held[p]);
    }
    wait_ready(h);
    assert_int_equal(gpugc_collect_finish(h), 0);
    assert_int_equal(gpugc_object_count(h), (uint64_t)PAIRS);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(gpugc_collect(h, 2), (int64_t)PAIRS);
    free(held);
    gpugc_heap_free(h);
}

/* ---- random graphs, random mutation while the mark runs ------------------- */

static uint64_t rng = 88172645463325252u;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

typedef struct model {
    void *o[MAX_OBJS];
    uint32_t nslots[MAX_OBJS];
    int32_t slot[MAX_OBJS][MAX_SLOTS]; /* tags, -1 empty                     */
    uint32_t held[MAX_OBJS];           /* references C holds                  */
    uint32_t n;
} model;

/* reach[t]: t is reachable from what C holds, through slots. */
static void reachable(const model *m, bool reach[MAX_OBJS]) {
    uint32_t stack[MAX_OBJS], sp = 0;
    memset(reach, 0, MAX_OBJS * sizeof reach[0]);
    for (uint32_t t = 0; t < m->n; t++)
        if (m->held[t] && !died_at[t] && !reach[t]) {
            reach[t] = true;
            stack[sp++] = t;
        }
    while (sp) {
        uint32_t t = stack[--sp];
        for (uint32_t k = 0; k < m->nslots[t]; k++) {
            int32_t u = m->slot[t][k];
            if (u >= 0 && !reach[u]) {
                reach[u] = true;
                stack[sp++] = (uint32_t)u;
            }
        }
    }
}

static uint32_t live_pick(const model *m, const bool reach[MAX_OBJS]) {
    for (uint32_t tries = 0; tries < 64; tries++) {
        uint32_t t = rnd(m->n);
        if (reach[t] && !died_at[t])
            return t;
    }
    return MAX_OBJS;
}

static void model_new(gpugc_heap *h, model *m, uint32_t nslots) {
    uint32_t t = m->n++;
    m->o[t] = obj(h, t, nslots);
    m->nslots[t] = nslots;
    for (uint32_t k = 0; k < MAX_SLOTS; k++)
        m->slot[t][k] = -1;
    m->held[t] = 1;
}

static void model_set(gpugc_heap *h, model *m, uint32_t t, uint32_t k, int32_t u) {
    assert_int_equal(gpugc_set_ref(h, m->o[t], k, u >= 0 ? m->o[u] : NULL), GPUGC_OK);
    m->slot[t][k] = u;
}

static void model_drop(gpugc_heap *h, model *m, uint32_t t) {
    m->held[t]--;
    gpugc_decref(h, m->o[t]);
}

/* One step of the program while the mark runs: only on objects alive and
 * reachable (the program can hold nothing else). */
static void mutate(gpugc_heap *h, model *m) {
    bool reach[MAX_OBJS];
    reachable(m, reach);
    uint32_t t = live_pick(m, reach), u = live_pick(m, reach);
    switch (rnd(6)) {
    case 0: /* a new object, linked or held */
        if (m->n < MAX_OBJS) {
            model_new(h, m, 1 + rnd(MAX_SLOTS));
            uint32_t nt = m->n - 1;
            if (t < MAX_OBJS && m->nslots[t] && rnd(2)) {
                model_set(h, m, t, rnd(m->nslots[t]), (int32_t)nt);
                model_drop(h, m, nt);
            }
        }
        break;
    case 1: /* a slot re-pointed */
        if (t < MAX_OBJS && u < MAX_OBJS && m->nslots[t])
            model_set(h, m, t, rnd(m->nslots[t]), (int32_t)u);
        break;
    case 2: /* a slot cleared: what it held may die by count */
        if (t < MAX_OBJS && m->nslots[t])
            model_set(h, m, t, rnd(m->nslots[t]), -1);
        break;
    case 3: /* C lets go of something */
        if (t < MAX_OBJS && m->held[t])
            model_drop(h, m, t);
        break;
    case 4: /* C takes a reference */
        if (t < MAX_OBJS) {
            gpugc_incref(h, m->o[t]);
            m->held[t]++;
        }
        break;
    default: /* a new cycle, at once garbage */
        if (m->n + 2 <= MAX_OBJS) {
            model_new(h, m, 1);
            model_new(h, m, 1);
            model_set(h, m, m->n - 2, 0, (int32_t)(m->n - 1));
            model_set(h, m, m->n - 1, 0, (int32_t)(m->n - 2));
            model_drop(h, m, m->n - 2);
            model_drop(h, m, m->n - 1);
        }
        break;
    }
}

static void check_alive(const model *m) {
    bool reach[MAX_OBJS];
    reachable(m, reach);
    for (uint32_t t = 0; t < m->n; t++)
        if (reach[t])
            assert_int_equal(died_at[t], 0);
}

static void test_random_mutation(void **state) {
    (void)state;
    const char *env = getenv("GPUGC_TEST_GRAPHS");
    int graphs = env ? atoi(env) : 300;
    static model m;
    for (int gi = 0; gi < graphs; gi++) {
        gpugc_heap *h = heap_for(0, 0);
        memset(&m, 0, sizeof m);
        uint32_t n0 = 20 + rnd(200);
        for (uint32_t t = 0; t < n0; t++)
            model_new(h, &m, rnd(MAX_SLOTS + 1));
        for (uint32_t t = 0; t < n0; t++)
            for (uint32_t k = 0; k < m.nslots[t]; k++)
                if (rnd(4))
                    model_set(h, &m, t, k, (int32_t)rnd(n0));
        for (uint32_t t = 0; t < n0; t++)
            if (rnd(5))
                model_drop(h, &m, t);
        /* Some of it collected once, so that generations differ. */
        if (rnd(2))
            gpugc_collect(h, (int)rnd(3));
        check_alive(&m);
        bool at_start[MAX_OBJS], dead_before[MAX_OBJS];
        reachable(&m, at_start);
        uint32_t start_n = m.n;
        for (uint32_t t = 0; t < start_n; t++)
            dead_before[t] = died_at[t] != 0;
        int g = (int)rnd(3);
        assert_int_equal(gpugc_collect_start(h, g), GPUGC_OK);
        for (uint32_t s = 0, steps = rnd(60); s < steps; s++)
            mutate(h, &m);
        /* Nothing unreachable at the start died before the finish. */
        for (uint32_t t = 0; t < start_n; t++)
            if (!at_start[t] && !dead_before[t])
                assert_int_equal(died_at[t], 0);
        assert_true(finish(h) >= 0);
        check_alive(&m);
        /* A full collection's set is everything: all the start's garbage
         * is gone (a young one may leave older garbage for later). */
        if (g == 2)
            for (uint32_t t = 0; t < start_n; t++)
                if (!at_start[t] && !dead_before[t])
                    assert_int_equal(died_at[t], 2);
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
        gpugc_collect(h, 2);
        bool reach[MAX_OBJS];
        reachable(&m, reach);
        for (uint32_t t = 0; t < m.n; t++)
            assert_int_equal(died_at[t] != 0, !reach[t]);
        gpugc_heap_free(h);
    }
}

int main(void) {
    int gate = backend_gate();
    if (gate)
        return gate;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_ready_finish),
        cmocka_unit_test(test_program_goes_on),
        cmocka_unit_test(test_weakref_revives),
        cmocka_unit_test(test_settling_calls_finish_first),
        cmocka_unit_test(test_heap_free_while_pending),
        cmocka_unit_test(test_concurrent_automatic),
        cmocka_unit_test(test_mark_failure),
        cmocka_unit_test(test_random_mutation),
        cmocka_unit_test(test_start_in_shares),
        cmocka_unit_test(test_counts_kept_at_start),
        cmocka_unit_test(test_counts_kept_without_memory),
        cmocka_unit_test(test_cards_kept_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

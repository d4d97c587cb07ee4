/* test_introspect.c - looking at the heap as CPython's gc module allows:
 * gpugc_get_objects by generation, gpugc_get_referrers and
 * gpugc_get_referents, visitors that stop early or change the heap, and
 * the tracked and finalized flags with gpugc_track / gpugc_untrack, and
 * generation lists under reused ids, checked against a model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gpugc.h"
#include "support.h"

#include "error_count.h"

/* What a walk saw. */
typedef struct seen {
    void *obj[32];
    int n;
    int stop_after; /* 0: never stop */
} seen;

static int collect_visit(gpugc_heap *h, void *obj, void *data) {
    (void)h;
    seen *s = data;
    if (s->n < 32)
        s->obj[s->n] = obj;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static int count_of(const seen *s, const void *obj) {
    int c = 0;
    for (int i = 0; i < s->n && i < 32; i++)
        c += s->obj[i] == obj;
    return c;
}

static void *obj(gpugc_heap *h, uint32_t nrefs) {
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, nrefs, 8);
    assert_non_null(p);
    return p;
}

static void test_get_objects_by_generation(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    void *old = obj(h, 1), *young = obj(h, 2), *atom = obj(h, 0);
    assert_int_equal(gpugc_collect(h, 1), 0); /* old -> generation 2 */
    void *fresh = obj(h, 1);
    (void)young;

    seen s = {0};
    assert_int_equal(gpugc_get_objects(h, -1, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 3); /* atom is not tracked */
    assert_int_equal(count_of(&s, atom), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_objects(h, 0, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 1);
    assert_ptr_equal(s.obj[0], fresh);
    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_objects(h, 2, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(count_of(&s, old), 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_objects(h, 1, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 0);

    /* Frozen and immortal objects are in the permanent generation. */
    gpugc_freeze(h);
    assert_int_equal(gpugc_make_immortal(h, atom), GPUGC_OK); /* untracked: not listed */
    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_objects(h, GPUGC_PERMANENT_GENERATION, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 3);
    gpugc_unfreeze(h);

    /* Stopping early returns what the visitor returned. */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(gpugc_get_objects(h, -1, collect_visit, &s), 42);
    assert_int_equal(s.n, 2);

    assert_int_equal(errors, 0);
    assert_int_equal(gpugc_get_objects(h, 4, collect_visit, &s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_objects(h, -2, collect_visit, &s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_objects(h, 0, NULL, &s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_objects(NULL, 0, collect_visit, &s), GPUGC_EINVAL);
    assert_int_equal(errors, 4);
    for (int i = 0; i < 3; i++) /* counts are as before the walks */
        assert_int_equal(gpugc_refcount(h, ((void *[]){old, young, fresh})[i]), 1);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    gpugc_heap_free(h);
}

/* a -> b twice, c -> b, b -> a; an untracked holder d -> b counts too. */
static void test_referrers_and_referents(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    void *a = obj(h, 3), *b = obj(h, 1), *c = obj(h, 1), *d = obj(h, 1);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, a, 2, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, c, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, d, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_untrack(h, d), GPUGC_OK);

    seen s = {0};
    assert_int_equal(gpugc_get_referrers(h, b, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(count_of(&s, a), 1);
    assert_int_equal(count_of(&s, c), 1);
    assert_int_equal(count_of(&s, d), 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_referrers(h, c, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 0);

    memset(&s, 0, sizeof s);
    assert_int_equal(gpugc_get_referents(h, a, collect_visit, &s), GPUGC_OK);
    assert_int_equal(s.n, 2); /* slot 1 is NULL */
    assert_ptr_equal(s.obj[0], b);
    assert_ptr_equal(s.obj[1], b);
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    assert_int_equal(gpugc_get_referents(h, a, collect_visit, &s), 42);

    assert_int_equal(errors, 0);
    assert_int_equal(gpugc_get_referrers(h, NULL, collect_visit, &s), GPUGC_EINVAL);
    assert_int_equal(gpugc_get_referents(h, a, NULL, &s), GPUGC_EINVAL);
    static uint64_t buffer[4];
    assert_int_equal(gpugc_get_referents(h, &buffer[2], collect_visit, &s), GPUGC_ENOTOBJ);
    assert_int_equal(errors, 3);
    gpugc_decref(h, c);
    gpugc_decref(h, d);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    assert_int_equal(gpugc_collect(h, 2), 2);
    assert_int_equal(gpugc_object_count(h), 0);
    gpugc_heap_free(h);
}

/* A visitor that drops the walk's objects, allocates and collects: every
 * object is visited alive, and what it dropped is freed when the walk
 * ends. */
static struct {
    void *held[8];
    int n, visited, collected;
} M;

static int meddling_visit(gpugc_heap *h, void *obj, void *data) {
    (void)data;
    assert_true(gpugc_refcount(h, obj) >= 1);
    M.visited++;
    for (int i = 0; i < M.n; i++)
        if (M.held[i]) {
            gpugc_decref(h, M.held[i]);
            M.held[i] = NULL;
        }
    void *p = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    gpugc_set_ref(h, p, 0, p);
    gpugc_decref(h, p);
    M.collected += (int)gpugc_collect(h, 2);
    return 0;
}

static void test_visitor_changes_the_heap(void **state) {
    (void)state;
    memset(&M, 0, sizeof M);
    gpugc_heap *h = heap_manual();
    for (M.n = 0; M.n < 5; M.n++)
        M.held[M.n] = obj(h, 1);
    assert_int_equal(gpugc_get_objects(h, -1, meddling_visit, NULL), GPUGC_OK);
    assert_int_equal(M.visited, 5);
    assert_int_equal(M.collected, 5); /* the self-loops made by the visits */
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);
    assert_int_equal(errors, 0);
    gpugc_heap_free(h);
}

/* Untracked objects are never examined: an untracked cycle is never found,
 * and stays untracked through slot changes until tracked again. */
static void test_track_untrack(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    void *a = obj(h, 1), *b = obj(h, 1), *atom = obj(h, 0);
    assert_int_equal(gpugc_is_tracked(h, a), 1);
    assert_int_equal(gpugc_is_tracked(h, atom), 0);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    assert_int_equal(gpugc_untrack(h, a), GPUGC_OK);
    assert_int_equal(gpugc_untrack(h, a), GPUGC_OK); /* twice: no change */
    assert_int_equal(gpugc_is_tracked(h, a), 0);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    assert_int_equal(gpugc_collect(h, 2), 0); /* b is held by untracked a */
    assert_int_equal(gpugc_object_count(h), 3);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    assert_int_equal(gpugc_resize_refs(h, a, 2), GPUGC_OK);
    assert_int_equal(gpugc_is_tracked(h, a), 0);
    assert_int_equal(gpugc_untrack(h, atom), GPUGC_OK);
    assert_int_equal(gpugc_resize_refs(h, atom, 1), GPUGC_OK);
    assert_int_equal(gpugc_is_tracked(h, atom), 0);
    assert_int_equal(gpugc_track(h, atom), GPUGC_OK);
    assert_int_equal(gpugc_is_tracked(h, atom), 1);
    assert_int_equal(gpugc_validate(h), GPUGC_OK);

    assert_int_equal(gpugc_track(h, a), GPUGC_OK);
    assert_int_equal(gpugc_track(h, a), GPUGC_OK);
    assert_int_equal(gpugc_is_tracked(h, a), 1);
    assert_int_equal(gpugc_collect(h, 2), 2);
    gpugc_decref(h, atom);
    assert_int_equal(gpugc_object_count(h), 0);

    assert_int_equal(errors, 0);
    assert_int_equal(gpugc_is_tracked(h, NULL), GPUGC_EINVAL);
    assert_int_equal(gpugc_track(NULL, a), GPUGC_EINVAL);
    assert_int_equal(gpugc_untrack(h, NULL), GPUGC_EINVAL);
    assert_int_equal(errors, 3);
    gpugc_heap_free(h);
}

/* Where each object of a model heap should be: -1 untracked, else its
 * generation (GPUGC_PERMANENT_GENERATION when frozen). */
#define MODEL_OBJECTS 48
typedef struct model {
    void *obj[MODEL_OBJECTS];
    int gen[MODEL_OBJECTS];
    int seen[GPUGC_PERMANENT_GENERATION + 1];
    int wrong;
} model;

static int model_visit(gpugc_heap *h, void *o, void *data) {
    (void)h;
    model *m = data;
    int g = -1;
    for (int i = 0; i < MODEL_OBJECTS; i++)
        if (m->obj[i] == o)
            g = m->gen[i];
    m->wrong += g < 0;
    if (g >= 0)
        m->seen[g]++;
    return 0;
}

/* Ids are reused at once and objects move between generations, untracked
 * and tracked again, frozen and unfrozen, so the generation lists hold
 * stale entries of every kind: each walk must still visit every tracked
 * object once, in its generation, and the validator must find each list
 * holding an id at most once. */
static void test_generations_of_reused_ids(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    model m = {0};
    uint64_t x = 88172645463325252u;
    for (int step = 0; step < 4000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int i = (int)(x >> 40) % MODEL_OBJECTS, op = (int)(x >> 20) % 16;
        if (op < 6) { /* make object i, or drop it: its id is reused next */
            if (m.obj[i]) {
                gpugc_decref(h, m.obj[i]);
                m.obj[i] = NULL;
            } else {
                m.obj[i] = obj(h, 1 + (uint32_t)(x & 1));
                m.gen[i] = 0;
            }
        } else if (op < 8 && m.obj[i]) { /* untrack, or track again */
            if (m.gen[i] < 0) {
                assert_int_equal(gpugc_track(h, m.obj[i]), GPUGC_OK);
                m.gen[i] = 0;
            } else if (m.gen[i] != GPUGC_PERMANENT_GENERATION) {
                assert_int_equal(gpugc_untrack(h, m.obj[i]), GPUGC_OK);
                m.gen[i] = -1;
            }
        } else if (op < 14) { /* collect 0..g: everything is held, so it moves up */
            int g = op - 8 < 3 ? 0 : op - 8 < 5 ? 1 : 2;
            assert_int_equal(gpugc_collect(h, g), 0);
            for (int k = 0; k < MODEL_OBJECTS; k++)
                if (m.obj[k] && m.gen[k] >= 0 && m.gen[k] <= g)
                    m.gen[k] = g < 2 ? g + 1 : 2;
        } else if (op == 14) {
            gpugc_freeze(h);
            for (int k = 0; k < MODEL_OBJECTS; k++)
                if (m.obj[k] && m.gen[k] >= 0)
                    m.gen[k] = GPUGC_PERMANENT_GENERATION;
        } else {
            gpugc_unfreeze(h);
            for (int k = 0; k < MODEL_OBJECTS; k++)
                if (m.obj[k] && m.gen[k] == GPUGC_PERMANENT_GENERATION)
                    m.gen[k] = 2;
        }
        assert_int_equal(gpugc_validate(h), GPUGC_OK);
        for (int g = 0; g <= GPUGC_PERMANENT_GENERATION; g++) {
            memset(m.seen, 0, sizeof m.seen);
            assert_int_equal(gpugc_get_objects(h, g, model_visit, &m), GPUGC_OK);
            int want = 0;
            for (int k = 0; k < MODEL_OBJECTS; k++)
                want += m.obj[k] && m.gen[k] == g;
            assert_int_equal(m.seen[g], want);
        }
        assert_int_equal(m.wrong, 0);
    }
    for (int k = 0; k < MODEL_OBJECTS; k++)
        if (m.obj[k])
            gpugc_decref(h, m.obj[k]);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(errors, 0);
    gpugc_heap_free(h);
}

static int fin_runs;
static void fin(gpugc_heap *h, void *o) {
    fin_runs++;
    gpugc_incref(h, o); /* resurrect */
}

static void test_is_finalized(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"lazarus", fin, NULL};
    gpugc_type t = gpugc_type_register(h, &d);
    void *p = gpugc_new(h, t, 0, 8);
    assert_int_equal(gpugc_is_finalized(h, p), 0);
    gpugc_decref(h, p); /* finalized, resurrected */
    assert_int_equal(fin_runs, 1);
    assert_int_equal(gpugc_is_finalized(h, p), 1);
    assert_int_equal(gpugc_refcount(h, p), 1);
    gpugc_decref(h, p); /* freed without finalizing again */
    assert_int_equal(fin_runs, 1);
    assert_int_equal(gpugc_object_count(h), 0);
    assert_int_equal(gpugc_is_finalized(NULL, p), GPUGC_EINVAL);
    gpugc_heap_free(h);
}

/* From a finalizer run by a collection's sweep, walks are refused. */
static int walk_status;
static void fin_walk(gpugc_heap *h, void *o) {
    (void)o;
    seen s = {0};
    walk_status = gpugc_get_objects(h, -1, collect_visit, &s);
}

static void test_walk_refused_in_sweep(void **state) {
    (void)state;
    gpugc_heap *h = heap_manual();
    gpugc_type_desc d = {"walker", fin_walk, NULL};
    gpugc_type t = gpugc_type_register(h, &d);
    void *p = gpugc_new(h, t, 1, 8);
    assert_int_equal(gpugc_set_ref(h, p, 0, p), GPUGC_OK);
    gpugc_decref(h, p);
    assert_int_equal(gpugc_collect(h, 0), 1);
    assert_int_equal(walk_status, GPUGC_EBUSY);
    assert_int_equal(errors, 1);
    gpugc_heap_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        CASE(test_get_objects_by_generation),
        CASE(test_referrers_and_referents),
        CASE(test_visitor_changes_the_heap),
        CASE(test_track_untrack),
        CASE(test_generations_of_reused_ids),
        CASE(test_is_finalized),
        CASE(test_walk_refused_in_sweep),
#undef CASE
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

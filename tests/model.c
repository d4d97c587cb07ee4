/* model.c - the differential model: the library against an independent
 * brute-force model.
 *
 * Random graphs are built, mutated and collected, every step applied both
 * to the library and to a model that knows only the public contract: per
 * object its C references, its slots, whether it is tracked and its
 * generation.  The model recomputes reference counts from scratch
 * (C references plus slots of alive objects), finds refcount deaths by
 * fixpoint and a collection's garbage by breadth-first search from every
 * root.  After every collection, and every few steps, the whole heap is
 * compared with it: live objects, exact counts and edges, each freed object
 * finalized once and destroyed once (finalize first), gpugc_validate.
 * Some objects have a finalizer that resurrects them (it takes a C
 * reference), by reference count or in a cycle; the model predicts which
 * objects that keeps alive and checks that no finalizer runs twice.
 *
 * Graphs have cycles, self-loops, shared subgraphs, NULL slots, objects held
 * from C (a new object's reference is at times given to a slot,
 * gpugc_give_ref), several generations, payloads from the pools and from the system,
 * and mutation interleaved with collections.  Now and then every tracked
 * object is frozen (gpugc_freeze: no collection examines it) or unfrozen,
 * single objects are untracked (gpugc_untrack) or tracked again,
 * GPUGC_DEBUG_SAVEALL keeps what collections find on the garbage list
 * (cleared now and then), and in some graphs objects are made immortal
 * (their counts stop moving and they never die; those graphs end with
 * gpugc_heap_free).
 *
 * Weak references, some with callbacks, are made to random objects and
 * freed at random.  The model says when each must die: when its referent
 * dies by reference count, or is garbage of a collection (even if a
 * callback or finalizer then resurrects it).  Every check compares what
 * each one reads and how often its callback ran (once, for a dead one,
 * before any finalizer of its collection, with every weak reference to
 * that collection's garbage already unreadable).
 *
 * Callbacks that run in a collection's sweep also act, as a program's do
 * (CPython's test_gc and test_weakref scenarios): a weak-reference callback
 * or a finalizer calls gpugc_weakref_get on another weak reference (and
 * keeps what it gets from C), stores an object, garbage or not, into a
 * slot of a live "keeper" object, or takes a C reference to one; a destroy
 * tries to take a reference to its own dying object, which must be
 * refused.  The model checks what each call returned (NULL for every weak
 * reference to the garbage, CPython's handle_weakrefs), then predicts what
 * survives: every garbage object that anything outside the garbage now
 * references, and all it reaches.  Random steps later drop those
 * references again.  Outside a sweep the callbacks only record.
 *
 * Automatic collection is off so that the model stays exact.  A graph ends
 * by dropping every reference and collecting (the heap must end empty, and
 * is reused by the next graph) or with gpugc_heap_free on live objects.
 *
 * Every choice is one call of model_rnd, which the program that drives the
 * model provides (model.h): tests/test_differential.c draws them from a
 * seeded generator, fuzz/fuzz_api.c reads them from the fuzzer's input.
 * Works on any backend (GPUGC_BACKEND).
 */
#include <stdint.h>
#include <string.h>

#include "gpugc.h"
#include "model.h"

enum {
    MAX_OBJS = 256,       /* objects one graph creates at most             */
    MAX_SLOTS = 6,        /* slots an object may be resized to             */
    MAX_NEW_SLOTS = 4,    /* slots of a new object                         */
    MAX_RING = 8,         /* objects of one ring built in a single step    */
    NONE = -1,            /* an empty slot, or no object                   */
    FULL_CHECK_EVERY = 16, /* steps between whole-heap comparisons        */
    IMMORTAL_EVERY = 4,   /* every so many graphs make immortal objects    */
    MAX_WEAK = 64,        /* weak references one graph makes at most       */
    KEEP_SLOTS = MAX_WEAK + MAX_OBJS, /* the keeper's: one per actor        */
    PERMANENT = 3         /* the generation of frozen and immortal objects */
};

/* ---- the model ---------------------------------------------------------- */

/* What a callback does when it runs in a collection's sweep. */
typedef enum {
    ACT_NONE,
    ACT_GET,              /* gpugc_weakref_get(weak reference arg), kept   */
    ACT_STORE,            /* object arg into the actor's keeper slot       */
    ACT_HOLD,             /* a C reference to object arg                   */
    ACT_COUNT
} act;

/* The three types objects are made of. */
typedef enum {
    PLAIN,                /* GPUGC_TYPE_OBJECT: no callbacks               */
    COUNTED,              /* finalize and destroy are recorded             */
    RESURRECT             /* likewise; finalize also takes a C reference   */
} kind;

typedef struct mobj {
    void *ptr;
    size_t size;
    kind kind;
    int alive;
    int ext;              /* references held by this test's C code         */
    int nslots;
    int slot[MAX_SLOTS];  /* model indices, NONE for NULL                  */
    int gen;              /* meaningful while tracked (nslots > 0)         */
    int immortal;         /* gpugc_make_immortal: never dies               */
    int untracked;        /* gpugc_untrack: in no set, whatever its slots  */
    int saved;            /* on the garbage list (SAVEALL), which holds one
                             reference to it                              */
    int retracked;        /* tracked again while a background collection was
                             pending, which does not promote it            */
    int fin_due;          /* the model says finalize has run (0 or 1)      */
    act fin_act;          /* what its finalizer does in a sweep            */
    int fin_arg;
    int des_try;          /* its destroy tries to take a reference to it   */
    /* what the library's callbacks did to this object */
    int finalized, destroyed, payload_bad;
    uint64_t fin_seq, des_seq;
} mobj;

/* A weak reference, as the model sees it. */
typedef struct mweak {
    gpugc_weakref *w;     /* NULL once freed                               */
    int target;           /* model index; NONE once the referent died      */
    int has_cb;
    int cb_due;           /* the model says the callback has run (0 or 1) */
    act cb_act;           /* what the callback does in a sweep             */
    int cb_arg;
    /* what the library's callback did */
    int cb_runs, cb_bad;  /* cb_bad: the referent was still readable       */
    uint64_t cb_seq;
} mweak;

static struct {
    gpugc_heap *h;
    mweak wk[MAX_WEAK];
    int nw;               /* weak references made in this graph            */
    gpugc_type type[3];   /* by kind */
    mobj o[MAX_OBJS];
    int n;                /* objects created in this graph                 */
    uint64_t seq;         /* orders callback events                        */
    int stray;            /* callbacks on objects the model does not know  */
    int errors;           /* unexpected reports to the error handler       */
    int expect_status;    /* the report a call about to be made must give  */
    int expected_seen;    /* ...and how many such reports came             */
    int acts_bad;         /* sweep callbacks whose calls did not do what the
                             model says                                   */
    void *keeper;         /* an untracked live object, held from C, whose
                             slot s only actor s's callback fills          */
    int keep[KEEP_SLOTS]; /* its slots, model indices                      */
    int closing;          /* gpugc_heap_free is running                    */
    int pending;          /* a background collection is marking            */
    int sweeping;         /* gpugc_collect is running; then: */
    char sweep_garbage[MAX_OBJS]; /* the collection's garbage              */
    char sweep_cleared[MAX_WEAK]; /* weak references it clears             */
    int graph, step, focus; /* where we are, for failure messages          */
    int immortals;        /* objects made immortal in this graph           */
    int saveall;          /* GPUGC_DEBUG_SAVEALL is on                     */
} W;

/* ---- failure reporting ----------------------------------------------------- */

#define EXPECT_EQ(actual, expected)                                           \
    expect_eq((long long)(actual), (long long)(expected), #actual, __LINE__)

static void expect_eq(long long actual, long long expected, const char *what,
                      int line) {
    if (actual == expected)
        return;
    model_print("model.c:%d: %s is %lld, the model says %lld (object %d)\n"
                "graph %d, step %d\n",
                line, what, actual, expected, W.focus, W.graph, W.step);
    model_fail();
}

void model_error_handler(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)data;
    if (W.expect_status && status == W.expect_status) {
        W.expected_seen++;
        return;
    }
    model_print("gpugc error %d: %s\n", status, message);
    W.errors++;
}

/* ---- callbacks: record what the library did, check nothing (a failing
 * assertion must not unwind through the library) ---------------------------- */

/* The model object at obj's address that has not been destroyed yet.  An
 * address is reused only after its object was destroyed, so the newest
 * match is the right one. */
static int model_index(const void *obj) {
    for (int i = W.n - 1; i >= 0; i--)
        if (W.o[i].ptr == obj && !W.o[i].destroyed)
            return i;
    return NONE;
}

/* Every payload is filled with its object's pattern, so a destroy that sees
 * other bytes caught two objects sharing memory. */
static uint8_t pattern(int i) {
    return (uint8_t)(i * 37 + 11);
}

static void *ptr_of(int i) {
    return i == NONE ? NULL : W.o[i].ptr;
}

/* A call made by a sweep's callback did not do what the model says: said
 * here, failed at the next check (never inside the library's call). */
static void act_bad(const char *what, int i) {
    model_print("in a sweep's callback: %s (model index %d)\n", what, i);
    W.acts_bad++;
}

/* Inside a sweep, every weak reference to its garbage reads NULL from
 * before the first callback on (CPython's handle_weakrefs). */
static void check_cleared_unreadable(void) {
    for (int k = 0; k < W.nw; k++) {
        if (!W.sweep_cleared[k] || !W.wk[k].w)
            continue;
        void *p = gpugc_weakref_get(W.h, W.wk[k].w);
        if (p) {
            act_bad("a weak reference to the garbage is readable", k);
            gpugc_decref(W.h, p); /* the count get gave */
        }
    }
}

/* What a callback does in a sweep, into keeper slot `slot`; the model
 * follows each call's effect as it happens, and counts a call that did not
 * do what the model says. */
static void act_in_sweep(act a, int arg, int slot) {
    check_cleared_unreadable();
    if (a == ACT_GET && W.wk[arg].w) {
        int want = W.wk[arg].target; /* NONE for the garbage: cleared */
        void *p = gpugc_weakref_get(W.h, W.wk[arg].w);
        int got = p ? model_index(p) : NONE;
        if (got != want)
            act_bad("gpugc_weakref_get gave another object than the model's", arg);
        if (got != NONE)
            W.o[got].ext++; /* kept from C; a random step drops it */
    } else if (a == ACT_STORE && W.keeper && W.o[arg].alive) {
        if (W.keep[slot] != NONE ||
            gpugc_set_ref(W.h, W.keeper, (uint32_t)slot, W.o[arg].ptr) != GPUGC_OK)
            act_bad("storing into an empty keeper slot failed", arg);
        else
            W.keep[slot] = arg;
    } else if (a == ACT_HOLD && W.o[arg].alive) {
        gpugc_incref(W.h, W.o[arg].ptr);
        W.o[arg].ext++;
    }
}

static void on_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    int i = model_index(obj);
    if (i == NONE) {
        W.stray++;
        return;
    }
    W.o[i].finalized++;
    W.o[i].fin_seq = ++W.seq;
    if (W.sweeping && W.sweep_garbage[i])
        act_in_sweep(W.o[i].fin_act, W.o[i].fin_arg, MAX_WEAK + i);
}

/* Resurrects obj the way a finalizer that hands its object to a global
 * does.  The model predicts this reference on its own (model_finalize). */
static void on_finalize_resurrect(gpugc_heap *h, void *obj) {
    on_finalize(h, obj);
    gpugc_incref(h, obj);
}

static void on_weak_dead(gpugc_heap *h, gpugc_weakref *w, void *data) {
    mweak *k = &W.wk[(intptr_t)data];
    k->cb_runs++;
    k->cb_seq = ++W.seq;
    if (k->w != w || gpugc_weakref_get(h, w) != NULL)
        k->cb_bad++;
    if (W.sweeping && W.sweep_cleared[(intptr_t)data])
        act_in_sweep(k->cb_act, k->cb_arg, (int)(intptr_t)data);
}

/* A destroy's try to take a reference to its own dying object: refused,
 * GPUGC_EBUSY in a sweep (garbage being freed), GPUGC_ENOTOBJ after a
 * death by count (its count is zero).  gpugc_heap_free is not tried. */
static void try_reference_to(gpugc_heap *h, int i) {
    int seen = W.expected_seen, calls = 1;
    W.expect_status = W.sweeping && W.sweep_garbage[i] ? GPUGC_EBUSY : GPUGC_ENOTOBJ;
    gpugc_incref(h, W.o[i].ptr);
    if (W.keeper) {
        calls++;
        if (gpugc_set_ref(h, W.keeper, (uint32_t)(MAX_WEAK + i), W.o[i].ptr) != W.expect_status)
            act_bad("a destroy stored its own dying object", i);
    }
    if (W.expected_seen != seen + calls)
        act_bad("a destroy took a reference to its own dying object", i);
    W.expect_status = 0;
}

static void on_destroy(gpugc_heap *h, void *obj) {
    (void)h;
    int i = model_index(obj);
    if (i == NONE) {
        W.stray++;
        return;
    }
    mobj *m = &W.o[i];
    m->destroyed++;
    m->des_seq = ++W.seq;
    if (m->des_try && !W.closing)
        try_reference_to(h, i);
    const uint8_t *bytes = obj;
    for (size_t k = 0; k < m->size; k++)
        if (bytes[k] != pattern(i)) {
            m->payload_bad++;
            break;
        }
}

/* ---- model semantics ------------------------------------------------------- */

/* The referent i died: its weak references read NULL from now on. */
static void model_kill_weakrefs(int i) {
    for (int k = 0; k < W.nw; k++)
        if (W.wk[k].w && W.wk[k].target == i) {
            W.wk[k].target = NONE;
            W.wk[k].cb_due = W.wk[k].has_cb;
        }
}

static int tracked(const mobj *m) { return m->nslots > 0 && !m->untracked; }
static int has_callbacks(const mobj *m) { return m->kind != PLAIN; }
static int is_alive(const mobj *m) { return m->alive; }
static int has_slots(const mobj *m) { return m->alive && m->nslots > 0; }
static int is_tracked(const mobj *m) { return m->alive && tracked(m); }
static int is_untracked(const mobj *m) { return m->alive && m->untracked; }
static int is_held(const mobj *m) { return m->alive && m->ext > 0; }

/* kept[i] = the keeper's slots that hold i. */
static void model_kept(int kept[MAX_OBJS]) {
    memset(kept, 0, MAX_OBJS * sizeof *kept);
    for (int s = 0; W.keeper && s < KEEP_SLOTS; s++)
        if (W.keep[s] != NONE)
            kept[W.keep[s]]++;
}

/* rc[i] = C references + slots of alive objects that hold i (the keeper's
 * included). */
static void model_refcounts(int rc[MAX_OBJS]) {
    model_kept(rc);
    for (int i = 0; i < W.n; i++)
        rc[i] = W.o[i].alive ? rc[i] + W.o[i].ext + W.o[i].saved : 0;
    for (int i = 0; i < W.n; i++)
        for (int s = 0; W.o[i].alive && s < W.o[i].nslots; s++)
            if (W.o[i].slot[s] != NONE)
                rc[W.o[i].slot[s]]++;
}

/* An object about to die runs its finalizer if it never has (PEP 442).
 * Returns 1 when the finalizer resurrected it. */
static int model_finalize(mobj *m) {
    if (!has_callbacks(m) || m->fin_due)
        return 0;
    m->fin_due = 1;
    if (m->kind != RESURRECT)
        return 0;
    m->ext++;
    return 1;
}

/* Reference counting: an object nothing references dies (unless its
 * finalizer resurrects it), then whatever only it referenced, until nothing
 * changes. */
static void model_release(void) {
    int rc[MAX_OBJS], changed = 1;
    while (changed) {
        changed = 0;
        model_refcounts(rc);
        for (int i = 0; i < W.n; i++)
            if (W.o[i].alive && rc[i] == 0 && !W.o[i].immortal &&
                !model_finalize(&W.o[i])) {
                W.o[i].alive = 0;
                model_kill_weakrefs(i);
                changed = 1;
            }
    }
}

/* Breadth-first search over slots from queue[0..tail), whose members are
 * already marked in reached; only objects with within[t] set are entered. */
static void model_reach(char reached[MAX_OBJS], int queue[MAX_OBJS], int tail,
                        const char within[MAX_OBJS]) {
    for (int head = 0; head < tail; head++) {
        const mobj *m = &W.o[queue[head]];
        for (int s = 0; s < m->nslots; s++) {
            int t = m->slot[s];
            if (t != NONE && within[t] && !reached[t]) {
                reached[t] = 1;
                queue[tail++] = t;
            }
        }
    }
}

/* Frozen and immortal objects sit in the permanent generation, which no
 * set includes. */
static int in_set(const mobj *m, int g) {
    return is_tracked(m) && m->gen <= g;
}

/* reached[i]: i is alive and outside `inside`, or held (by C, the garbage
 * list, a keeper), or reached from such an object through the slots of
 * alive objects. */
static void reach_outside(const char inside[MAX_OBJS], char reached[MAX_OBJS]) {
    char alive[MAX_OBJS];
    int queue[MAX_OBJS], tail = 0, kept[MAX_OBJS];
    memset(reached, 0, MAX_OBJS);
    model_kept(kept);
    for (int i = 0; i < W.n; i++) {
        alive[i] = (char)W.o[i].alive;
        if (W.o[i].alive && (!inside[i] || W.o[i].ext > 0 || W.o[i].saved || kept[i])) {
            reached[i] = 1;
            queue[tail++] = i;
        }
    }
    model_reach(reached, queue, tail, alive);
}

/* What collecting generations 0..g must find.  The set is every alive
 * tracked object of generation <= g.  Roots are every alive object outside
 * it (its slots are references from outside, even if it is itself garbage
 * of an older generation) and set members held from C or by the keeper
 * (untracked: in no set); garbage is the part of the set no root reaches.
 * Returns the garbage count. */
static int model_garbage(int g, char set[MAX_OBJS], char garbage[MAX_OBJS]) {
    char reached[MAX_OBJS];
    int count = 0;
    /* All of both arrays: objects made later (in a background collection)
     * are in neither. */
    for (int i = 0; i < MAX_OBJS; i++)
        set[i] = (char)(i < W.n && in_set(&W.o[i], g));
    reach_outside(set, reached);
    for (int i = 0; i < MAX_OBJS; i++) {
        garbage[i] = (char)(set[i] && !reached[i]);
        count += garbage[i];
    }
    return count;
}

/* The sweep, after the callbacks' own effects were applied as they ran:
 * every garbage object's finalizer runs (once ever); then what anything
 * outside the garbage references (a C reference, taken by a resurrecting
 * finalizer or any callback, or a keeper slot), and all the garbage it
 * reaches, survives.  Clears the survivors' garbage marks and returns how
 * many survived. */
static int model_sweep(char garbage[MAX_OBJS]) {
    char reached[MAX_OBJS] = {0};
    int queue[MAX_OBJS], tail = 0, kept[MAX_OBJS];
    for (int i = 0; i < W.n; i++)
        if (garbage[i])
            model_finalize(&W.o[i]);
    model_kept(kept);
    for (int i = 0; i < W.n; i++)
        if (garbage[i] && (W.o[i].ext > 0 || kept[i])) {
            reached[i] = 1;
            queue[tail++] = i;
        }
    model_reach(reached, queue, tail, garbage);
    int survivors = 0;
    for (int i = 0; i < W.n; i++)
        if (reached[i]) {
            garbage[i] = 0;
            survivors++;
        }
    return survivors;
}

static int alive_count(void) {
    int alive = 0;
    for (int i = 0; i < W.n; i++)
        alive += W.o[i].alive;
    return alive;
}

/* The heap's objects: the model's and the keeper. */
static int heap_count(void) {
    return alive_count() + (W.keeper != NULL);
}

/* ---- comparing the whole heap with the model ------------------------------- */

static void check_heap(void) {
    int rc[MAX_OBJS];
    model_refcounts(rc);
    for (int i = 0; i < W.n; i++) {
        const mobj *m = &W.o[i];
        W.focus = i;
        EXPECT_EQ(m->payload_bad, 0);
        EXPECT_EQ(m->finalized, m->fin_due); /* never twice */
        if (!m->alive) {
            /* freed: destroyed once, after its finalizer */
            EXPECT_EQ(m->destroyed, has_callbacks(m));
            if (has_callbacks(m))
                EXPECT_EQ(m->fin_seq < m->des_seq, 1);
            continue;
        }
        EXPECT_EQ(m->destroyed, 0);
        EXPECT_EQ(gpugc_refcount(W.h, m->ptr),
                  m->immortal ? (int64_t)GPUGC_IMMORTAL_REFCOUNT : rc[i]);
        EXPECT_EQ(gpugc_nrefs(W.h, m->ptr), m->nslots);
        EXPECT_EQ(gpugc_is_tracked(W.h, m->ptr), tracked(m));
        EXPECT_EQ(gpugc_type_of(W.h, m->ptr), W.type[m->kind]);
        for (int s = 0; s < m->nslots; s++)
            EXPECT_EQ((intptr_t)gpugc_get_ref(W.h, m->ptr, (uint32_t)s),
                      (intptr_t)ptr_of(m->slot[s]));
    }
    for (int k = 0; k < W.nw; k++) {
        mweak *wk = &W.wk[k];
        if (!wk->w)
            continue;
        W.focus = k;
        EXPECT_EQ(wk->cb_bad, 0);
        EXPECT_EQ(wk->cb_runs, wk->cb_due);
        void *p = gpugc_weakref_get(W.h, wk->w);
        EXPECT_EQ((intptr_t)p, (intptr_t)ptr_of(wk->target));
        if (p)
            gpugc_decref(W.h, p); /* the new reference get gave */
    }
    W.focus = NONE;
    int frozen = 0;
    for (int i = 0; i < W.n; i++)
        frozen += is_tracked(&W.o[i]) && W.o[i].gen == PERMANENT && !W.o[i].immortal;
    EXPECT_EQ(gpugc_get_freeze_count(W.h), frozen);
    int saved = 0;
    for (int i = 0; i < W.n; i++)
        saved += W.o[i].alive && W.o[i].saved;
    EXPECT_EQ(gpugc_garbage_count(W.h), saved);
    if (W.keeper) {
        EXPECT_EQ(gpugc_refcount(W.h, W.keeper), 1);
        for (int s = 0; s < KEEP_SLOTS; s++) {
            W.focus = s;
            EXPECT_EQ((intptr_t)gpugc_get_ref(W.h, W.keeper, (uint32_t)s),
                      (intptr_t)ptr_of(W.keep[s]));
        }
        W.focus = NONE;
    }
    EXPECT_EQ(gpugc_object_count(W.h), heap_count());
    EXPECT_EQ(gpugc_validate(W.h), GPUGC_OK);
    EXPECT_EQ(W.stray, 0);
    EXPECT_EQ(W.acts_bad, 0);
    EXPECT_EQ(W.errors, 0);
}

/* ---- operations: each one applied to the library and to the model --------- */

/* What an actor whose subject is object i does in a sweep, and with what:
 * another weak reference (any made so far), or an object, i itself half
 * of the time, which resurrects i. */
static act random_act(int *arg, int i) {
    act a = (act)model_rnd(ACT_COUNT);
    if (a == ACT_GET && W.nw == 0)
        a = ACT_NONE;
    *arg = a == ACT_GET ? model_rnd(W.nw) : model_rnd(2) ? i : model_rnd(W.n);
    return a;
}

static int op_new(int nslots, size_t size, kind k) {
    void *p = gpugc_new(W.h, W.type[k], (uint32_t)nslots, size);
    EXPECT_EQ(p != NULL, 1);
    int i = W.n++;
    mobj *m = &W.o[i];
    memset(m, 0, sizeof *m);
    m->ptr = p;
    m->size = size;
    m->kind = k;
    m->alive = 1;
    m->ext = 1;
    m->nslots = nslots;
    for (int s = 0; s < MAX_SLOTS; s++)
        m->slot[s] = NONE;
    if (has_callbacks(m)) {
        m->fin_act = random_act(&m->fin_arg, i);
        m->des_try = model_rnd(4) == 0;
    }
    W.focus = i;
    const uint8_t *bytes = p;
    for (size_t b = 0; b < size; b++)
        EXPECT_EQ(bytes[b], 0);
    memset(p, pattern(i), size);
    return i;
}

static void op_set(int i, int s, int target) {
    W.focus = i;
    EXPECT_EQ(gpugc_set_ref(W.h, W.o[i].ptr, (uint32_t)s, ptr_of(target)), GPUGC_OK);
    W.o[i].slot[s] = target;
    model_release();
}

/* One of the test's C references to target moves into slot s of i. */
static void op_give(int i, int s, int target) {
    W.focus = i;
    EXPECT_EQ(gpugc_give_ref(W.h, W.o[i].ptr, (uint32_t)s, ptr_of(target)), GPUGC_OK);
    W.o[target].ext--;
    W.o[i].slot[s] = target;
    model_release();
}

static void op_incref(int i) {
    gpugc_incref(W.h, W.o[i].ptr);
    W.o[i].ext++;
}

static void op_decref(int i) {
    gpugc_decref(W.h, W.o[i].ptr);
    W.o[i].ext--;
    model_release();
}

static void op_resize(int i, int nslots) {
    W.focus = i;
    EXPECT_EQ(gpugc_resize_refs(W.h, W.o[i].ptr, (uint32_t)nslots), GPUGC_OK);
    mobj *m = &W.o[i];
    if (!tracked(m) && nslots > 0) { /* a first slot starts tracking */
        m->gen = m->immortal ? PERMANENT : 0;
        m->retracked = W.pending; /* a background collection leaves it there */
    }
    for (int s = nslots; s < m->nslots; s++)
        m->slot[s] = NONE; /* released; the slots beyond stay NONE */
    m->nslots = nslots;
    model_release();
}

/* Of garbage[], what a program reached again while a background mark ran
 * (incref through a pointer it kept, a slot store, a callback's), with all
 * that reaches, and what died meanwhile: no longer garbage.  Returns how
 * many are left. */
static int model_revive(char garbage[MAX_OBJS]) {
    char reached[MAX_OBJS];
    int count = 0;
    reach_outside(garbage, reached);
    for (int i = 0; i < W.n; i++) {
        if (reached[i] || !W.o[i].alive)
            garbage[i] = 0;
        count += garbage[i];
    }
    return count;
}

static void pending_step(void);

/* A collection of generations 0..g, stop-the-world or, with `background`,
 * started, the program going on for a few random steps (anything but what
 * finishes it first: collections, freezing, weak references), and
 * finished: the model's garbage is the start's, less what the steps
 * reached again. */
static void op_collect(int g, int background) {
    char set[MAX_OBJS], garbage[MAX_OBJS], fin_before[MAX_OBJS], start_gen[MAX_OBJS];
    int unreachable = model_garbage(g, set, garbage);
    for (int i = 0; i < W.n; i++)
        start_gen[i] = (char)W.o[i].gen;
    int set_size = 0, set_slots = 0;
    for (int i = 0; i < W.n; i++)
        if (set[i]) {
            set_size++;
            set_slots += W.o[i].nslots;
        }
    if (background) {
        W.focus = NONE;
        EXPECT_EQ(gpugc_collect_start(W.h, g), GPUGC_OK);
        int ready = gpugc_collect_ready(W.h);
        EXPECT_EQ(ready == 0 || ready == 1, 1);
        W.pending = 1;
        for (int k = model_rnd(12); k > 0; k--)
            pending_step();
        W.pending = 0;
        unreachable = model_revive(garbage);
    }
    for (int i = 0; i < W.n; i++)
        fin_before[i] = (char)W.o[i].fin_due;
    uint64_t before = W.seq;
    char *cleared = W.sweep_cleared; /* by this collection, not by counts */
    for (int k = 0; k < W.nw; k++)
        cleared[k] = W.wk[k].w && W.wk[k].target != NONE && garbage[W.wk[k].target];
    for (int i = 0; i < W.n; i++)
        if (garbage[i]) /* cleared even if a callback resurrects i */
            model_kill_weakrefs(i);

    W.focus = NONE;
    memcpy(W.sweep_garbage, garbage, sizeof W.sweep_garbage);
    W.sweeping = 1;
    int64_t found = background ? gpugc_collect_finish(W.h) : gpugc_collect(W.h, g);
    W.sweeping = 0;
    if (background)
        EXPECT_EQ(gpugc_collect_ready(W.h) < 0, 1);
    EXPECT_EQ(found, unreachable);
    int survivors = model_sweep(garbage); /* garbage: now what is freed */
    int saved = 0;
    if (W.saveall) /* ...or, under SAVEALL, what joins the garbage list */
        for (int i = 0; i < W.n; i++)
            if (garbage[i]) {
                W.o[i].saved = 1;
                garbage[i] = 0;
                saved++;
            }

    gpugc_collection_stats st;
    EXPECT_EQ(gpugc_last_collection(W.h, &st, sizeof st), GPUGC_OK);
    EXPECT_EQ(st.generation, g);
    EXPECT_EQ(st.background, background);
    EXPECT_EQ(st.objects, set_size);
    EXPECT_EQ(st.edges, set_slots);
    EXPECT_EQ(st.unreachable, unreachable);
    EXPECT_EQ(st.collected, unreachable - survivors - saved);
    EXPECT_EQ(st.resurrected, survivors);

    /* The finalizers the sweep owed ran in this collection, all before the
     * first destroy of the objects it freed.  (Objects that die afterwards
     * by reference count are finalized later, and are not counted here.) */
    uint64_t last_fin = before, first_des = UINT64_MAX;
    for (int i = 0; i < W.n; i++) {
        const mobj *m = &W.o[i];
        if (!has_callbacks(m))
            continue;
        W.focus = i;
        if (m->fin_due && !fin_before[i]) {
            EXPECT_EQ(m->finalized, 1);
            EXPECT_EQ(m->fin_seq > before, 1);
            if (m->fin_seq > last_fin)
                last_fin = m->fin_seq;
        }
        if (garbage[i]) {
            EXPECT_EQ(m->destroyed, 1);
            if (m->des_seq < first_des)
                first_des = m->des_seq;
        }
    }
    EXPECT_EQ(last_fin < first_des, 1);

    /* Weak references to the garbage called back before any finalizer (those
     * whose referent died by count during the sweep come later). */
    uint64_t first_fin = UINT64_MAX;
    for (int i = 0; i < W.n; i++)
        if (has_callbacks(&W.o[i]) && W.o[i].fin_due && !fin_before[i] &&
            W.o[i].fin_seq < first_fin)
            first_fin = W.o[i].fin_seq;
    for (int k = 0; k < W.nw; k++) {
        W.focus = k;
        if (cleared[k] && W.wk[k].has_cb)
            EXPECT_EQ(W.wk[k].cb_seq > before && W.wk[k].cb_seq < first_fin, 1);
    }

    for (int i = 0; i < W.n; i++)
        if (garbage[i])
            W.o[i].alive = 0;
    model_release(); /* what only the freed garbage referenced */
    /* Survivors are promoted; in the background, not those of the target
     * generation the program tracked again meanwhile (in generation 0). */
    for (int i = 0; i < W.n; i++)
        if (set[i] && W.o[i].alive && !(W.o[i].retracked && start_gen[i] == (g < 2 ? g + 1 : 2)))
            W.o[i].gen = g < 2 ? g + 1 : 2;
    for (int i = 0; i < W.n; i++)
        W.o[i].retracked = 0;
    check_heap();
}

static void op_freeze(void) {
    gpugc_freeze(W.h);
    for (int i = 0; i < W.n; i++)
        if (is_tracked(&W.o[i]))
            W.o[i].gen = PERMANENT;
}

static void op_unfreeze(void) {
    gpugc_unfreeze(W.h);
    for (int i = 0; i < W.n; i++)
        if (is_tracked(&W.o[i]) && W.o[i].gen == PERMANENT && !W.o[i].immortal)
            W.o[i].gen = 2;
}

static void op_untrack(int i) {
    W.focus = i;
    EXPECT_EQ(gpugc_untrack(W.h, W.o[i].ptr), GPUGC_OK);
    W.o[i].untracked = 1;
}

static void op_track(int i) {
    W.focus = i;
    EXPECT_EQ(gpugc_track(W.h, W.o[i].ptr), GPUGC_OK);
    mobj *m = &W.o[i];
    if (m->untracked && m->nslots > 0) /* tracked anew */
        m->gen = m->immortal ? PERMANENT : 0;
    m->untracked = 0;
}

static void op_saveall(int on) {
    EXPECT_EQ(gpugc_set_debug(W.h, on ? GPUGC_DEBUG_SAVEALL : 0), GPUGC_OK);
    W.saveall = on;
}

static void op_garbage_clear(void) {
    EXPECT_EQ(gpugc_garbage_clear(W.h), GPUGC_OK);
    for (int i = 0; i < W.n; i++)
        W.o[i].saved = 0;
    model_release();
}

static void op_weakref_new(int i, int with_cb) {
    if (W.nw == MAX_WEAK)
        return;
    int k = W.nw++;
    mweak *wk = &W.wk[k];
    memset(wk, 0, sizeof *wk);
    wk->target = i;
    wk->has_cb = with_cb;
    if (with_cb)
        wk->cb_act = random_act(&wk->cb_arg, i);
    W.focus = i;
    wk->w = gpugc_weakref_new(W.h, W.o[i].ptr, with_cb ? on_weak_dead : NULL, (void *)(intptr_t)k);
    EXPECT_EQ(wk->w != NULL, 1);
}

static int weak_unfreed(int k) {
    return W.wk[k].w != NULL;
}

/* Drops what a sweep's callback stored in keeper slot s. */
static void op_keep_clear(int s) {
    W.focus = s;
    EXPECT_EQ(gpugc_set_ref(W.h, W.keeper, (uint32_t)s, NULL), GPUGC_OK);
    W.keep[s] = NONE;
    model_release();
}

/* The keeper of a new graph: untracked, so that it is in no collection's
 * set and every slot of it is a reference from outside. */
static void keeper_new(void) {
    W.keeper = gpugc_new(W.h, GPUGC_TYPE_OBJECT, KEEP_SLOTS, 0);
    EXPECT_EQ(W.keeper != NULL, 1);
    EXPECT_EQ(gpugc_untrack(W.h, W.keeper), GPUGC_OK);
    for (int s = 0; s < KEEP_SLOTS; s++)
        W.keep[s] = NONE;
}

static void keeper_free(void) {
    gpugc_decref(W.h, W.keeper);
    W.keeper = NULL;
    model_release();
}

static void op_weakref_free(int k) {
    gpugc_weakref_free(W.h, W.wk[k].w);
    W.wk[k].w = NULL;
}

static void op_make_immortal(int i) {
    W.focus = i;
    EXPECT_EQ(gpugc_make_immortal(W.h, W.o[i].ptr), GPUGC_OK);
    if (!W.o[i].immortal)
        W.immortals++;
    W.o[i].immortal = 1;
    W.o[i].gen = PERMANENT;
}

/* ---- random graphs ----------------------------------------------------------- */

/* A random index among the objects for which ok() holds, or NONE. */
static int pick(int (*ok)(const mobj *)) {
    int chosen = NONE, seen = 0;
    for (int i = 0; i < W.n; i++)
        if (ok(&W.o[i]) && model_rnd(++seen) == 0)
            chosen = i;
    return chosen;
}

/* Sizes of every kind: empty, tiny, pooled, either side of GPUGC_SMALL_MAX
 * (the header counts too), large. */
static size_t random_size(void) {
    switch (model_rnd(4)) {
    case 0: return (size_t)model_rnd(9);
    case 1: return (size_t)model_rnd(129);
    case 2: return (size_t)(440 + model_rnd(161));
    default: return (size_t)model_rnd(601);
    }
}

/* NULL, the object itself, or any alive object. */
static int random_target(int i) {
    switch (model_rnd(10)) {
    case 0: return NONE;
    case 1: return i;
    default: return pick(is_alive);
    }
}

/* Mostly recorded objects; a fifth without callbacks, one in ten that
 * resurrects itself once. */
static kind random_kind(void) {
    int r = model_rnd(10);
    return r < 2 ? PLAIN : r < 3 ? RESURRECT : COUNTED;
}

/* A new object; half the time it is stored into some object's slot and
 * only that slot keeps it (given to it, or stored and dropped). */
static void step_new(void) {
    int i = op_new(model_rnd(MAX_NEW_SLOTS + 1), random_size(), random_kind());
    int holder = pick(has_slots);
    if (holder != NONE && model_rnd(2)) {
        if (model_rnd(2)) {
            op_give(holder, model_rnd(W.o[holder].nslots), i);
        } else {
            op_set(holder, model_rnd(W.o[holder].nslots), i);
            op_decref(i);
        }
    }
}

/* k new objects linked in a ring (k = 1: a self-loop), usually dropped by
 * C at once, so collections find whole cycles. */
static void make_ring(int k) {
    int first = W.n;
    for (int j = 0; j < k; j++)
        op_new(1 + model_rnd(2), random_size(), random_kind());
    for (int j = 0; j < k; j++)
        op_set(first + j, 0, first + (j + 1) % k);
    int keep = model_rnd(3) == 0 ? first + model_rnd(k) : NONE;
    for (int j = 0; j < k; j++)
        if (first + j != keep)
            op_decref(first + j);
}

/* Young generations are collected more often, as the automatic collector
 * does; then objects also die while in generation 1, not only in 2. */
static int random_generation(void) {
    int r = model_rnd(10);
    return r < 5 ? 0 : r < 8 ? 1 : 2;
}

/* How often each kind of step is taken, in percent. */
typedef struct mix {
    int new_obj, set, incref, decref, resize, collect, special, weak, ring;
} mix;
/* While a background mark runs: nothing that would finish it. */
static const mix PENDING = {25, 30, 12, 15, 8, 0, 0, 0, 10};

/* A graph first grows (few references dropped), then churns: references
 * come and go and collections find what was dropped. */
static const mix GROW = {50, 22, 4, 4, 5, 5, 2, 3, 5};
static const mix CHURN = {24, 30, 6, 14, 6, 10, 2, 3, 5};

/* A new weak reference (with a callback or not) to a random object, a
 * keeper slot emptied, or a random weak reference freed. */
static void weak_step(void) {
    int i, r = model_rnd(4);
    if (r < 2) {
        if ((i = pick(is_alive)) != NONE)
            op_weakref_new(i, r);
        return;
    }
    if (r == 2) {
        int chosen = NONE, seen = 0;
        for (int s = 0; s < KEEP_SLOTS; s++)
            if (W.keep[s] != NONE && model_rnd(++seen) == 0)
                chosen = s;
        if (chosen != NONE)
            op_keep_clear(chosen);
        return;
    }
    int chosen = NONE, seen = 0;
    for (int k = 0; k < W.nw; k++)
        if (weak_unfreed(k) && model_rnd(++seen) == 0)
            chosen = k;
    if (chosen != NONE)
        op_weakref_free(chosen);
}

/* The rare steps: SAVEALL on or off, clearing the garbage list, untrack,
 * track, freeze, unfreeze, and in some graphs immortality. */
static void special_step(void) {
    int r = model_rnd(W.graph % IMMORTAL_EVERY == 1 ? 8 : 7), i;
    switch (r) {
    case 0:
        op_saveall(!W.saveall);
        break;
    case 1:
    case 2:
        op_garbage_clear();
        break;
    case 3:
        if ((i = pick(is_alive)) != NONE)
            op_untrack(i);
        break;
    case 4:
        if ((i = pick(is_untracked)) != NONE)
            op_track(i);
        break;
    case 5:
        op_freeze();
        break;
    case 6:
        op_unfreeze();
        break;
    default:
        if ((i = pick(is_alive)) != NONE)
            op_make_immortal(i);
    }
}

static void random_step(const mix *w, int limit) {
    int r = model_rnd(100), i;
    if ((r -= w->new_obj) < 0) {
        if (W.n < limit)
            step_new();
    } else if ((r -= w->set) < 0) {
        if ((i = pick(has_slots)) != NONE)
            op_set(i, model_rnd(W.o[i].nslots), random_target(i));
    } else if ((r -= w->incref) < 0) {
        if ((i = pick(is_alive)) != NONE)
            op_incref(i);
    } else if ((r -= w->decref) < 0) {
        if ((i = pick(is_held)) != NONE)
            op_decref(i);
    } else if ((r -= w->resize) < 0) {
        if ((i = pick(is_alive)) != NONE)
            op_resize(i, model_rnd(MAX_SLOTS + 1));
    } else if ((r -= w->collect) < 0) {
        op_collect(random_generation(), model_rnd(4) == 0);
    } else if ((r -= w->special) < 0) {
        special_step();
    } else if ((r -= w->weak) < 0) {
        weak_step();
    } else if (W.n + MAX_RING <= limit) {
        make_ring(1 + model_rnd(MAX_RING));
    }
}

/* A step of the program while a background mark runs. */
static void pending_step(void) {
    random_step(&PENDING, MAX_OBJS);
}

void model_open_heap(void) {
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    W.h = gpugc_heap_new(&cfg);
    EXPECT_EQ(W.h != NULL, 1);
    gpugc_disable(W.h);
    static const gpugc_type_desc desc[] = {
        [COUNTED] = {"counted", on_finalize, on_destroy},
        [RESURRECT] = {"resurrect", on_finalize_resurrect, on_destroy},
    };
    W.type[PLAIN] = GPUGC_TYPE_OBJECT;
    for (kind k = COUNTED; k <= RESURRECT; k++) {
        W.type[k] = gpugc_type_register(W.h, &desc[k]);
        EXPECT_EQ(W.type[k] != (gpugc_type)-1, 1);
    }
}

/* gpugc_heap_free destroys every live object once and finalizes none. */
void model_close_heap(void) {
    W.closing = 1;
    gpugc_heap_free(W.h);
    W.closing = 0;
    W.h = NULL;
    W.keeper = NULL;
    for (int i = 0; i < W.n; i++) {
        mobj *m = &W.o[i];
        W.focus = i;
        if (m->alive) {
            EXPECT_EQ(m->finalized, m->fin_due);
            EXPECT_EQ(m->destroyed, has_callbacks(m));
            EXPECT_EQ(m->payload_bad, 0);
            m->alive = 0;
        }
    }
    for (int k = 0; k < W.nw; k++) { /* freed with the heap, no callback */
        W.focus = k;
        EXPECT_EQ(W.wk[k].cb_runs, W.wk[k].cb_due);
        W.wk[k].w = NULL;
    }
    EXPECT_EQ(W.stray, 0);
    EXPECT_EQ(W.acts_bad, 0);
    EXPECT_EQ(W.errors, 0);
}

/* Unfreezes, drops every C reference and collects until nothing is left;
 * then frees the weak references left.  Each round can only leave objects
 * whose finalizer resurrected them for the first time, so a few rounds
 * suffice. */
void model_drop_everything(void) {
    keeper_free();
    op_saveall(0);
    op_garbage_clear();
    op_unfreeze(); /* frozen or untracked garbage is never collected */
    for (int i = 0; i < W.n; i++)
        if (is_untracked(&W.o[i]))
            op_track(i);
    for (int round = 0; round < 8 && alive_count() > 0; round++) {
        for (int i = 0; i < W.n; i++)
            while (is_held(&W.o[i]))
                op_decref(i);
        op_collect(random_generation(), 0);
        op_collect(2, 0);
    }
    EXPECT_EQ(gpugc_object_count(W.h), 0);
    for (int k = 0; k < W.nw; k++)
        if (weak_unfreed(k))
            op_weakref_free(k);
}

int model_run_graph(int graph) {
    W.graph = graph;
    int limit = 10 + model_rnd(191); /* 10..200 objects */
    W.n = 0;
    W.nw = 0;
    W.immortals = 0;
    W.saveall = 0;
    keeper_new();
    for (W.step = 0; W.step < 3 * limit; W.step++) {
        random_step(W.step < limit ? &GROW : &CHURN, limit);
        W.focus = NONE;
        EXPECT_EQ(gpugc_object_count(W.h), heap_count());
        if (W.step % FULL_CHECK_EVERY == 0)
            check_heap();
    }
    check_heap();
    return W.immortals > 0;
}

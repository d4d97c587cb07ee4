/* test_refcount.c - reference counting without the cycle collector.
 *
 * The seed example (three linked Node objects freed at once when the head is
 * dropped), incref/decref/set_ref arithmetic, finalize-before-destroy on
 * refcount death, resurrection by a finalizer, and a 10,000,000-node list
 * whose drop must run in bounded stack (on a thread with a 256 KiB stack).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include <pthread.h>
#include <string.h>

#include "gpugc.h"

/* ---- callbacks: the type descriptors carry no user data, so the counters
 * are file-level and reset by each test's setup. ---------------------------- */

#define LOG_MAX 64

static struct {
    size_t finalized;
    size_t destroyed;
    char log[LOG_MAX + 1]; /* 'F' for finalize, 'D' for destroy, in order */
    size_t log_len;
    int destroyed_values[LOG_MAX];
    uint32_t destroyed_nrefs[LOG_MAX]; /* gpugc_nrefs seen by each destroy */
    void *stash; /* where the resurrecting finalizer keeps its object */
} cb;

static void log_event(char c) {
    if (cb.log_len < LOG_MAX)
        cb.log[cb.log_len++] = c;
}

static void count_finalize(gpugc_heap *h, void *obj) {
    (void)h;
    (void)obj;
    cb.finalized++;
    log_event('F');
}

static void count_destroy(gpugc_heap *h, void *obj) {
    if (cb.destroyed < LOG_MAX) {
        cb.destroyed_values[cb.destroyed] = *(int *)obj;
        cb.destroyed_nrefs[cb.destroyed] = gpugc_nrefs(h, obj);
    }
    cb.destroyed++;
    log_event('D');
}

/* PEP 442 resurrection: the first finalization stores a new reference. */
static void resurrect_finalize(gpugc_heap *h, void *obj) {
    cb.finalized++;
    log_event('F');
    if (cb.stash == NULL) {
        gpugc_incref(h, obj);
        cb.stash = obj;
    }
}

/* ---- fixture ---------------------------------------------------------------- */

typedef struct {
    gpugc_heap *h;
    gpugc_type node;       /* destroy counts                       */
    gpugc_type finalized;  /* finalize and destroy count           */
    gpugc_type resurrects; /* finalizer resurrects once            */
} fixture;

static int setup(void **state) {
    static fixture f;
    memset(&cb, 0, sizeof cb);
    f.h = heap_manual();
    f.node = gpugc_type_register(f.h, &(gpugc_type_desc){
        .name = "Node", .destroy = count_destroy});
    f.finalized = gpugc_type_register(f.h, &(gpugc_type_desc){
        .name = "Finalized", .finalize = count_finalize, .destroy = count_destroy});
    f.resurrects = gpugc_type_register(f.h, &(gpugc_type_desc){
        .name = "Phoenix", .finalize = resurrect_finalize, .destroy = count_destroy});
    assert_int_not_equal(f.node, (gpugc_type)-1);
    assert_int_not_equal(f.finalized, (gpugc_type)-1);
    assert_int_not_equal(f.resurrects, (gpugc_type)-1);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    assert_int_equal(gpugc_validate(f->h), GPUGC_OK);
    gpugc_heap_free(f->h);
    return 0;
}

/* A node of type t with one `next` slot and an int payload holding value. */
static void *new_node(gpugc_heap *h, gpugc_type t, int value) {
    int *n = gpugc_new(h, t, 1, sizeof(int));
    assert_non_null(n);
    *n = value;
    return n;
}

/* Stores target in obj's slot 0 and drops the caller's own reference to it:
 * afterwards the slot holds the only reference the test created. */
static void link_and_release(gpugc_heap *h, void *obj, void *target) {
    assert_int_equal(gpugc_set_ref(h, obj, 0, target), GPUGC_OK);
    gpugc_decref(h, target);
}

/* ---- the seed example ----------------------------------------------------- */

/* head = Node(1); head.next = Node(2); head.next.next = Node(3); head = None */
static void test_seed_linked_list(void **state) {
    fixture *f = *state;
    void *head = new_node(f->h, f->node, 1);
    void *second = new_node(f->h, f->node, 2);
    void *third = new_node(f->h, f->node, 3);
    link_and_release(f->h, head, second);
    link_and_release(f->h, second, third);

    assert_int_equal(gpugc_object_count(f->h), 3);
    assert_int_equal(gpugc_refcount(f->h, head), 1);
    assert_int_equal(gpugc_refcount(f->h, second), 1);
    assert_int_equal(gpugc_refcount(f->h, third), 1);
    assert_ptr_equal(gpugc_get_ref(f->h, head, 0), second);
    assert_ptr_equal(gpugc_get_ref(f->h, second, 0), third);
    assert_null(gpugc_get_ref(f->h, third, 0));

    gpugc_decref(f->h, head);

    assert_int_equal(cb.destroyed, 3);
    assert_int_equal(gpugc_object_count(f->h), 0);
    /* Each destroy saw its object whole: payload and slot count. */
    int seen = 0;
    for (size_t i = 0; i < cb.destroyed; i++) {
        seen |= 1 << cb.destroyed_values[i];
        assert_int_equal(cb.destroyed_nrefs[i], 1);
    }
    assert_int_equal(seen, (1 << 1) | (1 << 2) | (1 << 3));
    /* Reference counting alone did it: the collector never ran. */
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(f->h, &st, sizeof st), GPUGC_EINVAL);
}

/* ---- arithmetic ---------------------------------------------------------- */

static void test_incref_decref_arithmetic(void **state) {
    fixture *f = *state;
    void *a = gpugc_new(f->h, f->node, 0, 8);
    assert_non_null(a);
    assert_int_equal(gpugc_refcount(f->h, a), 1);

    for (int i = 0; i < 1000; i++)
        gpugc_incref(f->h, a);
    assert_int_equal(gpugc_refcount(f->h, a), 1001);
    for (int i = 0; i < 1000; i++)
        gpugc_decref(f->h, a);
    assert_int_equal(gpugc_refcount(f->h, a), 1);
    assert_int_equal(cb.destroyed, 0);
    assert_int_equal(gpugc_object_count(f->h), 1);

    gpugc_decref(f->h, a);
    assert_int_equal(cb.destroyed, 1);
    assert_int_equal(gpugc_object_count(f->h), 0);
}

static void test_slot_references_count(void **state) {
    fixture *f = *state;
    void *holder = gpugc_new(f->h, f->node, 3, 0);
    void *t = gpugc_new(f->h, f->node, 0, 0);
    assert_non_null(holder);
    assert_non_null(t);

    assert_int_equal(gpugc_set_ref(f->h, holder, 0, t), GPUGC_OK);
    assert_int_equal(gpugc_refcount(f->h, t), 2);
    assert_int_equal(gpugc_set_ref(f->h, holder, 1, t), GPUGC_OK);
    assert_int_equal(gpugc_refcount(f->h, t), 3);
    /* get_ref borrows: no count changes. */
    assert_ptr_equal(gpugc_get_ref(f->h, holder, 1), t);
    assert_int_equal(gpugc_refcount(f->h, t), 3);
    /* Storing the same target again changes nothing. */
    assert_int_equal(gpugc_set_ref(f->h, holder, 1, t), GPUGC_OK);
    assert_int_equal(gpugc_refcount(f->h, t), 3);
    /* Clearing a slot drops one. */
    assert_int_equal(gpugc_set_ref(f->h, holder, 0, NULL), GPUGC_OK);
    assert_null(gpugc_get_ref(f->h, holder, 0));
    assert_int_equal(gpugc_refcount(f->h, t), 2);
    assert_int_equal(gpugc_refcount(f->h, holder), 1);

    /* A self reference counts too. */
    assert_int_equal(gpugc_set_ref(f->h, holder, 2, holder), GPUGC_OK);
    assert_int_equal(gpugc_refcount(f->h, holder), 2);
    assert_int_equal(gpugc_set_ref(f->h, holder, 2, NULL), GPUGC_OK);
    assert_int_equal(gpugc_refcount(f->h, holder), 1);

    /* Dropping the holder releases its slot reference to t. */
    gpugc_decref(f->h, holder);
    assert_int_equal(gpugc_refcount(f->h, t), 1);
    assert_int_equal(cb.destroyed, 1);
    gpugc_decref(f->h, t);
    assert_int_equal(cb.destroyed, 2);
    assert_int_equal(gpugc_object_count(f->h), 0);
}

static void test_set_ref_replacing_last_reference_frees(void **state) {
    fixture *f = *state;
    void *holder = new_node(f->h, f->node, 0);
    void *old = new_node(f->h, f->node, 1);
    void *repl = new_node(f->h, f->node, 2);
    link_and_release(f->h, holder, old); /* the slot holds old's only reference */
    assert_int_equal(gpugc_refcount(f->h, old), 1);

    assert_int_equal(gpugc_set_ref(f->h, holder, 0, repl), GPUGC_OK);
    assert_int_equal(cb.destroyed, 1);
    assert_int_equal(cb.destroyed_values[0], 1);
    assert_int_equal(gpugc_object_count(f->h), 2);
    assert_int_equal(gpugc_refcount(f->h, repl), 2);
    assert_ptr_equal(gpugc_get_ref(f->h, holder, 0), repl);

    /* Re-storing a target whose only reference is this very slot must not
     * free it (the new reference is taken before the old one is dropped). */
    gpugc_decref(f->h, repl);
    assert_int_equal(gpugc_refcount(f->h, repl), 1);
    assert_int_equal(gpugc_set_ref(f->h, holder, 0, repl), GPUGC_OK);
    assert_int_equal(cb.destroyed, 1);
    assert_int_equal(gpugc_refcount(f->h, repl), 1);
    assert_int_equal(*(int *)gpugc_get_ref(f->h, holder, 0), 2);

    /* Clearing the slot frees it. */
    assert_int_equal(gpugc_set_ref(f->h, holder, 0, NULL), GPUGC_OK);
    assert_int_equal(cb.destroyed, 2);
    assert_int_equal(gpugc_object_count(f->h), 1);
    gpugc_decref(f->h, holder);
    assert_int_equal(gpugc_object_count(f->h), 0);
}

/* ---- finalizers ------------------------------------------------------------ */

static void test_finalize_once_before_destroy(void **state) {
    fixture *f = *state;
    void *a = new_node(f->h, f->finalized, 1);
    gpugc_decref(f->h, a);
    assert_int_equal(cb.finalized, 1);
    assert_int_equal(cb.destroyed, 1);
    assert_string_equal(cb.log, "FD");
    assert_int_equal(gpugc_object_count(f->h), 0);
}

static void test_finalize_in_a_cascade(void **state) {
    fixture *f = *state;
    void *a = new_node(f->h, f->finalized, 1);
    void *b = new_node(f->h, f->finalized, 2);
    void *c = new_node(f->h, f->finalized, 3);
    link_and_release(f->h, a, b);
    link_and_release(f->h, b, c);
    gpugc_decref(f->h, a);
    assert_int_equal(cb.finalized, 3);
    assert_int_equal(cb.destroyed, 3);
    /* Every object is finalized before it is destroyed: the log never has
     * more D than F at any prefix. */
    int balance = 0;
    for (size_t i = 0; i < cb.log_len; i++) {
        balance += cb.log[i] == 'F' ? 1 : -1;
        assert_true(balance >= 0);
    }
    assert_int_equal(gpugc_object_count(f->h), 0);
}

static void test_finalizer_resurrects(void **state) {
    fixture *f = *state;
    int *a = new_node(f->h, f->resurrects, 7);
    void *child = new_node(f->h, f->node, 8);
    link_and_release(f->h, a, child);

    gpugc_decref(f->h, a);
    /* Resurrected: finalized, not destroyed, still whole. */
    assert_ptr_equal(cb.stash, a);
    assert_int_equal(cb.finalized, 1);
    assert_int_equal(cb.destroyed, 0);
    assert_int_equal(gpugc_object_count(f->h), 2);
    assert_int_equal(gpugc_refcount(f->h, a), 1);
    assert_int_equal(*a, 7);
    assert_ptr_equal(gpugc_get_ref(f->h, a, 0), child);
    assert_int_equal(gpugc_refcount(f->h, child), 1);
    assert_int_equal(gpugc_validate(f->h), GPUGC_OK);

    /* Its second death does not finalize it again. */
    gpugc_decref(f->h, cb.stash);
    assert_int_equal(cb.finalized, 1);
    assert_int_equal(cb.destroyed, 2);
    assert_string_equal(cb.log, "FDD");
    assert_int_equal(gpugc_object_count(f->h), 0);
}

/* ---- a long chain in bounded stack ------------------------------------------ */

#define LONG_LIST_NODES 10000000u
#define SMALL_STACK (256u * 1024u)

struct drop_job {
    gpugc_heap *h;
    void *head;
};

static void *drop_head(void *arg) {
    struct drop_job *job = arg;
    gpugc_decref(job->h, job->head);
    return NULL;
}

static void test_long_list_drop_uses_bounded_stack(void **state) {
    fixture *f = *state;
    const size_t n = LONG_LIST_NODES;

    /* Build head -> ... -> tail: each new node points to the previous head. */
    void *head = gpugc_new(f->h, f->node, 1, sizeof(int));
    assert_non_null(head);
    for (size_t i = 1; i < n; i++) {
        void *node = gpugc_new(f->h, f->node, 1, sizeof(int));
        if (node == NULL)
            fail_msg("allocation %zu of %zu failed", i, n);
        if (gpugc_set_ref(f->h, node, 0, head) != GPUGC_OK)
            fail_msg("set_ref %zu failed", i);
        gpugc_decref(f->h, head);
        head = node;
    }
    assert_int_equal(gpugc_object_count(f->h), n);

    pthread_attr_t attr;
    pthread_t thread;
    struct drop_job job = {f->h, head};
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
    assert_int_equal(pthread_create(&thread, &attr, drop_head, &job), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pthread_attr_destroy(&attr);

    assert_int_equal(cb.destroyed, n);
    assert_int_equal(gpugc_object_count(f->h), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_linked_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incref_decref_arithmetic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_references_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ref_replacing_last_reference_frees,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalize_once_before_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalize_in_a_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalizer_resurrects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_list_drop_uses_bounded_stack,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

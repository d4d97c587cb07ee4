/* threadpool.c - the team of threads behind the cpu-parallel backend.
 *
 * Between runs the threads sleep on a condition variable, so an idle heap
 * costs no CPU.  Within a run, members meet at barriers: the last to arrive
 * opens it; the others poll for a while (a phase of the mark ends within
 * microseconds of its siblings when every member has a core of its own),
 * yield the core for the last polls (on a loaded machine the member still
 * to come may be waiting for it: a collection of 100 objects on two
 * members took 330 us without the yields, 70 with them), then sleep.  A
 * team larger than the machine's core count never polls: a polling member
 * would only take the core from one that has work.
 */
#include "mark/threadpool.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Barrier polls before sleeping (about 50 us of pauses), the last of them
 * yielding the core. */
#define SPIN_POLLS 2000
#define YIELD_POLLS 50

struct tpool_member {
    tpool *pool;
    unsigned index;
    pthread_t thread;
};

static void *member_main(void *arg) {
    struct tpool_member *m = arg;
    tpool *p = m->pool;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->epoch == seen && !p->stop)
            pthread_cond_wait(&p->wake, &p->mu);
        bool stop = p->stop, member = m->index < p->active;
        seen = p->epoch;
        void (*fn)(void *, unsigned) = p->fn;
        void *fn_arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return NULL;
        if (member) {
            fn(fn_arg, m->index);
            gpugc__tpool_barrier(p);
        }
    }
}

int gpugc__tpool_start(gpugc_heap *h, tpool *p, unsigned n) {
    *p = (tpool){.n = 1, .active = 1};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->spin = cores > 0 && n <= (unsigned long)cores ? SPIN_POLLS : 0;
    atomic_init(&p->arrived, 0);
    atomic_init(&p->opened, 0);
    if (n == 1)
        return GPUGC_OK;
    p->members = gpugc__heap_malloc(h, (n - 1) * sizeof *p->members, "cpu-parallel (threads)");
    if (!p->members)
        return GPUGC_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->passed, NULL);
    /* n counts the members started so far, which gpugc__tpool_stop joins. */
    for (unsigned i = 0; i < n - 1; i++, p->n++) {
        p->members[i] = (struct tpool_member){.pool = p, .index = i + 1};
        int err = pthread_create(&p->members[i].thread, NULL, member_main, &p->members[i]);
        if (err != 0) {
            gpugc__tpool_stop(p);
            return gpugc__set_error(h, GPUGC_ENOMEM, "cpu-parallel: cannot start thread %u of %u: %s",
                             i + 2, n, strerror(err));
        }
    }
    return GPUGC_OK;
}

void gpugc__tpool_stop(tpool *p) {
    if (!p->members)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i + 1 < p->n; i++)
        pthread_join(p->members[i].thread, NULL);
    pthread_cond_destroy(&p->passed);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->members);
    p->members = NULL;
    p->n = 1;
}

void gpugc__tpool_run(tpool *p, unsigned active, void (*fn)(void *arg, unsigned member), void *arg) {
    if (p->members) {
        /* Under mu even for a run of one: a member woken by the run before
         * may still be reading it. */
        pthread_mutex_lock(&p->mu);
        p->active = active;
        p->fn = fn;
        p->arg = arg;
        if (active > 1) {
            p->epoch++;
            pthread_cond_broadcast(&p->wake);
        }
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0);
    gpugc__tpool_barrier(p);
}

void gpugc__tpool_barrier(tpool *p) {
    /* Read before arriving: once the last member is in, member 0 may go on
     * to the next run and change it. */
    unsigned active = p->active;
    if (active == 1)
        return;
    /* This member has seen every barrier before this one open, so `opened`
     * is this barrier's number until the last member arrives. */
    unsigned ticket = atomic_load_explicit(&p->opened, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->arrived, 1, memory_order_acq_rel) == active - 1) {
        /* Reset before opening: no member can arrive at the next barrier
         * before it sees this one open. */
        atomic_store_explicit(&p->arrived, 0, memory_order_relaxed);
        pthread_mutex_lock(&p->mu);
        atomic_store_explicit(&p->opened, ticket + 1, memory_order_release);
        pthread_cond_broadcast(&p->passed);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    for (unsigned i = 0; i < p->spin; i++) {
        if (atomic_load_explicit(&p->opened, memory_order_acquire) != ticket)
            return;
        if (i < p->spin - YIELD_POLLS)
            CPU_RELAX();
        else
            sched_yield(); /* a member still to come may want this core */
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->opened, memory_order_acquire) == ticket)
        pthread_cond_wait(&p->passed, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

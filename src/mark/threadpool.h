/* threadpool.h - a fixed team of threads that run one function together,
 * and the barrier they meet at between the phases of that function.
 *
 * The team is made once (per heap, by the cpu-parallel backend) and sleeps
 * between runs; the calling thread is member 0 of every run, so a team of
 * one starts no thread at all.
 */
#ifndef GPUGC_THREADPOOL_H
#define GPUGC_THREADPOOL_H

#include "heap.h"

#include <pthread.h>
#include <stdatomic.h>


struct tpool_member;

typedef struct tpool {
    unsigned n;                  /* members, the caller of gpugc__tpool_run included */
    unsigned active;             /* members of the current run (set under mu) */
    unsigned spin;               /* barrier polls before sleeping             */
    struct tpool_member *members; /* n - 1 started threads                    */
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* a run starts, or the team stops           */
    pthread_cond_t passed;       /* a barrier opened                          */
    unsigned epoch;              /* runs started (under mu)                   */
    bool stop;                   /* (under mu)                                */
    void (*fn)(void *arg, unsigned member);
    void *arg;
    _Atomic unsigned arrived;    /* members at the current barrier            */
    _Atomic unsigned opened;     /* barriers opened so far                    */
} tpool;

/* Starts n - 1 threads (n >= 1).  GPUGC_OK, or the failure reported on h,
 * with no thread left running. */
int gpugc__tpool_start(gpugc_heap *h, tpool *p, unsigned n);
/* Stops and joins the threads. */
void gpugc__tpool_stop(tpool *p);
/* Runs fn(arg, m) on members m in 0..active-1 (1 <= active <= n), member 0
 * on this thread, and returns when all have returned.  The others sleep on;
 * with active 1 no thread is woken. */
void gpugc__tpool_run(tpool *p, unsigned active, void (*fn)(void *arg, unsigned member), void *arg);
/* Within a run, waits until every member has arrived; everything a member
 * wrote before arriving is visible to all after. */
void gpugc__tpool_barrier(tpool *p);

#endif /* GPUGC_THREADPOOL_H */

/* model.h - the differential model (model.c), shared by the differential
 * suite (test_differential.c) and the fuzzer (fuzz/fuzz_api.c): what a
 * program that drives it provides (its choices, and how a failure is
 * reported) and what it calls, graph by graph. */
#ifndef GPUGC_TEST_MODEL_H
#define GPUGC_TEST_MODEL_H

#include "gpugc.h"

/* ---- provided by the program ------------------------------------------------ */

/* A choice in 0..n-1 (n >= 1).  Every random decision of the model is one
 * call, in an order that depends only on the answers, so the answers are
 * the whole run: a seed repeats it, a fuzzer's input is one. */
int model_rnd(int n);

/* Says what went wrong: before model_fail, and for a report that fails
 * only at the next check (one made inside a library call). */
void model_print(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* A check failed: the run stops here, never returning into the model. */
void model_fail(void);

/* ---- provided by the model -------------------------------------------------- */

/* The error handler to install (gpugc_set_error_handler) while the model
 * runs: a report the model does not expect fails the next check. */
void model_error_handler(gpugc_heap *h, int status, const char *message, void *data);

/* Opens the heap the graphs run on: automatic collection off, the model's
 * types registered. */
void model_open_heap(void);

/* Builds, mutates and collects one graph on the open heap, comparing the
 * library with the model all along.  `graph` names it in failure messages
 * and picks the graphs that make immortal objects.  Returns 1 when it made
 * some: they never die, so the graph must end with model_close_heap. */
int model_run_graph(int graph);

/* Ends a graph by dropping every reference and collecting: the heap must
 * end empty, ready for the next graph. */
void model_drop_everything(void);

/* Ends a graph with gpugc_heap_free on what is alive, checking that each
 * object is destroyed once and finalized no more; the next graph needs
 * model_open_heap. */
void model_close_heap(void);

#endif

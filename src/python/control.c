/* control.c - the collector's controls, as CPython's gc module offers them:
 * per-generation statistics, counts and thresholds, and the callbacks run
 * at the start and stop of every collection. */
#include "python/control.h"

#include <stdarg.h>
#include <string.h>

#include "collect.h"
#include "error.h"
#include "gen.h"

/* ---- statistics, counts, thresholds ------------------------------------- */

int gpugc_get_stats(const gpugc_heap *h, int generation, gpugc_gen_stats *out, size_t size) {
    if (!h || !out)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_stats: %s is NULL", h ? "out" : "heap");
    if (generation < 0 || generation >= GPUGC_GENERATIONS)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_stats: generation %d is not 0, 1 or 2",
                         generation);
    copy_figures(out, size, &h->gen[generation].stats, sizeof h->gen[generation].stats);
    return GPUGC_OK;
}

int gpugc_get_count(const gpugc_heap *h, uint32_t count[GPUGC_GENERATIONS]) {
    if (!h || !count)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_count: %s is NULL", h ? "count" : "heap");
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        count[g] = h->gen[g].count;
    return GPUGC_OK;
}

static int set_threshold(gpugc_heap *h, const uint32_t threshold[GPUGC_GENERATIONS]) {
    if (!threshold)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_set_threshold: threshold is NULL");
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        h->gen[g].threshold = threshold[g];
    return GPUGC_OK;
}

int gpugc_set_threshold(gpugc_heap *h, const uint32_t threshold[GPUGC_GENERATIONS]) {
    int refused = gpugc__enter(h, "gpugc_set_threshold");
    if (refused != GPUGC_OK)
        return refused;
    int r = set_threshold(h, threshold);
    gpugc__leave(h);
    return r;
}

int gpugc_get_threshold(const gpugc_heap *h, uint32_t threshold[GPUGC_GENERATIONS]) {
    if (!h || !threshold)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_get_threshold: %s is NULL",
                         h ? "threshold" : "heap");
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        threshold[g] = h->gen[g].threshold;
    return GPUGC_OK;
}

/* ---- freezing ----------------------------------------------------------- */

static void freeze(gpugc_heap *h) {
    size_t n = 0;
    for (int g = 0; g < GPUGC_GENERATIONS; g++)
        n += h->gen[g].members;
    if (!gpugc__vec_reserve(h, &h->gen[PERMANENT_GEN].ids, n, "gpugc_freeze"))
        return;
    for (uint32_t g = 0; g < GPUGC_GENERATIONS; g++)
        gpugc__gen_merge(h, g, PERMANENT_GEN);
    h->gen[0].count = 0;
}

void gpugc_freeze(gpugc_heap *h) {
    if (gpugc__enter(h, "gpugc_freeze") != GPUGC_OK)
        return;
    if (gpugc__settle(h, "gpugc_freeze") == GPUGC_OK)
        freeze(h);
    gpugc__leave(h);
}

static void unfreeze(gpugc_heap *h) {
    uint32_t oldest = GPUGC_GENERATIONS - 1;
    if (gpugc__vec_reserve(h, &h->gen[oldest].ids, h->gen[PERMANENT_GEN].members, "gpugc_unfreeze"))
        gpugc__gen_merge(h, PERMANENT_GEN, oldest); /* immortal objects stay */
}

void gpugc_unfreeze(gpugc_heap *h) {
    if (gpugc__enter(h, "gpugc_unfreeze") != GPUGC_OK)
        return;
    if (gpugc__settle(h, "gpugc_unfreeze") == GPUGC_OK)
        unfreeze(h);
    gpugc__leave(h);
}

size_t gpugc_get_freeze_count(const gpugc_heap *h) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_get_freeze_count: heap is NULL");
        return 0;
    }
    /* Walks the list, as CPython's does: immortal members are not frozen. */
    const u32vec *v = &h->gen[PERMANENT_GEN].ids;
    size_t n = 0;
    for (size_t k = 0; k < v->n; k++)
        n += gen_listed(h, PERMANENT_GEN, k) && !(h->meta[v->v[k]] & META_IMMORTAL);
    return n;
}

/* ---- debug flags and output --------------------------------------------- */

static int set_debug(gpugc_heap *h, unsigned flags) {
    if (flags & ~(GPUGC_DEBUG_STATS | GPUGC_DEBUG_LEAK))
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_set_debug: unknown flags %#x",
                         flags & ~(GPUGC_DEBUG_STATS | GPUGC_DEBUG_LEAK));
    h->debug = flags;
    return GPUGC_OK;
}

int gpugc_set_debug(gpugc_heap *h, unsigned flags) {
    int refused = gpugc__enter(h, "gpugc_set_debug");
    if (refused != GPUGC_OK)
        return refused;
    int r = set_debug(h, flags);
    gpugc__leave(h);
    return r;
}

unsigned gpugc_get_debug(const gpugc_heap *h) {
    if (!h) {
        gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_get_debug: heap is NULL");
        return 0;
    }
    return h->debug;
}

static void output_stderr(gpugc_heap *h, const char *line, void *data) {
    (void)h;
    (void)data;
    fputs(line, stderr);
}

void gpugc__output_default_for(gpugc_heap *h) {
    h->out = output_stderr;
    h->out_data = NULL;
}

static void set_output(gpugc_heap *h, gpugc_output fn, void *data) {
    if (!fn) {
        gpugc__output_default_for(h);
        return;
    }
    h->out = fn;
    h->out_data = data;
}

void gpugc_set_output(gpugc_heap *h, gpugc_output fn, void *data) {
    if (gpugc__enter(h, "gpugc_set_output") != GPUGC_OK)
        return;
    set_output(h, fn, data);
    gpugc__leave(h);
}

void gpugc__debug_print(gpugc_heap *h, const char *fmt, ...) {
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    h->out(h, line, h->out_data);
}

void gpugc__debug_object(gpugc_heap *h, const char *what, uint32_t id) {
    gpugc__debug_print(h, "gpugc: %s <%.200s %p>\n", what, h->types[meta_type(h->meta[id])].name,
                h->addr[id]);
}

/* ---- callbacks ---------------------------------------------------------- */

static int callbacks_busy(const gpugc_heap *h, const char *fn) {
    return gpugc__set_error(h, GPUGC_EBUSY, "%s: called from a collection callback", fn);
}

static int callback_add(gpugc_heap *h, gpugc_callback fn, void *data) {
    if (!fn)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_callback_add: fn is NULL");
    if (h->busy & BUSY_CALLBACKS)
        return callbacks_busy(h, "gpugc_callback_add");
    if (h->ncallbacks == h->callbacks_cap) {
        callback_entry *c = gpugc__array_grow(h, h->callbacks, &h->callbacks_cap, sizeof *c, 4,
                                       "gpugc_callback_add");
        if (!c)
            return GPUGC_ENOMEM;
        h->callbacks = c;
    }
    h->callbacks[h->ncallbacks++] = (callback_entry){fn, data};
    return GPUGC_OK;
}

int gpugc_callback_add(gpugc_heap *h, gpugc_callback fn, void *data) {
    int refused = gpugc__enter(h, "gpugc_callback_add");
    if (refused != GPUGC_OK)
        return refused;
    int r = callback_add(h, fn, data);
    gpugc__leave(h);
    return r;
}

static int callback_remove(gpugc_heap *h, gpugc_callback fn, void *data) {
    if (!fn)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_callback_remove: fn is NULL");
    if (h->busy & BUSY_CALLBACKS)
        return callbacks_busy(h, "gpugc_callback_remove");
    for (uint32_t k = 0; k < h->ncallbacks; k++) {
        if (h->callbacks[k].fn == fn && h->callbacks[k].data == data) {
            memmove(h->callbacks + k, h->callbacks + k + 1,
                    (h->ncallbacks - k - 1) * sizeof *h->callbacks);
            h->ncallbacks--;
            return GPUGC_OK;
        }
    }
    return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_callback_remove: no such callback");
}

int gpugc_callback_remove(gpugc_heap *h, gpugc_callback fn, void *data) {
    int refused = gpugc__enter(h, "gpugc_callback_remove");
    if (refused != GPUGC_OK)
        return refused;
    int r = callback_remove(h, fn, data);
    gpugc__leave(h);
    return r;
}

/* Runs every callback for one phase.  The heap counts as collecting
 * meanwhile, so a callback cannot start a collection, automatic or not. */
void gpugc__run_callbacks(gpugc_heap *h, gpugc_phase phase, const gpugc_collect_info *info) {
    if (h->ncallbacks == 0)
        return;
    h->busy |= BUSY_COLLECTING | BUSY_CALLBACKS;
    for (uint32_t k = 0; k < h->ncallbacks; k++)
        h->callbacks[k].fn(h, phase, info, h->callbacks[k].data);
    h->busy &= ~(BUSY_COLLECTING | BUSY_CALLBACKS);
}

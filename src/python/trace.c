/* trace.c - allocation tracing in the spirit of Python's tracemalloc: while
 * tracing, every new object records where it was allocated (the site a
 * GPUGC_NEW call names, or "unknown" for plain gpugc_new) and its payload
 * size; snapshots group the traced live objects by type or by site and
 * compare with one another; current and peak traced bytes are kept.
 *
 * State (made by gpugc_trace_start, dropped by gpugc_trace_stop):
 *   rec[id]    site (0 = not traced: allocated before tracing started) and
 *              payload size of each object; grows with the id arrays
 *   sites      (file, line) pairs, site 0 unused; an open-addressing hash
 *              table over them makes the lookup per allocation O(1)
 */
#include "python/trace.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ids.h"

typedef struct trace_rec {
    uint32_t site;
    size_t size;
} trace_rec;

typedef struct trace_site {
    const char *file; /* the caller's string, __FILE__ */
    int line;
} trace_site;

struct trace_state {
    trace_rec *rec;
    trace_site *sites;
    uint32_t nsites, sites_cap;
    uint32_t *table;  /* site indices, 0 = empty; power-of-two size */
    uint32_t table_cap;
    uint64_t current, peak;
};

/* One group of a snapshot: a site and a type, with what is traced there. */
typedef struct snap_entry {
    const char *file;
    int line;
    gpugc_type type;
    uint64_t count, bytes;
} snap_entry;

struct gpugc_trace_snapshot {
    gpugc_heap *heap;    /* for the type names and errors */
    snap_entry *e;
    size_t n;
};

/* ---- starting and stopping ---------------------------------------------- */

/* The id hook of the records, registered while tracing. */
static bool trace_grow(gpugc_heap *h, uint32_t old_cap, uint32_t cap) {
    trace_rec *r = gpugc__heap_realloc(h, h->trace->rec, (size_t)cap * sizeof *r, "gpugc (trace records)");
    if (!r)
        return false;
    memset(r + old_cap, 0, (size_t)(cap - old_cap) * sizeof *r);
    h->trace->rec = r;
    return true;
}

static int trace_start(gpugc_heap *h) {
    if (h->trace)
        return GPUGC_OK;
    trace_state *t = gpugc__heap_malloc(h, sizeof *t, "gpugc_trace_start");
    if (!t)
        return GPUGC_ENOMEM;
    memset(t, 0, sizeof *t);
    size_t nrec = h->cap ? h->cap : 1;
    if (!(t->rec = gpugc__heap_malloc(h, nrec * sizeof *t->rec, "gpugc_trace_start")) ||
        !(t->sites = gpugc__heap_malloc(h, 16 * sizeof *t->sites, "gpugc_trace_start")) ||
        !(t->table = gpugc__heap_malloc(h, 32 * sizeof *t->table, "gpugc_trace_start"))) {
        free(t->rec);
        free(t->sites);
        free(t);
        return GPUGC_ENOMEM;
    }
    memset(t->rec, 0, nrec * sizeof *t->rec);
    memset(t->table, 0, 32 * sizeof *t->table);
    t->nsites = 1;
    t->sites_cap = 16;
    t->table_cap = 32;
    h->trace = t;
    gpugc__id_hook(h, trace_grow, true);
    return GPUGC_OK;
}

int gpugc_trace_start(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_trace_start");
    if (refused != GPUGC_OK)
        return refused;
    int r = trace_start(h);
    gpugc__leave(h);
    return r;
}

static int trace_stop(gpugc_heap *h) {
    gpugc__trace_release(h);
    return GPUGC_OK;
}

int gpugc_trace_stop(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_trace_stop");
    if (refused != GPUGC_OK)
        return refused;
    int r = trace_stop(h);
    gpugc__leave(h);
    return r;
}

void gpugc__trace_release(gpugc_heap *h) {
    trace_state *t = h->trace;
    if (!t)
        return;
    free(t->rec);
    free(t->sites);
    free(t->table);
    free(t);
    h->trace = NULL;
    gpugc__id_hook(h, trace_grow, false);
}

int gpugc_trace_is_tracing(const gpugc_heap *h) {
    if (!h)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_trace_is_tracing: heap is NULL");
    return h->trace != NULL;
}

int gpugc_trace_get_traced_memory(const gpugc_heap *h, uint64_t *current, uint64_t *peak) {
    if (!h || !current || !peak)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_trace_get_traced_memory: %s is NULL",
                         !h ? "heap" : !current ? "current" : "peak");
    *current = h->trace ? h->trace->current : 0;
    *peak = h->trace ? h->trace->peak : 0;
    return GPUGC_OK;
}

static int trace_reset_peak(gpugc_heap *h) {
    if (h->trace)
        h->trace->peak = h->trace->current;
    return GPUGC_OK;
}

int gpugc_trace_reset_peak(gpugc_heap *h) {
    int refused = gpugc__enter(h, "gpugc_trace_reset_peak");
    if (refused != GPUGC_OK)
        return refused;
    int r = trace_reset_peak(h);
    gpugc__leave(h);
    return r;
}

/* ---- recording ---------------------------------------------------------- */

static uint32_t site_hash(const char *file, int line) {
    uint64_t x = (uint64_t)(uintptr_t)file * UINT64_C(0x9e3779b97f4a7c15) ^ (uint32_t)line;
    return (uint32_t)(x ^ (x >> 29));
}

/* Doubles the hash table (kept at most half full). */
static bool table_grow(gpugc_heap *h, trace_state *t) {
    uint32_t cap = t->table_cap * 2;
    uint32_t *nt = gpugc__heap_malloc(h, cap * sizeof *nt, "gpugc_new (trace sites)");
    if (!nt)
        return false;
    memset(nt, 0, cap * sizeof *nt);
    for (uint32_t s = 1; s < t->nsites; s++) {
        uint32_t k = site_hash(t->sites[s].file, t->sites[s].line) & (cap - 1);
        while (nt[k])
            k = (k + 1) & (cap - 1);
        nt[k] = s;
    }
    free(t->table);
    t->table = nt;
    t->table_cap = cap;
    return true;
}

uint32_t gpugc__trace_site_of(gpugc_heap *h, const char *file, int line) {
    trace_state *t = h->trace;
    uint32_t k = site_hash(file, line) & (t->table_cap - 1);
    for (; t->table[k]; k = (k + 1) & (t->table_cap - 1)) {
        const trace_site *s = &t->sites[t->table[k]];
        if (s->file == file && s->line == line)
            return t->table[k];
    }
    /* New site: make room first, so that a failure changes nothing. */
    if (t->nsites == t->sites_cap) {
        trace_site *ns = gpugc__heap_realloc(h, t->sites, 2 * t->sites_cap * sizeof *ns, "gpugc_new (trace sites)");
        if (!ns)
            return 0;
        t->sites = ns;
        t->sites_cap *= 2;
    }
    if (2 * (t->nsites + 1) > t->table_cap) {
        if (!table_grow(h, t))
            return 0;
        return gpugc__trace_site_of(h, file, line);
    }
    t->sites[t->nsites] = (trace_site){file, line};
    t->table[k] = t->nsites;
    return t->nsites++;
}

void gpugc__trace_alloc(gpugc_heap *h, uint32_t id, uint32_t site, size_t size) {
    trace_state *t = h->trace;
    t->rec[id] = (trace_rec){site, size};
    t->current += size;
    if (t->current > t->peak)
        t->peak = t->current;
}

void gpugc__trace_free(gpugc_heap *h, uint32_t id) {
    trace_state *t = h->trace;
    if (t->rec[id].site) {
        t->current -= t->rec[id].size;
        t->rec[id].site = 0;
    }
}

/* ---- snapshots ---------------------------------------------------------- */

static int cmp_file(const char *a, const char *b) {
    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    return strcmp(a, b);
}

static int cmp_site(const snap_entry *a, const snap_entry *b) {
    int c = cmp_file(a->file, b->file);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int cmp_type(const snap_entry *a, const snap_entry *b) {
    return (a->type > b->type) - (a->type < b->type);
}

static int cmp_site_type(const void *pa, const void *pb) {
    int c = cmp_site(pa, pb);
    return c ? c : cmp_type(pa, pb);
}

static int cmp_by_site(const void *a, const void *b) { return cmp_site(a, b); }
static int cmp_by_type(const void *a, const void *b) { return cmp_type(a, b); }

/* Sorts e[0..n) with cmp and merges neighbours that cmp calls equal
 * (summing count and bytes); returns the new length. */
static size_t group(snap_entry *e, size_t n, int (*cmp)(const void *, const void *)) {
    if (n == 0)
        return 0;
    qsort(e, n, sizeof *e, cmp);
    size_t m = 0;
    for (size_t k = 1; k < n; k++) {
        if (cmp(&e[m], &e[k]) == 0) {
            e[m].count += e[k].count;
            e[m].bytes += e[k].bytes;
        } else {
            e[++m] = e[k];
        }
    }
    return m + 1;
}

static gpugc_trace_snapshot *trace_snapshot_take(gpugc_heap *h) {
    if (!h->trace) {
        gpugc__set_error(h, GPUGC_EINVAL, "gpugc_trace_snapshot_take: the heap is not tracing");
        return NULL;
    }
    const trace_state *t = h->trace;
    size_t n = 0;
    for (uint32_t id = 0; id < h->nids; id++)
        n += (h->meta[id] & META_LIVE) && t->rec[id].site;
    gpugc_trace_snapshot *s = gpugc__heap_malloc(h, sizeof *s, "gpugc_trace_snapshot_take");
    snap_entry *e = s ? gpugc__heap_malloc(h, (n ? n : 1) * sizeof *e, "gpugc_trace_snapshot_take") : NULL;
    if (!e) {
        free(s);
        return NULL;
    }
    size_t k = 0;
    for (uint32_t id = 0; id < h->nids; id++) {
        if (!(h->meta[id] & META_LIVE) || !t->rec[id].site)
            continue;
        const trace_site *site = &t->sites[t->rec[id].site];
        e[k++] = (snap_entry){site->file, site->line, meta_type(h->meta[id]), 1, t->rec[id].size};
    }
    s->heap = h;
    s->e = e;
    s->n = group(e, n, cmp_site_type);
    return s;
}

gpugc_trace_snapshot *gpugc_trace_snapshot_take(gpugc_heap *h) {
    if (gpugc__enter(h, "gpugc_trace_snapshot_take") != GPUGC_OK)
        return NULL;
    gpugc_trace_snapshot *r = trace_snapshot_take(h);
    gpugc__leave(h);
    return r;
}

void gpugc_trace_snapshot_free(gpugc_trace_snapshot *s) {
    if (!s)
        return;
    free(s->e);
    free(s);
}

/* The snapshot's groups by key, in key order, in a new array. */
static snap_entry *grouped(const gpugc_trace_snapshot *s, gpugc_trace_key key, size_t *n) {
    snap_entry *e = gpugc__heap_malloc(s->heap, (s->n ? s->n : 1) * sizeof *e, "gpugc_trace (statistics)");
    if (!e)
        return NULL;
    if (s->n)
        memcpy(e, s->e, s->n * sizeof *e);
    *n = group(e, s->n, key == GPUGC_TRACE_BY_SITE ? cmp_by_site : cmp_by_type);
    return e;
}

static gpugc_trace_stat stat_of(const gpugc_trace_snapshot *s, gpugc_trace_key key,
                                const snap_entry *e) {
    gpugc_trace_stat st = {0};
    if (key == GPUGC_TRACE_BY_SITE) {
        st.file = e->file;
        st.line = e->line;
    } else {
        st.type = e->type;
        st.type_name = s->heap->types[e->type].name;
    }
    st.count = e->count;
    st.bytes = e->bytes;
    return st;
}

static int cmp_stat_bytes(const void *pa, const void *pb) {
    const gpugc_trace_stat *a = pa, *b = pb;
    return (a->bytes < b->bytes) - (a->bytes > b->bytes);
}

static uint64_t abs_diff(int64_t d) { return d < 0 ? (uint64_t)-d : (uint64_t)d; }

static int cmp_stat_diff(const void *pa, const void *pb) {
    const gpugc_trace_stat *a = pa, *b = pb;
    uint64_t x = abs_diff(a->bytes_diff), y = abs_diff(b->bytes_diff);
    return x != y ? (x < y) - (x > y) : cmp_stat_bytes(pa, pb);
}

static int check_args(const gpugc_trace_snapshot *s, gpugc_trace_key key, gpugc_trace_stat **out,
                      size_t *n, const char *fn) {
    if (!s || !out || !n)
        return gpugc__set_error(s ? s->heap : NULL, GPUGC_EINVAL, "%s: %s is NULL", fn,
                         !s ? "snapshot" : !out ? "out" : "n");
    if (key != GPUGC_TRACE_BY_TYPE && key != GPUGC_TRACE_BY_SITE)
        return gpugc__set_error(s->heap, GPUGC_EINVAL, "%s: key %d is not a gpugc_trace_key", fn, (int)key);
    return GPUGC_OK;
}

int gpugc_trace_statistics(const gpugc_trace_snapshot *s, gpugc_trace_key key,
                           gpugc_trace_stat **out, size_t *n) {
    int st = check_args(s, key, out, n, "gpugc_trace_statistics");
    if (st != GPUGC_OK)
        return st;
    size_t m;
    snap_entry *e = grouped(s, key, &m);
    gpugc_trace_stat *r = e ? gpugc__heap_malloc(s->heap, (m ? m : 1) * sizeof *r,
                                          "gpugc_trace_statistics") : NULL;
    if (!r) {
        free(e);
        return GPUGC_ENOMEM;
    }
    for (size_t k = 0; k < m; k++)
        r[k] = stat_of(s, key, &e[k]);
    free(e);
    qsort(r, m, sizeof *r, cmp_stat_bytes);
    *out = r;
    *n = m;
    return GPUGC_OK;
}

int gpugc_trace_compare(const gpugc_trace_snapshot *newer, const gpugc_trace_snapshot *older,
                        gpugc_trace_key key, gpugc_trace_stat **out, size_t *n) {
    int st = check_args(newer, key, out, n, "gpugc_trace_compare");
    if (st != GPUGC_OK)
        return st;
    if (!older || older->heap != newer->heap)
        return gpugc__set_error(newer->heap, GPUGC_EINVAL, "gpugc_trace_compare: %s",
                         older ? "the snapshots are of different heaps" : "older is NULL");
    size_t na, nb;
    snap_entry *a = grouped(newer, key, &na), *b = a ? grouped(older, key, &nb) : NULL;
    gpugc_trace_stat *r = b ? gpugc__heap_malloc(newer->heap, (na + nb + 1) * sizeof *r,
                                          "gpugc_trace_compare") : NULL;
    if (!r) {
        free(a);
        free(b);
        return GPUGC_ENOMEM;
    }
    /* Both are in key order: merge them. */
    int (*cmp)(const void *, const void *) = key == GPUGC_TRACE_BY_SITE ? cmp_by_site : cmp_by_type;
    size_t i = 0, j = 0, m = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : cmp(&a[i], &b[j]);
        gpugc_trace_stat x = stat_of(c <= 0 ? newer : older, key, c <= 0 ? &a[i] : &b[j]);
        if (c > 0) { /* only in the older one: all gone */
            x.count_diff = -(int64_t)x.count;
            x.bytes_diff = -(int64_t)x.bytes;
            x.count = x.bytes = 0;
        } else {
            x.count_diff = (int64_t)x.count - (c == 0 ? (int64_t)b[j].count : 0);
            x.bytes_diff = (int64_t)x.bytes - (c == 0 ? (int64_t)b[j].bytes : 0);
        }
        r[m++] = x;
        i += c <= 0;
        j += c >= 0;
    }
    free(a);
    free(b);
    qsort(r, m, sizeof *r, cmp_stat_diff);
    *out = r;
    *n = m;
    return GPUGC_OK;
}

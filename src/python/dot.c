/* dot.c - a picture of the heap: the object graph around given objects, or
 * a bounded sample of it, as Graphviz DOT (what objgraph's show_refs gives
 * Python users).  Nodes are labelled by type, id and reference count;
 * edges by slot index.  The given objects are drawn bold, objects on the
 * garbage list (GPUGC_DEBUG_SAVEALL) filled red, frozen and immortal ones
 * grey; a node whose references lead past the bounds says how many it
 * leaves out. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "object.h"

/* Writes s as the inside of a DOT string. */
static void dot_string(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void dot_node(const gpugc_heap *h, FILE *f, uint32_t id, bool root, bool garbage,
                     uint32_t omitted) {
    uint32_t m = h->meta[id];
    fprintf(f, "  o%u [label=\"", id);
    dot_string(f, h->types[meta_type(m)].name);
    fprintf(f, " #%u\\n", id);
    if (m & META_IMMORTAL)
        fprintf(f, "rc=immortal");
    else
        fprintf(f, "rc=%u", h->rc[id]);
    if (omitted)
        fprintf(f, "\\n+%u more", omitted);
    fprintf(f, "\"");
    bool permanent = (m & META_TRACKED) && meta_gen(m) == PERMANENT_GEN;
    if (garbage)
        fprintf(f, ", style=filled, fillcolor=\"#ff9999\"");
    else if (permanent || (m & META_IMMORTAL))
        fprintf(f, ", style=filled, fillcolor=\"#dddddd\"");
    if (root)
        fprintf(f, ", penwidth=3");
    fprintf(f, "];\n");
}

static int dump_dot(gpugc_heap *h, FILE *f, void *const *objs, size_t nobjs, unsigned depth,
                   size_t max_nodes) {
    if (!f)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_dump_dot: f is NULL");
    if (nobjs && !objs)
        return gpugc__set_error(h, GPUGC_EINVAL, "gpugc_dump_dot: objs is NULL");
    size_t limit = max_nodes ? max_nodes : SIZE_MAX;
    size_t words = ((size_t)h->nids + 63) / 64 + 1;
    uint64_t *in = gpugc__heap_malloc(h, 3 * words * sizeof *in, "gpugc_dump_dot");
    if (!in)
        return GPUGC_ENOMEM;
    uint64_t *roots = in + words, *saved = in + 2 * words;
    memset(in, 0, 3 * words * sizeof *in);
    u32vec order = {0};
    int status = GPUGC_OK;
    for (size_t k = 0; k < nobjs; k++) {
        uint32_t id = gpugc__object_id(h, objs[k], "gpugc_dump_dot");
        if (id == NO_ID) {
            status = h->err;
            goto out;
        }
        bit_set(roots, id);
    }
    /* Which objects: breadth-first from the given ones, level by level up
     * to `depth`; or, with none given, live objects in id order. */
    for (uint32_t id = 0; id < h->nids; id++) {
        bool take = nobjs ? bit_get(roots, id) : (h->meta[id] & META_LIVE) != 0;
        if (take && order.n < limit && !bit_get(in, id)) {
            if ((status = gpugc__vec_push(h, &order, id)) != GPUGC_OK)
                goto out;
            bit_set(in, id);
        }
    }
    for (size_t head = 0, level_end = order.n, level = 0; nobjs && head < order.n; head++) {
        if (head == level_end) {
            level_end = order.n;
            if (++level > depth)
                break;
        }
        if (level == depth)
            continue;
        uint32_t id = order.v[head];
        const uint32_t *s = h->slots + h->slot_off[id];
        for (uint32_t e = 0, n = h->slot_cnt[id]; e < n && order.n < limit; e++) {
            if (s[e] == NO_ID || bit_get(in, s[e]))
                continue;
            if ((status = gpugc__vec_push(h, &order, s[e])) != GPUGC_OK)
                goto out;
            bit_set(in, s[e]);
        }
    }
    for (size_t k = 0; k < h->saved.n; k++)
        bit_set(saved, h->saved.v[k]);

    fprintf(f, "digraph gpugc {\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for (size_t k = 0; k < order.n; k++) {
        uint32_t id = order.v[k], omitted = 0;
        const uint32_t *s = h->slots + h->slot_off[id];
        for (uint32_t e = 0, n = h->slot_cnt[id]; e < n; e++)
            omitted += s[e] != NO_ID && !bit_get(in, s[e]);
        dot_node(h, f, id, bit_get(roots, id), bit_get(saved, id), omitted);
    }
    for (size_t k = 0; k < order.n; k++) {
        uint32_t id = order.v[k];
        const uint32_t *s = h->slots + h->slot_off[id];
        for (uint32_t e = 0, n = h->slot_cnt[id]; e < n; e++)
            if (s[e] != NO_ID && bit_get(in, s[e]))
                fprintf(f, "  o%u -> o%u [label=\"%u\"];\n", id, s[e], e);
    }
    fprintf(f, "}\n");
    if (ferror(f))
        status = gpugc__set_error(h, GPUGC_EINVAL, "gpugc_dump_dot: write failed");
out:
    gpugc__vec_free(&order);
    free(in);
    return status;
}

int gpugc_dump_dot(gpugc_heap *h, FILE *f, void *const *objs, size_t nobjs, unsigned depth,
                   size_t max_nodes) {
    int refused = gpugc__enter(h, "gpugc_dump_dot");
    if (refused != GPUGC_OK)
        return refused;
    int r = dump_dot(h, f, objs, nobjs, depth, max_nodes);
    gpugc__leave(h);
    return r;
}

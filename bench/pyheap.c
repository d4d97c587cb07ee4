/* pyheap.c - the reader of captured Python heaps (bench/pyheap_capture.py
 * writes them; the format is in its docstring and in SCHEMA.md): a heap file
 * becomes a shape whose per-object counts of references from outside are
 * what C code holds.
 *
 * A heap file comes from outside and is read as hostile: every size is
 * bounded by the file's own size before anything is allocated, every slot
 * target and count is checked, the checksum too, and each error names the
 * file and the byte offset of the field that is wrong.
 *
 * Representation: a Python object without tracked referents is still
 * tracked by CPython's collector, and counted in its unreachable set when
 * garbage; a gpugc object without slots is untracked and would only die
 * with its referrers, uncounted.  Such an object gets one empty slot, so
 * that every dumped object is tracked on both sides and a collection's
 * count compares like with like. */
#include "bench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    OFF_MAGIC = 0, OFF_VERSION = 8, OFF_CRC = 12, OFF_OBJECTS = 16, OFF_SLOTS = 24,
    OFF_ROOTS = 32, OFF_UNREACHABLE = 40,
};

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32), one table built once. */
uint32_t bench_crc32(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (table[1] == 0)
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* "NAME: at byte OFFSET: what" into err; returns -1. */
static int fail(char *err, size_t size, const char *name, uint64_t offset, const char *fmt,
                ...) {
    va_list ap;
    int k = snprintf(err, size, "%s: at byte %llu: ", name, (unsigned long long)offset);
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < size)
        vsnprintf(err + k, size - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

int bench_pyheap_header(const char *name, const uint8_t *data, size_t size, bench_capture *c,
                        char *err, size_t errsize) {
    if (size < BENCH_PYHEAP_HEADER)
        return fail(err, errsize, name, size, "truncated: %zu bytes, the header alone is %d",
                    size, BENCH_PYHEAP_HEADER);
    if (memcmp(data + OFF_MAGIC, BENCH_PYHEAP_MAGIC, 8) != 0)
        return fail(err, errsize, name, OFF_MAGIC, "not a captured heap (no \"%s\" magic)",
                    BENCH_PYHEAP_MAGIC);
    uint32_t version = le32(data + OFF_VERSION);
    if (version != BENCH_PYHEAP_VERSION)
        return fail(err, errsize, name, OFF_VERSION, "format version %u; this reader "
                    "reads version %d", version, BENCH_PYHEAP_VERSION);
    /* Each object takes 8 bytes of the file and each slot 4: a count the
     * file's size cannot hold is refused before it sizes anything. */
    uint64_t body = size - BENCH_PYHEAP_HEADER;
    *c = (bench_capture){.crc = le32(data + OFF_CRC), .objects = le64(data + OFF_OBJECTS),
                         .slots = le64(data + OFF_SLOTS), .roots = le64(data + OFF_ROOTS),
                         .unreachable = le64(data + OFF_UNREACHABLE)};
    if (c->objects > body / 8)
        return fail(err, errsize, name, OFF_OBJECTS, "%llu objects; a file of %zu bytes holds "
                    "at most %llu", (unsigned long long)c->objects, size,
                    (unsigned long long)(body / 8));
    if (c->objects >= UINT32_MAX - 1)
        return fail(err, errsize, name, OFF_OBJECTS, "%llu objects, more than a gpugc heap "
                    "holds", (unsigned long long)c->objects);
    body -= 8 * c->objects;
    if (c->slots > body / 4)
        return fail(err, errsize, name, OFF_SLOTS, "%llu slots; the %llu bytes after the "
                    "counts hold at most %llu", (unsigned long long)c->slots,
                    (unsigned long long)body, (unsigned long long)(body / 4));
    if (body != 4 * c->slots)
        return fail(err, errsize, name, BENCH_PYHEAP_HEADER + 8 * c->objects + 4 * c->slots,
                    "%llu bytes of trailing data after the slots",
                    (unsigned long long)(body - 4 * c->slots));
    /* Every object gets at least one slot (see the head of this file). */
    if (c->slots + c->objects >= UINT32_MAX - 1)
        return fail(err, errsize, name, OFF_SLOTS, "%llu slots for %llu objects, more than a "
                    "gpugc heap holds", (unsigned long long)c->slots,
                    (unsigned long long)c->objects);
    if (c->roots > c->objects || c->unreachable > c->objects)
        return fail(err, errsize, name, c->roots > c->objects ? OFF_ROOTS : OFF_UNREACHABLE,
                    "%llu %s among %llu objects", (unsigned long long)(c->roots > c->objects
                    ? c->roots : c->unreachable), c->roots > c->objects ? "roots"
                    : "unreachable objects", (unsigned long long)c->objects);
    return 0;
}

/* Marks every object reachable from one with references from outside
 * (gc_refs > 0 after subtract_refs: the ext counts are exactly that) and
 * flags the rest garbage.  Returns the garbage count, or -1 without memory
 * for the stack. */
static int64_t mark_garbage(bench_shape *s) {
    uint32_t *stack = malloc(s->n * sizeof *stack + 1);
    uint64_t top = 0, reached = 0;
    if (stack == NULL)
        return -1;
    for (uint64_t i = 0; i < s->n; i++)
        s->flags[i] = BENCH_GARBAGE;
    for (uint64_t i = 0; i < s->n; i++)
        if (s->ext[i] > 0) {
            s->flags[i] = BENCH_HELD;
            stack[top++] = (uint32_t)i;
        }
    /* Invariant: an object is on the stack at most once, when its flag
     * stops being BENCH_GARBAGE. */
    while (top > 0) {
        uint32_t i = stack[--top];
        reached++;
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++) {
            uint32_t t = s->dst[k];
            if (t != BENCH_NULL && s->flags[t] == BENCH_GARBAGE) {
                s->flags[t] = 0;
                stack[top++] = t;
            }
        }
    }
    free(stack);
    return (int64_t)(s->n - reached);
}

int bench_pyheap_parse(const char *name, const uint8_t *data, size_t size, bench_shape *s,
                       bench_capture *c, char *err, size_t errsize) {
    *s = (bench_shape){0};
    if (bench_pyheap_header(name, data, size, c, err, errsize) != 0)
        return -1;
    uint32_t crc = bench_crc32(data + BENCH_PYHEAP_HEADER, size - BENCH_PYHEAP_HEADER);
    if (crc != c->crc)
        return fail(err, errsize, name, OFF_CRC, "checksum %08x, the contents' is %08x: the "
                    "file is corrupted", c->crc, crc);
    const uint64_t n = c->objects, at_counts = BENCH_PYHEAP_HEADER, at_ext = at_counts + 4 * n,
                   at_dst = at_ext + 4 * n;
    const uint8_t *counts = data + at_counts, *ext = data + at_ext, *dst = data + at_dst;

    /* The counts first: they must sum to the header's slots, and no
     * prefix may run past them. */
    uint64_t total = 0, padded = 0, ext_total = 0, roots = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t k = le32(counts + 4 * i), e = le32(ext + 4 * i);
        if (k > c->slots - total)
            return fail(err, errsize, name, at_counts + 4 * i, "object %llu's %u slots run "
                        "past the %llu slots the header declares", (unsigned long long)i, k,
                        (unsigned long long)c->slots);
        total += k;
        padded += k > 0 ? k : 1;
        if (e > BENCH_PYHEAP_EXT_MAX)
            return fail(err, errsize, name, at_ext + 4 * i, "object %llu has %u references "
                        "from outside, more than %u", (unsigned long long)i, e,
                        BENCH_PYHEAP_EXT_MAX);
        ext_total += e;
        roots += e > 0;
    }
    if (total != c->slots)
        return fail(err, errsize, name, OFF_SLOTS, "the header declares %llu slots, the "
                    "objects' counts add up to %llu", (unsigned long long)c->slots,
                    (unsigned long long)total);
    /* A replay increfs each count: bounded, so that a hostile file cannot
     * make it run for hours. */
    if (ext_total > BENCH_PYHEAP_EXT_TOTAL_MAX)
        return fail(err, errsize, name, at_ext, "%llu references from outside in all, more "
                    "than %llu", (unsigned long long)ext_total,
                    (unsigned long long)BENCH_PYHEAP_EXT_TOTAL_MAX);
    if (roots != c->roots)
        return fail(err, errsize, name, OFF_ROOTS, "the header declares %llu roots, %llu "
                    "objects have references from outside", (unsigned long long)c->roots,
                    (unsigned long long)roots);
    for (uint64_t k = 0; k < c->slots; k++)
        if (le32(dst + 4 * k) >= n)
            return fail(err, errsize, name, at_dst + 4 * k, "slot %llu names object %u, "
                        "past the %llu objects", (unsigned long long)k, le32(dst + 4 * k),
                        (unsigned long long)n);

    s->n = s->nold = n;
    s->off = malloc((n + 1) * sizeof *s->off);
    s->dst = malloc(padded * sizeof *s->dst + 1);
    s->flags = malloc(n + 1);
    s->ext = malloc(n * sizeof *s->ext + 1);
    if (s->off == NULL || s->dst == NULL || s->flags == NULL || s->ext == NULL) {
        bench_shape_free(s);
        snprintf(err, errsize, "%s: no memory for a shape of %llu objects and %llu slots",
                 name, (unsigned long long)n, (unsigned long long)padded);
        return -1;
    }
    uint64_t at = 0, from = 0; /* the shape's slot, the file's */
    for (uint64_t i = 0; i < n; i++) {
        uint32_t k = le32(counts + 4 * i);
        s->off[i] = (uint32_t)at;
        s->ext[i] = le32(ext + 4 * i);
        if (k == 0)
            s->dst[at++] = BENCH_NULL;
        for (uint32_t j = 0; j < k; j++)
            s->dst[at++] = le32(dst + 4 * from++);
    }
    s->off[n] = (uint32_t)at;
    int64_t garbage = mark_garbage(s);
    if (garbage < 0) {
        bench_shape_free(s);
        snprintf(err, errsize, "%s: no memory to mark %llu objects", name,
                 (unsigned long long)n);
        return -1;
    }
    if ((uint64_t)garbage != c->unreachable) {
        bench_shape_free(s);
        return fail(err, errsize, name, OFF_UNREACHABLE, "the capture recorded %llu objects "
                    "CPython finds unreachable; the graph has %llu",
                    (unsigned long long)c->unreachable, (unsigned long long)garbage);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* pyheap:FILE workloads                                                     */
/* ------------------------------------------------------------------------ */

static bench_workload pyheaps[BENCH_MAX_LIST];
static bench_capture captures[BENCH_MAX_LIST];
static char specs[BENCH_MAX_LIST][BENCH_MAX_SPEC];
static size_t npyheaps;

/* The first `want` bytes of path (all of it: SIZE_MAX) into *data
 * (malloc'd), its size into *size.  0, or -1 with a message in err. */
static int read_file(const char *path, size_t want, uint8_t **data, size_t *size, char *err,
                     size_t errsize) {
    FILE *f = fopen(path, "rb");
    long end = -1;
    *data = NULL;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errsize, "%s: cannot read it", path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    *size = (size_t)end;
    size_t n = want < *size ? want : *size;
    *data = malloc(n + 1);
    int rc = *data != NULL && fread(*data, 1, n, f) == n ? 0 : -1;
    fclose(f);
    if (rc != 0) {
        snprintf(err, errsize, "%s: cannot read its %zu bytes", path, n);
        free(*data);
        *data = NULL;
    }
    return rc;
}

static int pyheap_generate(const bench_params *p, bench_shape *s) {
    const bench_capture *want = p->capture;
    uint8_t *data;
    size_t size;
    char err[512];
    bench_capture c;
    int rc = read_file(want->path, SIZE_MAX, &data, &size, err, sizeof err);
    if (rc == 0)
        rc = bench_pyheap_parse(want->path, data, size, s, &c, err, sizeof err);
    free(data);
    if (rc == 0 && (c.crc != want->crc || c.objects != want->objects)) {
        bench_shape_free(s);
        snprintf(err, sizeof err, "%s: changed since gpugc-bench started", want->path);
        rc = -1;
    }
    if (rc != 0)
        fprintf(stderr, "gpugc-bench: %s\n", err);
    return rc == 0 ? GPUGC_OK : GPUGC_EINVAL;
}

/* Its slots, and one for each object without any. */
static uint64_t pyheap_max_slots(const bench_params *p) {
    return p->capture->slots + p->capture->objects;
}

const bench_workload *bench_workload_pyheap(const char *spec) {
    const bench_workload *known = bench_pyheap_find(spec);
    uint8_t *data;
    size_t size;
    char err[512];
    if (known != NULL)
        return known;
    if (npyheaps == BENCH_MAX_LIST || strlen(spec) >= BENCH_MAX_SPEC) {
        fprintf(stderr, "gpugc-bench: %s: more than %d heap files, or a path longer than %d\n",
                spec, BENCH_MAX_LIST, BENCH_MAX_SPEC - 8);
        return NULL;
    }
    snprintf(specs[npyheaps], sizeof specs[npyheaps], "%s", spec);
    spec = specs[npyheaps];
    const char *path = spec + strlen("pyheap:");
    bench_capture *c = &captures[npyheaps];
    int rc = read_file(path, BENCH_PYHEAP_HEADER, &data, &size, err, sizeof err);
    if (rc == 0)
        rc = bench_pyheap_header(path, data, size, c, err, sizeof err);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "gpugc-bench: %s\n", err);
        return NULL;
    }
    c->path = path;
    pyheaps[npyheaps] = (bench_workload){
        spec, "a captured Python heap", 0, (double)c->unreachable / (double)(c->objects ? c->objects : 1),
        pyheap_generate, pyheap_max_slots, c};
    return &pyheaps[npyheaps++];
}

const bench_workload *bench_pyheap_find(const char *name) {
    for (size_t i = 0; i < npyheaps; i++)
        if (strcmp(pyheaps[i].name, name) == 0)
            return &pyheaps[i];
    return NULL;
}

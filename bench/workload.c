/* workload.c - the graphs gpugc-bench collects, as shapes, and the seeded
 * generator that makes them reproducible: the same parameters and seed give
 * the same bytes on every machine.
 *
 * Every workload splits its n objects into live ones and garbage (a
 * fraction --garbage of them, evenly spread over creation order) and keeps
 * two promises that the measured collections rely on:
 *   - every live object is reachable from a held one, and no live object
 *     references garbage;
 *   - every garbage object is referenced by another garbage object, so
 *     dropping the C references frees none of it: only a collection can.
 * A collection of the whole shape must therefore find exactly its garbage
 * objects that have slots (objects without slots are untracked, as in
 * CPython, and die with the garbage that references them).
 *
 * random    degree d.  Slot 0 follows a random cycle through the live
 *           objects (one through the garbage), so everything is reachable
 *           from any held object; slots 1..d-1 point to random objects
 *           (garbage: live or garbage ones).
 * list      k chains (--chains): object j of the live ones points to j + k,
 *           the k heads are held.  Garbage: k rings.  Marking goes one
 *           object per chain per level: the worst case for breadth-first.
 * tree      a balanced binary tree in breadth-first order, root held.
 *           Garbage: a second tree whose childless nodes point to its root.
 * powerlaw  R-MAT (Graph500's A, B, C = 0.57, 0.19, 0.19, vertex labels
 *           permuted) with d - 1 edges per object, plus slot 0 on a random
 *           cycle as in random; live and garbage are separate graphs.
 * pylike    what a CPython heap looks like: 40% untracked leaves (ints,
 *           strings), containers of 1..8 slots (a tenth of them empty), 4 huge
 *           containers of n/100 slots, every object hung from a random
 *           earlier container; garbage (15% by default) in small rings of
 *           1..8 containers, each ring apart from the others, with leaves
 *           of their own and references out to live objects.
 * wide      4 held objects whose slots hold all the others (n/4 slots
 *           each); each of those points back to a random wide one.
 *           Garbage: one more wide object and its own small ones.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Generator: xoshiro256** seeded through splitmix64                         */
/* ------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rng_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix(&seed);
}

static uint64_t rng_rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) for n <= 2^32 (multiply-shift; the bias is below
 * 2^-32 and the same on every machine). */
static uint32_t rng_below(rng *r, uint64_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* A slot a generator has not decided yet; never left in a finished shape. */
#define UNSET (BENCH_NULL - 1)

void bench_shape_free(bench_shape *s) {
    free(s->off);
    free(s->dst);
    free(s->flags);
    free(s->ext);
    *s = (bench_shape){0};
}

static void *alloc_or_say(size_t count, size_t size, const char *what) {
    void *p = count > SIZE_MAX / size ? NULL : malloc(count * size + 1);
    if (p == NULL)
        fprintf(stderr, "gpugc-bench: no memory for %s (%llu entries)\n", what,
                (unsigned long long)count);
    return p;
}

/* Empty arrays for n objects: off and flags zeroed, dst not yet. */
static int shape_alloc(bench_shape *s, uint64_t n) {
    *s = (bench_shape){.n = n, .nold = n};
    s->off = alloc_or_say(n + 1, sizeof *s->off, "the shape's offsets");
    s->flags = alloc_or_say(n, 1, "the shape's flags");
    if (s->off == NULL || s->flags == NULL)
        return GPUGC_ENOMEM;
    memset(s->off, 0, (n + 1) * sizeof *s->off);
    memset(s->flags, 0, n);
    return GPUGC_OK;
}

/* Before: off[i + 1] holds object i's slot count.  After: off holds
 * offsets and dst is allocated, every slot UNSET.  The slot array of a
 * gpugc heap holds fewer than 2^32 - 1 slots, and so may a shape. */
static int shape_place_slots(bench_shape *s) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < s->n; i++) {
        total += s->off[i + 1];
        if (total >= UINT32_MAX - 1) {
            fprintf(stderr, "gpugc-bench: the graph has more than %u reference slots, "
                    "more than a gpugc heap holds\n", UINT32_MAX - 2);
            return GPUGC_EOVERFLOW;
        }
        s->off[i + 1] = (uint32_t)total;
    }
    s->dst = alloc_or_say(total, sizeof *s->dst, "the shape's slots");
    if (s->dst == NULL)
        return GPUGC_ENOMEM;
    for (uint64_t k = 0; k < total; k++)
        s->dst[k] = UNSET;
    return GPUGC_OK;
}

/* The live and the garbage objects: round(garbage * n) of them garbage,
 * object i when floor((i + 1) G / n) > floor(i G / n).  Flags them and
 * lists each kind in index order into parts (n entries: live first, then
 * garbage); *nlive receives the split. */
static void shape_split(bench_shape *s, double garbage, uint32_t *parts, uint64_t *nlive) {
    uint64_t n = s->n, g = (uint64_t)(garbage * (double)n + 0.5), nd = 0;
    if (g > n)
        g = n;
    for (uint64_t i = 0; i < n; i++) {
        if ((i + 1) * g / n > i * g / n) {
            s->flags[i] |= BENCH_GARBAGE;
            parts[n - g + nd++] = (uint32_t)i;
        } else {
            parts[i - nd] = (uint32_t)i;
        }
    }
    *nlive = n - g;
}

/* Holds round(hold * m) (at least one) of the m live objects, evenly
 * spread: live[floor(k * m / held)] for k < held. */
static void shape_hold(bench_shape *s, const uint32_t *live, uint64_t m, double hold) {
    if (m == 0)
        return;
    uint64_t held = (uint64_t)(hold * (double)m + 0.5);
    held = held < 1 ? 1 : held > m ? m : held;
    for (uint64_t k = 0; k < held; k++)
        s->flags[live[k * m / held]] |= BENCH_HELD;
}

/* Slot 0 of each of the m objects in part follows one uniformly random
 * cycle through all of them (Sattolo's algorithm); next is scratch. */
static void link_cycle(bench_shape *s, rng *r, const uint32_t *part, uint64_t m,
                       uint32_t *next) {
    for (uint64_t j = 0; j < m; j++)
        next[j] = (uint32_t)j;
    for (uint64_t j = m; j-- > 1;) {
        uint32_t k = rng_below(r, j), t = next[j];
        next[j] = next[k];
        next[k] = t;
    }
    for (uint64_t j = 0; j < m; j++)
        s->dst[s->off[part[j]]] = part[next[j]];
}

/* Fisher-Yates. */
static void shuffle(rng *r, uint32_t *a, uint64_t m) {
    for (uint64_t j = m; j-- > 1;) {
        uint32_t k = rng_below(r, j + 1), t = a[j];
        a[j] = a[k];
        a[k] = t;
    }
}

/* Scratch for a generator: the split into parts plus one more array of n
 * entries.  Freed by scratch_free. */
typedef struct scratch {
    uint32_t *parts, *tmp;
    uint64_t nl, ng;
} scratch;

static int scratch_init(scratch *w, bench_shape *s, const bench_params *p) {
    *w = (scratch){0};
    int st = shape_alloc(s, p->n);
    if (st != GPUGC_OK)
        return st;
    w->parts = alloc_or_say(p->n, sizeof *w->parts, "the generator's lists");
    w->tmp = alloc_or_say(p->n, sizeof *w->tmp, "the generator's scratch");
    if (w->parts == NULL || w->tmp == NULL)
        return GPUGC_ENOMEM;
    shape_split(s, p->garbage, w->parts, &w->nl);
    w->ng = p->n - w->nl;
    return GPUGC_OK;
}

static void scratch_free(scratch *w) {
    free(w->parts);
    free(w->tmp);
}

/* Every slot decided: UNSET turns into an empty slot. */
static void shape_seal(bench_shape *s) {
    for (uint64_t k = 0, e = s->n ? s->off[s->n] : 0; k < e; k++)
        if (s->dst[k] == UNSET)
            s->dst[k] = BENCH_NULL;
}

/* ------------------------------------------------------------------------ */
/* random                                                                    */
/* ------------------------------------------------------------------------ */

static int gen_random(const bench_params *p, bench_shape *s) {
    scratch w;
    int st = scratch_init(&w, s, p);
    if (st == GPUGC_OK) {
        for (uint64_t i = 0; i < p->n; i++)
            s->off[i + 1] = p->degree;
        st = shape_place_slots(s);
    }
    if (st == GPUGC_OK) {
        rng r;
        rng_seed(&r, p->seed);
        const uint32_t *live = w.parts, *dead = w.parts + w.nl;
        link_cycle(s, &r, live, w.nl, w.tmp);
        for (uint64_t j = 0; j < w.nl; j++) {
            bench_tick(j, p->n);
            for (uint32_t k = 1; k < p->degree; k++)
                s->dst[s->off[live[j]] + k] = live[rng_below(&r, w.nl)];
        }
        link_cycle(s, &r, dead, w.ng, w.tmp);
        for (uint64_t j = 0; j < w.ng; j++)
            for (uint32_t k = 1; k < p->degree; k++)
                s->dst[s->off[dead[j]] + k] = (uint32_t)rng_below(&r, p->n);
        shape_hold(s, live, w.nl, p->hold);
    }
    scratch_free(&w);
    return st;
}

static uint64_t slots_degree(const bench_params *p) {
    return p->n * p->degree;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */
/* ------------------------------------------------------------------------ */

/* Object j of part points to j + k; the last k point to NULL (chains) or
 * back to their ring's first object (rings). */
static void link_chains(bench_shape *s, const uint32_t *part, uint64_t m,
                        uint64_t k, bool rings) {
    for (uint64_t j = 0; j < m; j++)
        s->dst[s->off[part[j]]] = j + k < m ? part[j + k]
                                  : rings   ? part[j % k]
                                            : BENCH_NULL;
}

static int gen_list(const bench_params *p, bench_shape *s) {
    scratch w;
    int st = scratch_init(&w, s, p);
    if (st == GPUGC_OK) {
        for (uint64_t i = 0; i < p->n; i++)
            s->off[i + 1] = 1;
        st = shape_place_slots(s);
    }
    if (st == GPUGC_OK) {
        uint64_t kl = w.nl < p->chains ? w.nl : p->chains;
        uint64_t kg = w.ng < p->chains ? w.ng : p->chains;
        link_chains(s, w.parts, w.nl, kl, false);
        link_chains(s, w.parts + w.nl, w.ng, kg, true);
        for (uint64_t j = 0; j < kl; j++)
            s->flags[w.parts[j]] |= BENCH_HELD;
    }
    scratch_free(&w);
    return st;
}

static uint64_t slots_one(const bench_params *p) {
    return p->n;
}

/* ------------------------------------------------------------------------ */
/* tree                                                                      */
/* ------------------------------------------------------------------------ */

/* Node j of part has children 2j+1 and 2j+2.  In a garbage tree a node
 * without a first child points to the root instead, which puts every node
 * on a cycle. */
static void link_tree(bench_shape *s, const uint32_t *part, uint64_t m, bool garbage) {
    for (uint64_t j = 0; j < m; j++) {
        uint32_t *slot = s->dst + s->off[part[j]];
        slot[0] = 2 * j + 1 < m ? part[2 * j + 1] : garbage ? part[0] : BENCH_NULL;
        slot[1] = 2 * j + 2 < m ? part[2 * j + 2] : BENCH_NULL;
    }
}

static int gen_tree(const bench_params *p, bench_shape *s) {
    scratch w;
    int st = scratch_init(&w, s, p);
    if (st == GPUGC_OK) {
        for (uint64_t i = 0; i < p->n; i++)
            s->off[i + 1] = 2;
        st = shape_place_slots(s);
    }
    if (st == GPUGC_OK) {
        link_tree(s, w.parts, w.nl, false);
        link_tree(s, w.parts + w.nl, w.ng, true);
        if (w.nl > 0)
            s->flags[w.parts[0]] |= BENCH_HELD;
    }
    scratch_free(&w);
    return st;
}

static uint64_t slots_two(const bench_params *p) {
    return 2 * p->n;
}

/* ------------------------------------------------------------------------ */
/* powerlaw                                                                  */
/* ------------------------------------------------------------------------ */

/* R-MAT quadrant thresholds out of 2^16: A, A+B, A+B+C. */
enum { RMAT_A = 37356, RMAT_AB = 49807, RMAT_ABC = 62259 };

/* One R-MAT edge (u, v) among m vertices: `scale` levels of quadrant
 * choices, four per draw, retried until both ends are below m. */
static void rmat_edge(rng *r, unsigned scale, uint64_t m, uint32_t *u, uint32_t *v) {
    do {
        uint64_t bits = 0;
        *u = *v = 0;
        for (unsigned level = 0; level < scale; level++) {
            if (level % 4 == 0)
                bits = rng_next(r);
            uint32_t q = (uint32_t)(bits & 0xffffu);
            bits >>= 16;
            if (q >= RMAT_ABC) {
                *u |= UINT32_C(1) << level;
                *v |= UINT32_C(1) << level;
            } else if (q >= RMAT_AB) {
                *u |= UINT32_C(1) << level;
            } else if (q >= RMAT_A) {
                *v |= UINT32_C(1) << level;
            }
        }
    } while (*u >= m || *v >= m);
}

/* One part's R-MAT edges: counted into off (fill false) or stored through
 * the cursors (fill true).  The two passes replay the same draws from *r0,
 * which is cheaper in memory than keeping the edge list.  perm relabels
 * vertex u as part[perm[u]]. */
static void rmat_pass(bench_shape *s, const rng *r0, const uint32_t *part,
                      const uint32_t *perm, uint64_t m, uint64_t edges,
                      uint32_t *cursor, bool fill) {
    rng r = *r0;
    unsigned scale = 0;
    while ((UINT64_C(1) << scale) < m)
        scale++;
    for (uint64_t e = 0; e < edges; e++) {
        uint32_t u, v;
        bench_tick(e, edges);
        rmat_edge(&r, scale, m, &u, &v);
        uint32_t from = part[perm[u]], to = part[perm[v]];
        if (fill)
            s->dst[cursor[from]++] = to;
        else
            s->off[from + 1]++;
    }
}

static int gen_powerlaw(const bench_params *p, bench_shape *s) {
    scratch w;
    int st = scratch_init(&w, s, p);
    uint32_t *perm = st == GPUGC_OK ? alloc_or_say(p->n, sizeof *perm, "R-MAT labels") : NULL;
    if (st == GPUGC_OK && perm == NULL)
        st = GPUGC_ENOMEM;
    if (st == GPUGC_OK) {
        rng r, start[2];
        rng_seed(&r, p->seed);
        const uint64_t m[2] = {w.nl, w.ng};
        const uint32_t *part[2] = {w.parts, w.parts + w.nl};
        uint32_t *pm[2] = {perm, perm + w.nl};
        for (int k = 0; k < 2; k++) {
            rng_seed(&start[k], p->seed ^ (0x524d4154u + (uint64_t)k)); /* "RMAT" */
            for (uint64_t j = 0; j < m[k]; j++)
                pm[k][j] = (uint32_t)j;
            shuffle(&r, pm[k], m[k]);
            rmat_pass(s, &start[k], part[k], pm[k], m[k], m[k] * (p->degree - 1), NULL, false);
        }
        for (uint64_t i = 0; i < p->n; i++)
            s->off[i + 1]++; /* slot 0: the cycle */
        st = shape_place_slots(s);
        for (int k = 0; k < 2 && st == GPUGC_OK; k++) {
            link_cycle(s, &r, part[k], m[k], w.tmp);
            for (uint64_t j = 0; j < m[k]; j++)
                w.tmp[part[k][j]] = s->off[part[k][j]] + 1;
            rmat_pass(s, &start[k], part[k], pm[k], m[k], m[k] * (p->degree - 1), w.tmp, true);
        }
        if (st == GPUGC_OK)
            shape_hold(s, w.parts, w.nl, p->hold);
    }
    free(perm);
    scratch_free(&w);
    return st;
}

/* ------------------------------------------------------------------------ */
/* pylike                                                                    */
/* ------------------------------------------------------------------------ */

/* Containers' slot counts 1..8, as cumulative weights out of 100: small
 * tuples, lists, instance dicts. */
static const uint8_t py_cumulative[8] = {20, 45, 65, 77, 85, 91, 96, 100};
enum { PY_LEAF_PCT = 40, PY_EMPTY_PCT = 10, PY_HUGE = 4, PY_HUGE_DIV = 100,
       PY_RING_MAX = 8 };

/* Slot counts: leaves 0, containers 1..8, the huge ones n/100. */
static void py_counts(bench_shape *s, rng *r, const uint32_t *huge, unsigned nhuge,
                      uint32_t huge_slots) {
    for (uint64_t i = 0; i < s->n; i++) {
        uint32_t pct = rng_below(r, 100), k = 0;
        if (pct >= PY_LEAF_PCT) {
            uint32_t c = rng_below(r, 100);
            while (c >= py_cumulative[k])
                k++;
            k++;
        }
        s->off[i + 1] = k;
    }
    for (unsigned h = 0; h < nhuge; h++)
        s->off[huge[h] + 1] = huge_slots;
}

/* Turns leaves of part (from its end) into 2-slot containers until the
 * free slots of its containers (`spare`: slots beyond the one each must
 * give away) are enough for one parent edge per leaf. */
static void py_enough_parents(bench_shape *s, const uint32_t *part, uint64_t m,
                              uint64_t spare) {
    uint64_t leaves = 0;
    for (uint64_t j = 0; j < m; j++)
        leaves += s->off[part[j] + 1] == 0;
    for (uint64_t j = m; j-- > 0 && spare < leaves;) {
        if (s->off[part[j] + 1] == 0) {
            s->off[part[j] + 1] = 2;
            spare += 1;
            leaves -= 1;
        }
    }
}

/* Takes a random entry out of the pool of free slot positions. */
static uint32_t pool_take(rng *r, uint32_t *pool, uint64_t *npool) {
    uint32_t k = rng_below(r, *npool), pos = pool[k];
    pool[k] = pool[--*npool];
    return pos;
}

/* A live target for a filling slot: an object outside the shape (encoded
 * n + k) half the time when there are such, else a random live one. */
static uint32_t py_live_target(rng *r, const bench_params *p, const uint32_t *live,
                               uint64_t nl) {
    if (p->next > 0 && rng_below(r, 2) == 0)
        return (uint32_t)(p->n + rng_below(r, p->next));
    return live[rng_below(r, nl)];
}

/* The live part: every non-huge object hangs from a random free slot of
 * the huge containers or of a container placed before it (containers in
 * random order, then leaves); what is left holds random live objects
 * (10% of small containers' left slots stay empty). */
static void py_live(bench_shape *s, rng *r, const bench_params *p, const uint32_t *live,
                    uint64_t nl, const uint32_t *huge, unsigned nhuge, uint32_t *order,
                    uint32_t *pool) {
    uint64_t npool = 0, norder = 0;
    for (unsigned h = 0; h < nhuge; h++)
        for (uint32_t k = s->off[huge[h]]; k < s->off[huge[h] + 1]; k++)
            pool[npool++] = k;
    for (uint64_t j = 0; j < nl; j++) {
        uint32_t i = live[j];
        bool is_huge = false;
        for (unsigned h = 0; h < nhuge; h++)
            is_huge |= huge[h] == i;
        if (!is_huge && s->off[i + 1] > s->off[i])
            order[norder++] = i;
    }
    shuffle(r, order, norder);
    for (uint64_t j = 0; j < norder; j++) {
        bench_tick(j, norder);
        uint32_t c = order[j];
        s->dst[pool_take(r, pool, &npool)] = c;
        for (uint32_t k = s->off[c]; k < s->off[c + 1]; k++)
            pool[npool++] = k;
    }
    for (uint64_t j = 0; j < nl; j++)
        if (s->off[live[j] + 1] == s->off[live[j]])
            s->dst[pool_take(r, pool, &npool)] = live[j];
    for (unsigned h = 0; h < nhuge; h++)
        for (uint32_t k = s->off[huge[h]]; k < s->off[huge[h] + 1]; k++)
            if (s->dst[k] == UNSET)
                s->dst[k] = py_live_target(r, p, live, nl);
    for (uint64_t j = 0; j < nl; j++) {
        uint32_t i = live[j];
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++)
            if (s->dst[k] == UNSET && rng_below(r, 100) >= PY_EMPTY_PCT)
                s->dst[k] = py_live_target(r, p, live, nl);
    }
}

/* One garbage ring of n containers.  First pass: slot 0 of each points to
 * the next.  Second pass: every slot still open points to a live object
 * (half of them), to a member of the same ring (30%) or nowhere, so that
 * rings stay apart, as the garbage cycles of a program do. */
static void py_ring(bench_shape *s, rng *r, const uint32_t *ring, uint64_t n,
                    const uint32_t *live, uint64_t nl, bool fill) {
    for (uint64_t k = 0; k < n; k++) {
        uint32_t i = ring[k];
        if (!fill) {
            s->dst[s->off[i]] = ring[(k + 1) % n];
            continue;
        }
        for (uint32_t e = s->off[i]; e < s->off[i + 1]; e++) {
            if (s->dst[e] != UNSET)
                continue;
            uint32_t pct = rng_below(r, 100);
            s->dst[e] = pct < 50 && nl > 0 ? live[rng_below(r, nl)]
                      : pct < 80           ? ring[rng_below(r, n)]
                                           : BENCH_NULL;
        }
    }
}

/* The garbage: its containers, in order, in rings of 1..8 (the sizes drawn
 * from their own generator, so that the second pass meets the same
 * rings), and each leaf in a random free slot of some ring. */
static void py_garbage(bench_shape *s, rng *r, uint64_t seed, const uint32_t *dead,
                       uint64_t ng, const uint32_t *live, uint64_t nl, uint32_t *ring,
                       uint32_t *pool) {
    uint64_t npool = 0;
    for (int fill = 0; fill < 2; fill++) {
        rng sizes;
        uint64_t nring = 0, want = 0;
        rng_seed(&sizes, seed ^ 0x52494e47u); /* "RING" */
        for (uint64_t j = 0; j <= ng; j++) {
            if (nring > 0 && (nring == want || j == ng)) {
                py_ring(s, r, ring, nring, live, nl, fill);
                nring = 0;
            }
            if (j == ng || s->off[dead[j] + 1] == s->off[dead[j]])
                continue;
            if (nring == 0)
                want = 1 + rng_below(&sizes, PY_RING_MAX);
            ring[nring++] = dead[j];
            for (uint32_t k = s->off[dead[j]] + 1; !fill && k < s->off[dead[j] + 1]; k++)
                pool[npool++] = k;
        }
        for (uint64_t j = 0; !fill && j < ng; j++)
            if (s->off[dead[j] + 1] == s->off[dead[j]])
                s->dst[pool_take(r, pool, &npool)] = dead[j];
    }
}

static int gen_pylike(const bench_params *p, bench_shape *s) {
    scratch w;
    uint32_t *pool = NULL;
    int st = scratch_init(&w, s, p);
    if (st == GPUGC_OK) {
        rng r;
        rng_seed(&r, p->seed);
        const uint32_t *live = w.parts, *dead = w.parts + w.nl;
        uint32_t huge[PY_HUGE];
        unsigned nhuge = w.nl < PY_HUGE ? (unsigned)w.nl : PY_HUGE;
        uint32_t huge_slots = (uint32_t)(w.nl / PY_HUGE_DIV > 0 ? w.nl / PY_HUGE_DIV : 1);
        for (unsigned h = 0; h < nhuge; h++)
            huge[h] = live[h * w.nl / nhuge];
        py_counts(s, &r, huge, nhuge, huge_slots);

        /* Every leaf needs a free slot to hang from.  A live container
         * takes one free slot (its parent's) and brings k; a garbage one
         * gives slot 0 to its ring; the huge ones are held, not hung: all
         * k of their slots are free. */
        uint64_t spare_live = nhuge, spare_dead = 0;
        for (uint64_t j = 0; j < w.nl; j++)
            if (s->off[live[j] + 1] > 0)
                spare_live += s->off[live[j] + 1] - 1;
        for (uint64_t j = 0; j < w.ng; j++)
            if (s->off[dead[j] + 1] > 0)
                spare_dead += s->off[dead[j] + 1] - 1;
        py_enough_parents(s, live, w.nl, spare_live);
        py_enough_parents(s, dead, w.ng, spare_dead);

        st = shape_place_slots(s);
        if (st == GPUGC_OK) {
            pool = alloc_or_say(s->off[s->n], sizeof *pool, "the generator's slot pool");
            st = pool == NULL ? GPUGC_ENOMEM : GPUGC_OK;
        }
        if (st == GPUGC_OK) {
            py_live(s, &r, p, live, w.nl, huge, nhuge, w.tmp, pool);
            py_garbage(s, &r, p->seed, dead, w.ng, live, w.nl, w.tmp, pool);
            shape_seal(s);
            for (unsigned h = 0; h < nhuge; h++)
                s->flags[huge[h]] |= BENCH_HELD;
            shape_hold(s, live, w.nl, p->hold);
        }
    }
    free(pool);
    scratch_free(&w);
    return st;
}

/* Containers average 3.21 slots and are 60% of the objects; the bound
 * leaves room for chance and the leaves turned into containers. */
static uint64_t slots_pylike(const bench_params *p) {
    return p->n * 23 / 10 + PY_HUGE * (p->n / PY_HUGE_DIV + 1) + 64;
}

/* ------------------------------------------------------------------------ */
/* wide                                                                      */
/* ------------------------------------------------------------------------ */

enum { WIDE_COUNT = 4 };

/* The live part: wide objects live[k * m / W]; the others, in order, are
 * spread round-robin over the wide ones' slots and point back to a random
 * wide one. */
static void wide_live(bench_shape *s, rng *r, const uint32_t *live, uint64_t m, bool place) {
    uint64_t nwide = m < WIDE_COUNT ? m : WIDE_COUNT, w = 0, t = 0;
    uint32_t wide[WIDE_COUNT];
    for (uint64_t k = 0; k < nwide; k++)
        wide[k] = live[k * m / nwide];
    for (uint64_t j = 0; j < m; j++) {
        if (w < nwide && live[j] == wide[w]) {
            w++;
            continue;
        }
        uint32_t owner = wide[t % nwide];
        if (place) {
            s->dst[s->off[owner] + t / nwide] = live[j];
            s->dst[s->off[live[j]]] = wide[rng_below(r, nwide)];
        } else {
            s->off[owner + 1]++;
            s->off[live[j] + 1] = 1;
        }
        t++;
    }
    for (uint64_t k = 0; k < nwide; k++) {
        if (!place && s->off[wide[k] + 1] == 0)
            s->off[wide[k] + 1] = 1; /* a wide object with no one to hold */
        if (place)
            s->flags[wide[k]] |= BENCH_HELD;
    }
}

/* The garbage: dead[0] holds all the others, each of which points back. */
static void wide_garbage(bench_shape *s, const uint32_t *dead, uint64_t m, bool place) {
    if (m == 0)
        return;
    if (!place) {
        s->off[dead[0] + 1] = m > 1 ? (uint32_t)(m - 1) : 1;
        for (uint64_t j = 1; j < m; j++)
            s->off[dead[j] + 1] = 1;
        return;
    }
    if (m == 1)
        s->dst[s->off[dead[0]]] = dead[0];
    for (uint64_t j = 1; j < m; j++) {
        s->dst[s->off[dead[0]] + j - 1] = dead[j];
        s->dst[s->off[dead[j]]] = dead[0];
    }
}

static int gen_wide(const bench_params *p, bench_shape *s) {
    scratch w;
    int st = scratch_init(&w, s, p);
    rng r;
    rng_seed(&r, p->seed);
    if (st == GPUGC_OK) {
        wide_live(s, &r, w.parts, w.nl, false);
        wide_garbage(s, w.parts + w.nl, w.ng, false);
        st = shape_place_slots(s);
    }
    if (st == GPUGC_OK) {
        wide_live(s, &r, w.parts, w.nl, true);
        wide_garbage(s, w.parts + w.nl, w.ng, true);
        shape_seal(s);
    }
    scratch_free(&w);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The table, parameters, pause shapes, counts                               */
/* ------------------------------------------------------------------------ */

const bench_workload bench_workloads[] = {
    {"random", "degree d: a random cycle through all objects, d-1 random edges each",
     2, 0.0, gen_random, slots_degree, NULL},
    {"list", "k long chains (--chains): the worst case for breadth-first marking",
     0, 0.0, gen_list, slots_one, NULL},
    {"tree", "a balanced binary tree", 0, 0.0, gen_tree, slots_two, NULL},
    {"powerlaw", "R-MAT (Graph500) with d-1 edges per object: skewed degrees",
     16, 0.0, gen_powerlaw, slots_degree, NULL},
    {"pylike", "a CPython-like heap: small containers, untracked leaves, "
               "15% garbage cycles, 4 huge containers",
     0, 0.15, gen_pylike, slots_pylike, NULL},
    {"wide", "4 objects holding all the others in their slots", 0, 0.0, gen_wide, slots_two, NULL},
};
const size_t bench_nworkloads = sizeof bench_workloads / sizeof bench_workloads[0];

const bench_workload *bench_workload_find(const char *name) {
    for (size_t i = 0; i < bench_nworkloads; i++)
        if (strcmp(bench_workloads[i].name, name) == 0)
            return &bench_workloads[i];
    return bench_pyheap_find(name);
}

bench_params bench_params_for(const bench_options *o, const bench_workload *w,
                              uint64_t n) {
    const bench_capture *c = w->capture;
    if (c != NULL) /* the file's own figures: its garbage, its roots */
        return (bench_params){
            .n = c->objects,
            .seed = o->seed,
            .degree = 1,
            .garbage = w->default_garbage,
            .hold = c->objects > c->unreachable
                        ? (double)c->roots / (double)(c->objects - c->unreachable) : 0,
            .capture = c,
        };
    return (bench_params){
        .n = n,
        .seed = o->seed,
        .degree = o->degree > 0 ? o->degree : w->default_degree > 0 ? w->default_degree : 1,
        .chains = o->chains,
        .garbage = o->garbage >= 0 ? o->garbage : w->default_garbage,
        .hold = o->hold,
    };
}

int bench_shape_pause(const bench_workload *w, const bench_params *p,
                      const bench_params *young_params, bench_shape *s) {
    const bench_workload *py = bench_workload_find("pylike");
    bench_params yp = *young_params;
    uint64_t young = yp.n;
    bench_shape y = {0};
    uint32_t *ext = NULL;
    int st = w->generate(p, s);
    if (st == GPUGC_OK) {
        ext = alloc_or_say(s->n, sizeof *ext, "the old heap's live objects");
        st = ext == NULL ? GPUGC_ENOMEM : GPUGC_OK;
    }
    if (st == GPUGC_OK) {
        for (uint64_t i = 0; i < s->n; i++)
            if (!(s->flags[i] & BENCH_GARBAGE))
                ext[yp.next++] = (uint32_t)i;
        yp.ext = ext;
        st = py->generate(&yp, &y);
    }
    uint64_t nold = s->n, oslots = nold ? s->off[nold] : 0;
    uint64_t yslots = young ? y.off[young] : 0, n = nold + young;
    if (st == GPUGC_OK && oslots + yslots >= UINT32_MAX - 1) {
        fprintf(stderr, "gpugc-bench: the old and young objects together have more "
                "reference slots than a gpugc heap holds\n");
        st = GPUGC_EOVERFLOW;
    }
    if (st == GPUGC_OK) {
        uint32_t *off = realloc(s->off, (n + 1) * sizeof *off);
        uint32_t *dst = off ? realloc(s->dst, (oslots + yslots + 1) * sizeof *dst) : NULL;
        uint8_t *flags = dst ? realloc(s->flags, n + 1) : NULL;
        if (off)
            s->off = off;
        if (dst)
            s->dst = dst;
        if (flags)
            s->flags = flags;
        if (flags == NULL) {
            fprintf(stderr, "gpugc-bench: no memory for the pause benchmark's graph\n");
            st = GPUGC_ENOMEM;
        }
    }
    if (st == GPUGC_OK) {
        for (uint64_t i = 0; i < young; i++) {
            s->off[nold + i + 1] = (uint32_t)(oslots + y.off[i + 1]);
            s->flags[nold + i] = y.flags[i];
        }
        for (uint64_t k = 0; k < yslots; k++) {
            uint32_t t = y.dst[k];
            s->dst[oslots + k] = t == BENCH_NULL ? t
                               : t < young       ? (uint32_t)(t + nold)
                                                 : ext[t - young];
        }
        s->n = n;
        s->nold = nold;
    }
    free(ext);
    bench_shape_free(&y);
    return st;
}

void bench_shape_count(const bench_shape *s, uint64_t lo, uint64_t hi, bench_counts *c) {
    *c = (bench_counts){.objects = hi - lo};
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t k = s->off[i + 1] - s->off[i];
        bool garbage = s->flags[i] & BENCH_GARBAGE;
        c->slots += k;
        for (uint32_t e = s->off[i]; e < s->off[i + 1]; e++)
            c->edges += s->dst[e] != BENCH_NULL;
        c->tracked += k > 0;
        c->held += (s->flags[i] & BENCH_HELD) != 0;
        c->garbage += garbage;
        c->garbage_tracked += garbage && k > 0;
    }
}

uint64_t bench_shape_bytes(const bench_workload *w, const bench_params *p,
                           uint64_t young) {
    const bench_workload *py = bench_workload_find("pylike");
    bench_params yp = *p;
    yp.n = young;
    uint64_t n = p->n + young;
    uint64_t slots = w->max_slots(p) + (young ? py->max_slots(&yp) : 0);
    uint64_t shape = 4 * (n + 1) + n + 4 * slots;
    /* Scratch at its peak: the split and one more list, the R-MAT labels
     * or pylike's slot pool; a pause shape also holds the young one and
     * the old heap's live list while they are merged. */
    uint64_t scratch = 12 * p->n + 4 * w->max_slots(p);
    if (young)
        scratch = 4 * p->n + 4 * (young + 1) + young + 4 * py->max_slots(&yp) +
                  12 * young;
    return shape + scratch;
}

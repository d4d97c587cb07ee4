/* fuzz_pyheap.c - libFuzzer harness of the captured-heap reader
 * (bench/pyheap.c): any bytes as a heap file, and the same bytes again with
 * the checksum made right, so that inputs get past it to the counts, the
 * slot targets and the mark.  A file refused must be refused with its name
 * and a byte offset inside it; a file read must be a sound shape. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.gpugc"

static void require(int cond) {
    if (!cond)
        abort();
}

/* What every replay relies on: offsets in order, every object with a slot,
 * targets in range, held exactly where counts from outside are, garbage
 * never held and never referenced by a live object, and the header's
 * unreachable count. */
static void check_shape(const bench_shape *s, const bench_capture *c) {
    uint64_t garbage = 0;
    require(s->n == c->objects && s->nold == s->n && s->off[0] == 0);
    for (uint64_t i = 0; i < s->n; i++) {
        require(s->off[i + 1] > s->off[i]);
        require(((s->flags[i] & BENCH_HELD) != 0) == (s->ext[i] > 0));
        bool dead = (s->flags[i] & BENCH_GARBAGE) != 0;
        require(!(dead && s->ext[i] > 0));
        garbage += dead;
        for (uint32_t k = s->off[i]; k < s->off[i + 1]; k++) {
            uint32_t t = s->dst[k];
            require(t == BENCH_NULL || t < s->n);
            require(t == BENCH_NULL || dead || !(s->flags[t] & BENCH_GARBAGE));
        }
    }
    require(s->off[s->n] <= c->slots + c->objects && garbage == c->unreachable);
}

static void parse(const uint8_t *data, size_t size) {
    char err[512];
    bench_shape s;
    bench_capture c;
    if (bench_pyheap_parse(NAME, data, size, &s, &c, err, sizeof err) == 0) {
        check_shape(&s, &c);
        bench_shape_free(&s);
        return;
    }
    require(s.off == NULL && s.dst == NULL && s.flags == NULL && s.ext == NULL);
    const char *at = NAME ": at byte ";
    require(strncmp(err, at, strlen(at)) == 0);
    require(strtoull(err + strlen(at), NULL, 10) <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse(data, size);
    if (size < BENCH_PYHEAP_HEADER)
        return 0;
    uint8_t *sealed = malloc(size);
    require(sealed != NULL);
    memcpy(sealed, data, size);
    uint32_t crc = bench_crc32(sealed + BENCH_PYHEAP_HEADER, size - BENCH_PYHEAP_HEADER);
    for (int k = 0; k < 4; k++)
        sealed[12 + k] = (uint8_t)(crc >> (8 * k));
    parse(sealed, size);
    free(sealed);
    return 0;
}

/* options.c - the options of gpugc_config (GPUGC_OPTIONS in gpugc.h), read
 * from the environment and checked once, by gpugc_heap_new: per kind, one
 * strict parser for the environment's text and one check of the value.
 * The backends then read h->cfg and never the environment, so a bad value
 * fails the heap's creation whatever the backend, and not some later
 * collection that first needs it. */
#include "options.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* How much of a malformed value a message quotes. */
#define QUOTE "%.64s"

/* One option for each X of the table. */
#define OPTION_ONE(kind, field, NAME, dflt, max, doc) +1
enum { NOPTIONS = 0 GPUGC_OPTIONS(OPTION_ONE) };
#undef OPTION_ONE

/* The string options met, whose values get copied at the end. */
typedef struct resolving {
    const char **strings[NOPTIONS];
    unsigned nstrings;
} resolving;

/* ---- the environment's text --------------------------------------------- */

/* Each parser sets *v from the text s of variable var, or reports why not. */

static int env_backend(const char *var, const char *s, gpugc_backend *v, uint32_t max) {
    (void)max;
    if (gpugc_backend_parse(s, v) != GPUGC_OK)
        return gpugc__set_error(NULL, GPUGC_EBACKEND,
                                "gpugc_heap_new: %s=" QUOTE
                                " is not one of auto, cpu, cpu-parallel, opencl, cuda",
                                var, s);
    return GPUGC_OK;
}

/* Decimal digits only: atoi and strtoul take signs, spaces and junk after
 * the number, and atoi turns what is no number into 0. */
static int env_count(const char *var, const char *s, uint32_t *v, uint32_t max) {
    uint32_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint32_t d = (uint32_t)(*p - '0');
        if (d > max || n > (max - d) / 10)
            break; /* n * 10 + d would pass max */
        n = n * 10 + d;
    }
    if (p == s || *p)
        return gpugc__set_error(NULL, GPUGC_EINVAL,
                                "gpugc_heap_new: %s=" QUOTE " is not a count from 0 to %" PRIu32,
                                var, s, max);
    *v = n;
    return GPUGC_OK;
}

static int env_flag(const char *var, const char *s, int *v, uint32_t max) {
    (void)max;
    if ((s[0] != '0' && s[0] != '1') || s[1])
        return gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_heap_new: %s=" QUOTE " is not 0 or 1",
                                var, s);
    *v = s[0] == '1';
    return GPUGC_OK;
}

static int env_string(const char *var, const char *s, const char **v, uint32_t max) {
    (void)var;
    (void)max;
    *v = s;
    return GPUGC_OK;
}

/* ---- the values ------------------------------------------------------------ */

/* Each check takes the value of cfg.<field>, from the configuration or
 * already parsed from the environment, and reports it if out of range. */

static int check_backend(resolving *r, const char *field, gpugc_backend *v, uint32_t max) {
    (void)r;
    (void)max;
    if ((unsigned)*v >= GPUGC_BACKEND_COUNT)
        return gpugc__set_error(NULL, GPUGC_EINVAL, "gpugc_heap_new: cfg.%s = %d is not a gpugc_backend",
                                field, (int)*v);
    return GPUGC_OK;
}

static int check_count(resolving *r, const char *field, uint32_t *v, uint32_t max) {
    (void)r;
    if (*v > max)
        return gpugc__set_error(NULL, GPUGC_EINVAL,
                                "gpugc_heap_new: cfg.%s = %" PRIu32 " is past the maximum, %" PRIu32,
                                field, *v, max);
    return GPUGC_OK;
}

/* Any int is a C truth value; stored as 0 or 1, as the environment's. */
static int check_flag(resolving *r, const char *field, int *v, uint32_t max) {
    (void)r;
    (void)field;
    (void)max;
    *v = *v != 0;
    return GPUGC_OK;
}

/* "" is no string, as NULL is. */
static int check_string(resolving *r, const char *field, const char **v, uint32_t max) {
    (void)field;
    (void)max;
    if (*v && !**v)
        *v = NULL;
    if (*v)
        r->strings[r->nstrings++] = v;
    return GPUGC_OK;
}

/* ---- the whole ------------------------------------------------------------- */

int gpugc__options_resolve(const gpugc_config *given, gpugc_config *out, char **strings) {
    gpugc_config cfg = *given;
    resolving r = {.nstrings = 0};
    const char *env;
    int st = GPUGC_OK;
    *strings = NULL;
    /* The environment first: a value it sets replaces the field's before
     * the checks, so a variable mends a bad field. */
#define OPTION_READ(kind, field, NAME, dflt, max, doc)                                  \
    if (st == GPUGC_OK && (env = getenv("GPUGC_" #NAME)) != NULL && *env)              \
        st = env_##kind("GPUGC_" #NAME, env, &cfg.field, max);
    GPUGC_OPTIONS(OPTION_READ)
#undef OPTION_READ
#define OPTION_CHECK(kind, field, NAME, dflt, max, doc)                                 \
    if (st == GPUGC_OK)                                                                \
        st = check_##kind(&r, #field, &cfg.field, max);
    GPUGC_OPTIONS(OPTION_CHECK)
#undef OPTION_CHECK
    if (st != GPUGC_OK)
        return st;
    /* Copies, since the caller's strings, and the environment's, may
     * change or go while the heap lives. */
    size_t size = 0;
    for (unsigned k = 0; k < r.nstrings; k++)
        size += strlen(*r.strings[k]) + 1;
    if (size) {
        char *block = malloc(size);
        if (!block)
            return gpugc__set_error(NULL, GPUGC_ENOMEM, "gpugc_heap_new: cannot allocate %zu bytes",
                                    size);
        char *p = block;
        for (unsigned k = 0; k < r.nstrings; k++) {
            size_t n = strlen(*r.strings[k]) + 1;
            memcpy(p, *r.strings[k], n);
            *r.strings[k] = p;
            p += n;
        }
        *strings = block;
    }
    *out = cfg;
    return GPUGC_OK;
}

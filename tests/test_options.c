/* test_options.c - the options table (GPUGC_OPTIONS): defaults, the
 * environment over the configuration, one strict parser per kind, checks
 * of the configuration's fields, copied strings, and README.md listing
 * every option.
 *
 * The cases walk the table, so an option added to it is tested here
 * without a new case: every malformed value of its kind fails
 * gpugc_heap_new, on every backend, with one report naming the variable;
 * every good one is what gpugc_config_get then says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpugc.h"

/* ---- the table, as data ----------------------------------------------------- */

typedef enum { KIND_backend, KIND_count, KIND_flag, KIND_string } kind;

typedef struct option {
    kind kind;
    const char *field; /* "threads" */
    const char *var;   /* "GPUGC_THREADS" */
    uint64_t max;      /* counts' largest value */
} option;

static const option options[] = {
#define OPTION_ROW(k, field, NAME, dflt, max, doc) {KIND_##k, #field, "GPUGC_" #NAME, max},
    GPUGC_OPTIONS(OPTION_ROW)
#undef OPTION_ROW
};
#define NOPTIONS (sizeof options / sizeof options[0])

/* One option's value in a configuration, whatever its kind. */
typedef struct value {
    int64_t n;     /* backend, count, flag */
    const char *s; /* string */
} value;

static value get_backend(const gpugc_backend *v) { return (value){.n = *v}; }
static value get_count(const uint32_t *v) { return (value){.n = *v}; }
static value get_flag(const int *v) { return (value){.n = *v}; }
static value get_string(const char *const *v) { return (value){.s = *v}; }

static value value_of(const gpugc_config *cfg, const option *o) {
#define OPTION_GET(k, f, NAME, dflt, max, doc)                                          \
    if (strcmp(o->field, #f) == 0)                                                     \
        return get_##k(&cfg->f);
    GPUGC_OPTIONS(OPTION_GET)
#undef OPTION_GET
    fail_msg("no option %s", o->field);
    return (value){0};
}

/* ---- helpers ---------------------------------------------------------------- */

static struct {
    size_t calls;
    int status;
    char message[512];
} rec;

static void record_error(gpugc_heap *h, int status, const char *message, void *data) {
    (void)h;
    (void)data;
    rec.calls++;
    rec.status = status;
    snprintf(rec.message, sizeof rec.message, "%s", message);
}

static void unset_all(void) {
    for (size_t k = 0; k < NOPTIONS; k++)
        assert_int_equal(unsetenv(options[k].var), 0);
}

static int setup(void **state) {
    (void)state;
    unset_all();
    memset(&rec, 0, sizeof rec);
    gpugc_set_error_handler(NULL, record_error, NULL);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unset_all();
    gpugc_set_error_handler(NULL, NULL, NULL);
    return 0;
}

/* gpugc_heap_new(cfg) with var set to text (NULL: unset), the handler's
 * record cleared first. */
static gpugc_heap *heap_with(gpugc_config *cfg, const char *var, const char *text) {
    if (text)
        assert_int_equal(setenv(var, text, 1), 0);
    memset(&rec, 0, sizeof rec);
    gpugc_heap *h = gpugc_heap_new(cfg);
    assert_int_equal(unsetenv(var), 0);
    return h;
}

/* gpugc_heap_new failed with status, reported once, naming `name`. */
static void expect_failure(gpugc_heap *h, int status, const char *name, const char *text) {
    if (h)
        fail_msg("%s=\"%s\" was taken", name, text);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.status, status);
    assert_int_equal(gpugc_last_error(NULL), status);
    if (!strstr(rec.message, "gpugc_heap_new") || !strstr(rec.message, name))
        fail_msg("message \"%s\" does not name gpugc_heap_new and %s", rec.message, name);
}

/* A backend every build has, for heaps whose backend does not matter. */
static void config_cpu(gpugc_config *cfg) {
    gpugc_config_init(cfg);
    cfg->backend = GPUGC_BACKEND_CPU;
}

/* ---- defaults ------------------------------------------------------------- */

static void test_defaults(void **state) {
    (void)state;
    gpugc_config cfg;
    gpugc_config_init(&cfg);
#define OPTION_DEFAULT(k, field, NAME, dflt, max, doc) assert_true(cfg.field == dflt);
    GPUGC_OPTIONS(OPTION_DEFAULT)
#undef OPTION_DEFAULT
    assert_int_equal(cfg.backend, GPUGC_BACKEND_AUTO);
    assert_int_equal(cfg.threads, 0);
    assert_int_equal(cfg.objects_per_thread, 150000);
    assert_int_equal(cfg.gpu_cpu_handoff, 1);
    assert_null(cfg.opencl_device);

    /* No environment: the effective configuration is the given one. */
    gpugc_heap *h = gpugc_heap_new(NULL);
    assert_non_null(h);
    gpugc_config got;
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    for (size_t k = 0; k < NOPTIONS; k++) {
        value a = value_of(&cfg, &options[k]), b = value_of(&got, &options[k]);
        assert_int_equal(a.n, b.n);
        assert_ptr_equal(a.s, b.s);
    }
    assert_int_equal(got.threshold[0], cfg.threshold[0]);
    assert_int_equal(got.validate, cfg.validate);

    assert_int_equal(gpugc_config_get(NULL, &got), GPUGC_EINVAL);
    assert_int_equal(gpugc_config_get(h, NULL), GPUGC_EINVAL);
    gpugc_heap_free(h);
}

/* ---- malformed values --------------------------------------------------------- */

static const char *const bad_count[] = {
    "abc", "lots", "-1", "+1", " 1", "1 ", "1\n", "1k", "0x10", "1.0", "1e3",
    "99999999999999999999999", "18446744073709551617",
};
static const char *const bad_flag[] = {
    "abc", "2", "-1", "+1", "00", "01", " 1", "1 ", "on", "off", "true", "yes",
};
static const char *const bad_backend[] = {"bogus", "CPU", " cpu", "cpu ", "cpu-parallel2", "gpu"};

/* Every malformed value of every option, on every backend (built in or
 * not: the options are checked before the backend), fails gpugc_heap_new. */
static void test_malformed_env(void **state) {
    (void)state;
    for (int b = 0; b < GPUGC_BACKEND_COUNT; b++) {
        gpugc_config cfg;
        gpugc_config_init(&cfg);
        cfg.backend = (gpugc_backend)b;
        for (size_t k = 0; k < NOPTIONS; k++) {
            const option *o = &options[k];
            const char *const *bad = NULL;
            size_t nbad = 0;
            int status = GPUGC_EINVAL;
            switch (o->kind) {
            case KIND_count:
                bad = bad_count;
                nbad = sizeof bad_count / sizeof bad_count[0];
                break;
            case KIND_flag:
                bad = bad_flag;
                nbad = sizeof bad_flag / sizeof bad_flag[0];
                break;
            case KIND_backend:
                bad = bad_backend;
                nbad = sizeof bad_backend / sizeof bad_backend[0];
                status = GPUGC_EBACKEND;
                break;
            case KIND_string: /* any text names a device */
                break;
            }
            for (size_t i = 0; i < nbad; i++)
                expect_failure(heap_with(&cfg, o->var, bad[i]), status, o->var, bad[i]);
            if (o->kind == KIND_count && o->max < UINT64_MAX) {
                char past[32];
                snprintf(past, sizeof past, "%" PRIu64, o->max + 1);
                expect_failure(heap_with(&cfg, o->var, past), status, o->var, past);
            }
        }
    }
    /* The messages of the issue. */
    gpugc_config cfg;
    config_cpu(&cfg);
    expect_failure(heap_with(&cfg, "GPUGC_THREADS", "abc"), GPUGC_EINVAL, "GPUGC_THREADS=abc", "abc");
    expect_failure(heap_with(&cfg, "GPUGC_GPU_CPU_HANDOFF", "abc"), GPUGC_EINVAL,
                   "GPUGC_GPU_CPU_HANDOFF=abc", "abc");
    expect_failure(heap_with(&cfg, "GPUGC_OBJECTS_PER_THREAD", "lots"), GPUGC_EINVAL,
                   "GPUGC_OBJECTS_PER_THREAD=lots", "lots");
}

/* Fields out of range fail too, naming the field; the environment mends
 * them. */
static void test_malformed_config(void **state) {
    (void)state;
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.backend = (gpugc_backend)GPUGC_BACKEND_COUNT;
    expect_failure(heap_with(&cfg, "GPUGC_BACKEND", NULL), GPUGC_EINVAL, "cfg.backend", "");
    cfg.backend = (gpugc_backend)-1;
    expect_failure(heap_with(&cfg, "GPUGC_BACKEND", NULL), GPUGC_EINVAL, "cfg.backend", "");

    config_cpu(&cfg);
    cfg.threads = GPUGC_MAX_THREADS + 1;
    expect_failure(heap_with(&cfg, "GPUGC_THREADS", NULL), GPUGC_EINVAL, "cfg.threads", "");
    cfg.threads = UINT32_MAX;
    expect_failure(heap_with(&cfg, "GPUGC_THREADS", NULL), GPUGC_EINVAL, "cfg.threads", "");
    gpugc_heap *h = heap_with(&cfg, "GPUGC_THREADS", "2");
    assert_non_null(h);
    gpugc_config got;
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_int_equal(got.threads, 2);
    gpugc_heap_free(h);

    /* Every count field past its maximum, from the table. */
    for (size_t k = 0; k < NOPTIONS; k++) {
        const option *o = &options[k];
        if (o->kind != KIND_count || o->max >= UINT32_MAX)
            continue;
        gpugc_config c;
        config_cpu(&c);
        uint32_t *field = NULL;
        if (strcmp(o->field, "threads") == 0)
            field = &c.threads;
        else if (strcmp(o->field, "objects_per_thread") == 0)
            field = &c.objects_per_thread;
        else
            fail_msg("count option %s: add it here", o->field);
        *field = (uint32_t)o->max + 1;
        char name[64];
        snprintf(name, sizeof name, "cfg.%s", o->field);
        expect_failure(heap_with(&c, o->var, NULL), GPUGC_EINVAL, name, "");
    }

    /* A flag field is a C truth value, kept as 0 or 1. */
    config_cpu(&cfg);
    cfg.gpu_cpu_handoff = 5;
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_int_equal(got.gpu_cpu_handoff, 1);
    gpugc_heap_free(h);
}

/* ---- good values --------------------------------------------------------------- */

static const char *const good_count[] = {"0", "1", "3", "007", "1024"};
static const char *const good_flag[] = {"0", "1"};
/* Backends every build has; "" is unset: the configuration's stays. */
static const char *const good_backend[] = {"auto", "cpu", "cpu-parallel", ""};
static const char *const good_string[] = {"0:0", "some device", "x"};

/* Each good value of each option is the effective one; an empty variable
 * is no variable. */
static void test_good_env(void **state) {
    (void)state;
    for (size_t k = 0; k < NOPTIONS; k++) {
        const option *o = &options[k];
        const char *const *good = NULL;
        size_t ngood = 0;
        switch (o->kind) {
        case KIND_count:
            good = good_count;
            ngood = sizeof good_count / sizeof good_count[0];
            break;
        case KIND_flag:
            good = good_flag;
            ngood = sizeof good_flag / sizeof good_flag[0];
            break;
        case KIND_backend:
            good = good_backend;
            ngood = sizeof good_backend / sizeof good_backend[0];
            break;
        case KIND_string:
            good = good_string;
            ngood = sizeof good_string / sizeof good_string[0];
            break;
        }
        for (size_t i = 0; i < ngood; i++) {
            const char *text = good[i];
            gpugc_config cfg;
            config_cpu(&cfg);
            if (o->kind == KIND_count && strtoull(text, NULL, 10) > o->max)
                continue;
            gpugc_heap *h = heap_with(&cfg, o->var, text);
            if (!h)
                fail_msg("%s=\"%s\" refused: %s", o->var, text, rec.message);
            gpugc_config got;
            assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
            value v = value_of(&got, o), given = value_of(&cfg, o);
            if (!*text) {
                assert_int_equal(v.n, given.n);
                assert_ptr_equal(v.s, given.s);
            } else if (o->kind == KIND_count) {
                assert_int_equal(v.n, (int64_t)strtoull(text, NULL, 10));
            } else if (o->kind == KIND_flag) {
                assert_int_equal(v.n, text[0] == '1');
            } else if (o->kind == KIND_backend) {
                gpugc_backend want;
                assert_int_equal(gpugc_backend_parse(text, &want), GPUGC_OK);
                assert_int_equal(v.n, want);
                assert_int_equal(gpugc_heap_backend(h), want);
            } else {
                assert_non_null(v.s);
                assert_string_equal(v.s, text);
            }
            gpugc_heap_free(h);
        }
    }
    /* The largest counts. */
    gpugc_config cfg;
    config_cpu(&cfg);
    gpugc_heap *h = heap_with(&cfg, "GPUGC_OBJECTS_PER_THREAD", "4294967295");
    assert_non_null(h);
    gpugc_config got;
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_int_equal(got.objects_per_thread, UINT32_MAX);
    gpugc_heap_free(h);
}

/* The environment overrides the configuration, option by option. */
static void test_env_overrides_config(void **state) {
    (void)state;
    gpugc_config cfg;
    config_cpu(&cfg);
    cfg.threads = 3;
    cfg.objects_per_thread = 10;
    cfg.gpu_cpu_handoff = 1;
    cfg.opencl_device = "from-config";
    assert_int_equal(setenv("GPUGC_THREADS", "5", 1), 0);
    assert_int_equal(setenv("GPUGC_OBJECTS_PER_THREAD", "0", 1), 0);
    assert_int_equal(setenv("GPUGC_GPU_CPU_HANDOFF", "0", 1), 0);
    assert_int_equal(setenv("GPUGC_OPENCL_DEVICE", "from-env", 1), 0);
    assert_int_equal(setenv("GPUGC_BACKEND", "cpu-parallel", 1), 0);
    gpugc_heap *h = gpugc_heap_new(&cfg);
    unset_all();
    assert_non_null(h);
    gpugc_config got;
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_int_equal(got.backend, GPUGC_BACKEND_CPU_PARALLEL);
    assert_int_equal(gpugc_heap_backend(h), GPUGC_BACKEND_CPU_PARALLEL);
    assert_int_equal(got.threads, 5);
    assert_int_equal(got.objects_per_thread, 0);
    assert_int_equal(got.gpu_cpu_handoff, 0);
    assert_string_equal(got.opencl_device, "from-env");
    assert_int_equal(got.threshold[0], cfg.threshold[0]);

    /* The team those options made marks every set, however small. */
    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8), *b = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 8);
    assert_true(a && b);
    assert_int_equal(gpugc_set_ref(h, a, 0, b), GPUGC_OK);
    assert_int_equal(gpugc_set_ref(h, b, 0, a), GPUGC_OK);
    gpugc_decref(h, a);
    gpugc_decref(h, b);
    assert_int_equal(gpugc_collect(h, 2), 2);
    gpugc_collection_stats st;
    assert_int_equal(gpugc_last_collection(h, &st, sizeof st), GPUGC_OK);
    assert_int_equal(st.backend, GPUGC_BACKEND_CPU_PARALLEL);
    gpugc_heap_free(h);

    /* Without the environment, the configuration's. */
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_int_equal(got.backend, GPUGC_BACKEND_CPU);
    assert_int_equal(got.threads, 3);
    assert_int_equal(got.objects_per_thread, 10);
    assert_int_equal(got.gpu_cpu_handoff, 1);
    assert_string_equal(got.opencl_device, "from-config");
    gpugc_heap_free(h);
}

/* ---- strings ----------------------------------------------------------------- */

/* The heap keeps its own copy of every string, from the configuration or
 * the environment; "" is no string. */
static void test_strings_copied(void **state) {
    (void)state;
    char buf[32] = "1:2";
    gpugc_config cfg;
    config_cpu(&cfg);
    cfg.opencl_device = buf;
    gpugc_heap *h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    memset(buf, 'z', sizeof buf - 1);
    gpugc_config got;
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_ptr_not_equal(got.opencl_device, buf);
    assert_string_equal(got.opencl_device, "1:2");
    gpugc_heap_free(h);

    assert_int_equal(setenv("GPUGC_OPENCL_DEVICE", "from-env", 1), 0);
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(setenv("GPUGC_OPENCL_DEVICE", "changed", 1), 0);
    assert_int_equal(unsetenv("GPUGC_OPENCL_DEVICE"), 0);
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_string_equal(got.opencl_device, "from-env");
    gpugc_heap_free(h);

    cfg.opencl_device = "";
    h = gpugc_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(gpugc_config_get(h, &got), GPUGC_OK);
    assert_null(got.opencl_device);
    gpugc_heap_free(h);
}

/* A heap that fails after its strings were copied frees them (the
 * sanitizer's leak check sees to it). */
static void test_failure_frees_strings(void **state) {
    (void)state;
    gpugc_config cfg;
    gpugc_config_init(&cfg);
    cfg.opencl_device = "no-such-device-anywhere";
    int tried = 0;
    for (int b = GPUGC_BACKEND_CPU; b < GPUGC_BACKEND_COUNT; b++) {
        cfg.backend = (gpugc_backend)b;
        if (gpugc_backend_available(cfg.backend, NULL, 0) == GPUGC_OK &&
            cfg.backend != GPUGC_BACKEND_OPENCL)
            continue;
        /* Unavailable, refused before the heap is made; or OpenCL, whose
         * device the name matches nowhere, refused after. */
        memset(&rec, 0, sizeof rec);
        assert_null(gpugc_heap_new(&cfg));
        assert_int_equal(gpugc_last_error(NULL), GPUGC_ENODEV);
        tried++;
    }
    if (!tried)
        skip();
}

/* ---- README ----------------------------------------------------------------- */

/* README.md's options table has a row for every option of the table:
 * variable, then field. */
static void test_readme_lists_every_option(void **state) {
    (void)state;
    FILE *f = fopen(GPUGC_SOURCE_DIR "/README.md", "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    for (size_t k = 0; k < NOPTIONS; k++) {
        char row[128];
        snprintf(row, sizeof row, "| `%s` | `cfg.%s` |", options[k].var, options[k].field);
        if (!strstr(text, row))
            fail_msg("README.md has no row \"%s\"", row);
    }
    free(text);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_malformed_env),
        T(test_malformed_config),
        T(test_good_env),
        T(test_env_overrides_config),
        T(test_strings_copied),
        T(test_failure_frees_strings),
        T(test_readme_lists_every_option),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

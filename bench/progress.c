/* progress.c - one progress line on stderr for steps that run longer than a
 * second: silent for short steps, and silent altogether when stderr is not
 * a terminal (CI logs, redirected runs).  Child processes write theirs
 * through gpugc-bench, which decided for them before they started. */
#include "bench.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

static int terminal = -1; /* stderr is a terminal; -1: not asked yet */

static struct {
    char label[160];
    double start, last; /* seconds */
    bool active, shown;
} progress;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void bench_progress_init(void) {
    terminal = isatty(STDERR_FILENO) == 1;
}

void bench_progress_begin(const char *fmt, ...) {
    bench_progress_end();
    if (terminal < 0)
        bench_progress_init();
    progress.active = terminal == 1;
    if (!progress.active)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(progress.label, sizeof progress.label, fmt, ap);
    va_end(ap);
    progress.start = progress.last = now_s();
}

void bench_progress(uint64_t done, uint64_t total) {
    if (!progress.active)
        return;
    double t = now_s();
    if (t - progress.start < 1.0 || t - progress.last < 0.2)
        return;
    progress.last = t;
    progress.shown = true;
    if (total > 0)
        fprintf(stderr, "\r\033[Kgpugc-bench: %s: %3.0f%%", progress.label,
                100.0 * (double)done / (double)total);
    else
        fprintf(stderr, "\r\033[Kgpugc-bench: %s: %.0f s", progress.label, t - progress.start);
}

void bench_progress_end(void) {
    if (progress.shown)
        fputs("\r\033[K", stderr);
    progress.active = progress.shown = false;
}

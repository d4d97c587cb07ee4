/* proc.c - processes and memory.  Each run gets a child process of its own:
 * its peak RSS is then its own, Boehm's heap (which never shrinks) dies
 * with it, and a crash or a hang is recorded instead of taking the
 * comparison down.
 * The parent never touches a backend itself, not even to ask whether it is
 * available: backends may start threads, and threads do not survive fork.
 * Also: spawning the Python scripts, and what this machine has. */
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* /proc and /sys                                                            */
/* ------------------------------------------------------------------------ */

/* The number after `field` in a "Name: value kB" file, in bytes, or 0. */
static uint64_t proc_kib(const char *path, const char *field) {
    char line[256];
    uint64_t v = 0;
    size_t len = strlen(field);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0) {
            v = strtoull(line + len, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

/* A number alone in a file; UINT64_MAX when absent or "max". */
static uint64_t file_number(const char *path) {
    char buf[64];
    uint64_t v = UINT64_MAX;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return v;
    if (fgets(buf, sizeof buf, f) != NULL && buf[0] >= '0' && buf[0] <= '9')
        v = strtoull(buf, NULL, 10);
    fclose(f);
    return v;
}

uint64_t bench_memory_available(void) {
    /* For testing the memory check on any machine: a machine this small. */
    const char *pretend = getenv("GPUGC_BENCH_MEMORY_AVAILABLE");
    if (pretend != NULL && *pretend != '\0')
        return strtoull(pretend, NULL, 10);
    uint64_t avail = proc_kib("/proc/meminfo", "MemAvailable:");
    uint64_t limit = file_number("/sys/fs/cgroup/memory.max");
    uint64_t used = file_number("/sys/fs/cgroup/memory.current");
    if (avail == 0)
        avail = UINT64_MAX; /* cannot tell: refuse nothing */
    if (limit != UINT64_MAX && used != UINT64_MAX) {
        uint64_t left = limit > used ? limit - used : 0;
        if (left < avail)
            avail = left;
    }
    return avail;
}

void bench_machine(char *cpu, size_t cpu_size, unsigned *cores, uint64_t *memory) {
    char line[512];
    snprintf(cpu, cpu_size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            colon += 1 + strspn(colon + 1, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(cpu, cpu_size, "%s", colon);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    *cores = n > 0 ? (unsigned)n : 1;
    *memory = proc_kib("/proc/meminfo", "MemTotal:");
}

/* ------------------------------------------------------------------------ */
/* Child processes                                                           */
/* ------------------------------------------------------------------------ */

static void write_all(int fd, const void *buf, size_t size) {
    while (size > 0) {
        ssize_t k = write(fd, buf, size);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        buf = (const char *)buf + k;
        size -= (size_t)k;
    }
}

const char *bench_status_name(bench_status st) {
    static const char *const names[] = {"ok", "failed", "timeout", "refused", "stopped"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "failed";
}

static double run_timeout;
static volatile sig_atomic_t stop_signal;

void bench_set_run_timeout(double seconds) {
    run_timeout = seconds;
}

static void on_stop(int sig) {
    stop_signal = sig;
}

void bench_catch_stop(void) {
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: poll wakes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int bench_stop_signal(void) {
    return stop_signal;
}

const char *bench_fault(const char *runner) {
    static const char *const kinds[] = {"mark", "crash", "hang"};
    const char *spec = getenv("GPUGC_BENCH_FAULT");
    size_t len = strlen(runner);
    for (const char *p = spec; p != NULL && *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
        if (strncmp(p, runner, len) != 0 || p[len] != ':')
            continue;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            size_t klen = strlen(kinds[k]);
            if (strncmp(p + len + 1, kinds[k], klen) == 0 &&
                (p[len + 1 + klen] == ',' || p[len + 1 + klen] == '\0'))
                return kinds[k];
        }
    }
    return NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits for pid; its wait status, or -1. */
static int reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("gpugc-bench: waitpid");
            return -1;
        }
    return status;
}

/* The message of the last line of a child's stderr: what follows its last
 * "gpugc-bench: " (progress lines may precede it on the line), or the
 * line after its last carriage return.  Empty when there is none. */
static void last_message(const char *tail, size_t len, char *why, size_t size) {
    while (len > 0 && (tail[len - 1] == '\n' || tail[len - 1] == '\r' || tail[len - 1] == ' '))
        len--;
    size_t from = len;
    while (from > 0 && tail[from - 1] != '\n' && tail[from - 1] != '\r')
        from--;
    static const char prefix[] = "gpugc-bench: ";
    for (size_t i = from; i + sizeof prefix - 1 <= len; i++)
        if (memcmp(tail + i, prefix, sizeof prefix - 1) == 0)
            from = i + sizeof prefix - 1;
    if (len - from >= 3 && memcmp(tail + from, "\033[K", 3) == 0)
        from += 3;
    snprintf(why, size, "%.*s", (int)(len - from), tail + from);
}

bench_status bench_in_child(int (*fn)(void *arg, void *buf), void *arg, void *buf,
                            size_t size, const char *what, char *why, size_t why_size) {
    int fd[2], efd[2];
    why[0] = '\0';
    if (pipe(fd) != 0) {
        snprintf(why, why_size, "could not start a process: %s", strerror(errno));
        return BENCH_FAILED;
    }
    if (pipe(efd) != 0) {
        snprintf(why, why_size, "could not start a process: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return BENCH_FAILED;
    }
    fflush(NULL); /* or the child would print the parent's buffers again */
    pid_t pid = stop_signal ? -1 : fork();
    if (pid < 0) {
        if (stop_signal)
            snprintf(why, why_size, "not run: gpugc-bench got signal %d before", (int)stop_signal);
        else
            snprintf(why, why_size, "could not start a process: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            close(fd[i]);
            close(efd[i]);
        }
        return stop_signal ? BENCH_STOPPED : BENCH_FAILED;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        close(fd[0]);
        close(efd[0]);
        dup2(efd[1], STDERR_FILENO);
        close(efd[1]);
        int rc = fn(arg, buf);
        if (rc == 0)
            write_all(fd[1], buf, size);
        close(fd[1]);
        exit(rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    close(fd[1]);
    close(efd[1]);

    /* The result and the child's stderr, until both end, the time is up,
     * or a stop is asked for. */
    struct pollfd pfd[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = efd[0], .events = POLLIN}};
    char tail[1024], chunk[4096];
    size_t got = 0, tlen = 0;
    double deadline = run_timeout > 0 ? now_s() + run_timeout : 0;
    bench_status st = BENCH_OK;
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        if (stop_signal) {
            st = BENCH_STOPPED;
            break;
        }
        int wait_ms = -1;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0) {
                st = BENCH_TIMEOUT;
                break;
            }
            wait_ms = (int)(left * 1e3) + 1;
        }
        if (poll(pfd, 2, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            perror("gpugc-bench: poll");
            st = BENCH_FAILED;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            bool result = i == 0 && got < size;
            ssize_t k = read(pfd[i].fd, result ? (char *)buf + got : chunk,
                             result ? size - got : sizeof chunk);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            } else if (result) {
                got += (size_t)k;
            } else if (i == 1) {
                write_all(STDERR_FILENO, chunk, (size_t)k);
                size_t keep = (size_t)k < sizeof tail ? (size_t)k : sizeof tail;
                if (tlen + keep > sizeof tail) {
                    memmove(tail, tail + tlen + keep - sizeof tail, sizeof tail - keep);
                    tlen = sizeof tail - keep;
                }
                memcpy(tail + tlen, chunk + (size_t)k - keep, keep);
                tlen += keep;
            }
        }
    }
    if (st != BENCH_OK)
        kill(pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    int status = reap(pid);
    if (st == BENCH_TIMEOUT)
        snprintf(why, why_size, "timed out after %g s (killed)", run_timeout);
    else if (st == BENCH_STOPPED)
        snprintf(why, why_size, "gpugc-bench got signal %d (%s) while it ran: killed",
                 (int)stop_signal, strsignal((int)stop_signal));
    else if (status >= 0 && WIFSIGNALED(status))
        snprintf(why, why_size, "died of signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (status < 0 || WEXITSTATUS(status) != 0 || got != size) {
        last_message(tail, tlen, why, why_size);
        if (why[0] == '\0')
            snprintf(why, why_size, status >= 0 && WEXITSTATUS(status) != 0
                                        ? "exited with status %d" : "ended without a result",
                     status >= 0 ? WEXITSTATUS(status) : -1);
    } else
        return BENCH_OK;
    if (st == BENCH_OK)
        st = BENCH_FAILED;
    fprintf(stderr, "gpugc-bench: %s: %s: %s\n", what, bench_status_name(st), why);
    return st;
}

typedef struct isolated_run {
    const bench_runner *r;
    const bench_job *job;
} isolated_run;

uint64_t bench_rss_reset(void) {
    /* "5" resets the peak to the current RSS (Linux 4.0+).  Without it
     * growth is still right, the peak may be the parent's. */
    FILE *clear = fopen("/proc/self/clear_refs", "w");
    if (clear != NULL) {
        fputs("5", clear);
        fclose(clear);
    }
    return proc_kib("/proc/self/status", "VmRSS:");
}

uint64_t bench_peak_rss(void) {
    return proc_kib("/proc/self/status", "VmHWM:");
}

void bench_fault_crash_or_hang(const char *fault) {
    if (fault != NULL && strcmp(fault, "crash") == 0)
        abort();
    while (fault != NULL && strcmp(fault, "hang") == 0)
        pause();
}

/* In the child: the run, and its RSS unless the runner measured it. */
static int run_child(void *arg, void *buf) {
    const isolated_run *ir = arg;
    bench_result *res = buf;
    bench_fault_crash_or_hang(bench_fault(ir->r->name));
    uint64_t before = bench_rss_reset();
    int rc = ir->r->run(ir->r, ir->job, res);
    if (res->peak_rss == 0) {
        res->peak_rss = bench_peak_rss();
        res->rss_growth = res->peak_rss > before ? res->peak_rss - before : 0;
    }
    return rc;
}

bench_status bench_run_isolated(const bench_runner *r, const bench_job *job,
                                bench_result *res, char *why, size_t why_size) {
    isolated_run ir = {r, job};
    char what[64];
    snprintf(what, sizeof what, "the %s run", r->name);
    return bench_in_child(run_child, &ir, res, sizeof *res, what, why, why_size);
}

typedef struct availability {
    int rc;
    char why[256];
} availability;

static int available_child(void *arg, void *buf) {
    const bench_runner *r = arg;
    availability *a = buf;
    a->rc = r->available(r, a->why, sizeof a->why);
    return 0;
}

int bench_available_isolated(const bench_runner *r, char *why, size_t size) {
    availability a = {0};
    char what[64], failed[200];
    snprintf(what, sizeof what, "asking whether %s is available", r->name);
    if (bench_in_child(available_child, (void *)r, &a, sizeof a, what, failed,
                       sizeof failed) != BENCH_OK) {
        snprintf(why, size, "asking whether it is available failed: %s", failed);
        return -1;
    }
    snprintf(why, size, "%s", a.why);
    return a.rc;
}

int bench_spawn(char *const argv[], char **out) {
    int fd[2];
    size_t len = 0, cap = 4096;
    *out = malloc(cap);
    if (*out == NULL || pipe(fd) != 0) {
        fprintf(stderr, "gpugc-bench: cannot run %s: %s\n", argv[0], strerror(errno));
        free(*out);
        *out = NULL;
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("gpugc-bench: fork");
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[1]);
        execv(argv[0], argv);
        fprintf(stderr, "gpugc-bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    for (;;) {
        if (len + 1 == cap) {
            char *p = realloc(*out, cap * 2);
            if (p == NULL)
                break;
            *out = p;
            cap *= 2;
        }
        ssize_t k = read(fd[0], *out + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd[0]);
    (*out)[len] = '\0';
    int status = reap(pid);
    if (status >= 0 && WIFSIGNALED(status)) {
        fprintf(stderr, "gpugc-bench: %s died of signal %d (%s)\n",
                argv[1] != NULL ? argv[1] : argv[0], WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return -1;
    }
    return status < 0 ? -1 : WEXITSTATUS(status);
}

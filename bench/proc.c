/* proc.c - processes and memory.  Each run gets a child process of its own:
 * its peak RSS is then its own, Boehm's heap (which never shrinks) dies
 * with it, and a crash is reported instead of taking the comparison down.
 * The parent never touches a backend itself, not even to ask whether it is
 * available: backends may start threads, and threads do not survive fork.
 * Also: spawning the Python scripts, and what this machine has. */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static int read_all(int fd, void *buf, size_t size, size_t *got) {
    *got = 0;
    while (*got < size) {
        ssize_t k = read(fd, (char *)buf + *got, size - *got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -1 : 0;
        *got += (size_t)k;
    }
    return 0;
}

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

/* Waits for pid; its exit status, or -1 with a message if it died. */
static int reap(pid_t pid, const char *what) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("gpugc-bench: waitpid");
            return -1;
        }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "gpugc-bench: %s died of signal %d (%s)\n", what,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
        return -1;
    }
    return WEXITSTATUS(status);
}

int bench_in_child(int (*fn)(void *arg, void *buf), void *arg, void *buf, size_t size,
                    const char *what) {
    int fd[2];
    if (pipe(fd) != 0) {
        perror("gpugc-bench: pipe");
        return -1;
    }
    fflush(NULL); /* or the child would print the parent's buffers again */
    pid_t pid = fork();
    if (pid < 0) {
        perror("gpugc-bench: fork");
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        int rc = fn(arg, buf);
        if (rc == 0)
            write_all(fd[1], buf, size);
        close(fd[1]);
        exit(rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    close(fd[1]);
    size_t got;
    read_all(fd[0], buf, size, &got);
    close(fd[0]);
    int status = reap(pid, what);
    if (status != 0 || got != size) {
        if (status >= 0)
            fprintf(stderr, "gpugc-bench: %s failed\n", what);
        return -1;
    }
    return 0;
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

/* In the child: the run, and its RSS unless the runner measured it. */
static int run_child(void *arg, void *buf) {
    const isolated_run *ir = arg;
    bench_result *res = buf;
    uint64_t before = bench_rss_reset();
    int rc = ir->r->run(ir->r, ir->job, res);
    if (res->peak_rss == 0) {
        res->peak_rss = bench_peak_rss();
        res->rss_growth = res->peak_rss > before ? res->peak_rss - before : 0;
    }
    return rc;
}

int bench_run_isolated(const bench_runner *r, const bench_job *job, bench_result *res) {
    isolated_run ir = {r, job};
    char what[64];
    snprintf(what, sizeof what, "the %s run", r->name);
    return bench_in_child(run_child, &ir, res, sizeof *res, what);
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
    char what[64];
    snprintf(what, sizeof what, "asking whether %s is available", r->name);
    if (bench_in_child(available_child, (void *)r, &a, sizeof a, what) != 0) {
        snprintf(why, size, "asking whether it is available failed");
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
    return reap(pid, argv[1] != NULL ? argv[1] : argv[0]);
}

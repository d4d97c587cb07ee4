"""peer_programs.py - gpugc-bench's whole programs in Python, for CPython.

    python3 peer_programs.py PROGRAM DEPTH OBJECTS STEPS CYCLES SEED

PROGRAM is binary-trees, gcbench or interp, written as the C runners write
them (prog_gpugc.c, prog_bdwgc.c, prog_malloc.c): nodes are instances of
__slots__ classes, interp's objects keep their slots in a list and draw the
same steps from the same seed (program.c's bench_interp_next).  The
collector runs as it does for any program (automatic, CPython's
thresholds); gc.callbacks counts and times every collection.  The script
times the program alone, not the interpreter's start, and prints one flat
JSON object on stdout: the check values, the times, the collections per
generation, the longest pause and the 99th percentile (nearest rank) of
the pauses, each a whole collection, peak RSS (VmHWM).
"""
import gc
import json
import platform
import sys
import time

M64 = (1 << 64) - 1


class Collections:
    """gc.callbacks: every collection's start and stop."""

    def __init__(self):
        self.started = 0
        self.total = self.longest = 0
        self.per_gen = [0, 0, 0]
        self.pauses = []

    def __call__(self, phase, info):
        now = time.perf_counter_ns()
        if phase == "start":
            self.started = now
            return
        d = now - self.started
        self.total += d
        self.longest = max(self.longest, d)
        self.per_gen[info["generation"]] += 1
        self.pauses.append(d)

    def p99(self):
        """The nearest-rank 99th percentile, as concurrent.c computes it."""
        if not self.pauses:
            return 0
        ranked = sorted(self.pauses)
        return ranked[max(0, -(-99 * len(ranked) // 100) - 1)]


# -------------------------------------------------------------------------
# binary-trees and gcbench


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


class GNode:
    """GCBench's node: two children and two ints."""
    __slots__ = ("left", "right", "i", "j")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right
        self.i = 0
        self.j = 0


def make_tree(d, cls):
    if d == 0:
        return cls(None, None)
    return cls(make_tree(d - 1, cls), make_tree(d - 1, cls))


def check_tree(n):
    return 1 if n.left is None else 1 + check_tree(n.left) + check_tree(n.right)


def binary_trees(depth, checks):
    lo = 4
    hi = max(depth, lo + 2)
    checks.append(check_tree(make_tree(hi + 1, Node)))
    long_lived = make_tree(hi, Node)
    for d in range(lo, hi + 1, 2):
        check = 0
        for _ in range(1 << (hi - d + lo)):
            check += check_tree(make_tree(d, Node))
        checks.append(check)
    checks.append(check_tree(long_lived))


ARRAY_SIZE = 500000


def populate(d, n):
    if d == 0:
        return
    n.left = GNode()
    n.right = GNode()
    populate(d - 1, n.left)
    populate(d - 1, n.right)


def tree_size(d):
    return (1 << (d + 1)) - 1


def gcbench(depth, checks):
    stretch = depth + 2
    checks.append(check_tree(make_tree(stretch, GNode)))
    long_lived = GNode()
    populate(depth, long_lived)
    array = [0.0] * ARRAY_SIZE
    for i in range(1, ARRAY_SIZE // 2):
        array[i] = 1.0 / i
    for d in range(4, depth + 1, 2):
        iterations = 2 * tree_size(stretch) // tree_size(d)
        check = 0
        for i in range(iterations):
            t = GNode()
            populate(d, t)
            if i + 1 == iterations:
                check += check_tree(t)
        for i in range(iterations):
            t = make_tree(d, GNode)
            if i + 1 == iterations:
                check += check_tree(t)
        checks.append(check)
    checks.append(check_tree(long_lived))
    checks.append(round(array[1000] * 1000))


# -------------------------------------------------------------------------
# interp


class Obj:
    """An object with an id and its slots, a list (None without slots)."""
    __slots__ = ("id", "refs")


SLOT_COUNTS = (0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8)


def interp(objects, steps, cycles, seed, checks):
    n = objects
    table = [None] * n
    created = 0
    rng = seed
    cyc = int(cycles * 65536.0 + 0.5)
    rest = 65536 - min(cyc, 65536)
    t_cycle = 65536 - rest
    t_create = t_cycle + rest * 40 // 100
    t_link = t_create + rest * 30 // 100
    t_resize = t_link + rest * 10 // 100

    def new(k):
        nonlocal created
        created += 1
        o = Obj()
        o.id = created
        o.refs = [None] * k if k else None
        return o

    for step in range(n + steps):
        # splitmix64, as program.c draws it
        rng = (rng + 0x9E3779B97F4A7C15) & M64
        z = rng
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        if step < n:
            o = new(SLOT_COUNTS[z & 15])
            j = (z >> 8) % n
            refs = o.refs
            if refs:
                for s in range(len(refs)):
                    refs[s] = table[(j + s) % n]
            table[step] = o
            continue
        p = z & 0xFFFF
        i = (z >> 20) % n
        if p < t_link:
            rng = (rng + 0x9E3779B97F4A7C15) & M64
            y = rng
            y = ((y ^ (y >> 30)) * 0xBF58476D1CE4E5B9) & M64
            y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & M64
            y ^= y >> 31
            j = (y >> 8) % n
            if p < t_cycle:
                k = 2 + (y & 3)
                ring = [new(2) for _ in range(k)]
                for q in range(k):
                    ring[q].refs[0] = ring[(q + 1) % k]
                    ring[q].refs[1] = table[(j + q) % n]
                table[i] = ring[0]
            elif p < t_create:
                o = new(SLOT_COUNTS[y & 15])
                refs = o.refs
                if refs:
                    for s in range(len(refs)):
                        refs[s] = table[(j + s) % n]
                table[i] = o
            else:
                a = table[i]
                if a is not None and a.refs:
                    a.refs[(y >> 56) % len(a.refs)] = table[j]
        elif p < t_resize:
            a = table[i]
            if a is not None:
                k = SLOT_COUNTS[(z >> 16) & 15]
                if k == 0:
                    a.refs = None
                elif a.refs is None:
                    a.refs = [None] * k
                elif k < len(a.refs):
                    del a.refs[k:]
                else:
                    a.refs.extend([None] * (k - len(a.refs)))
        else:
            table[i] = None
    live = h = 0
    for a in table:
        if a is None:
            continue
        live += 1
        h = (h * 31 + a.id) & M64
        for t in a.refs or ():
            h = (h * 31 + (t.id if t is not None else 0)) & M64
    checks += [live, created, h]
    table.clear()


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def main():
    if len(sys.argv) != 7:
        sys.exit("usage: python3 peer_programs.py PROGRAM DEPTH OBJECTS STEPS CYCLES SEED")
    program = sys.argv[1]
    depth, objects, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    cycles, seed = float(sys.argv[5]), int(sys.argv[6])
    sys.setrecursionlimit(max(1000, 4 * depth + 100))
    runs = {
        "binary-trees": lambda checks: binary_trees(depth, checks),
        "gcbench": lambda checks: gcbench(depth, checks),
        "interp": lambda checks: interp(objects, steps, cycles, seed, checks),
    }
    if program not in runs:
        sys.exit("peer_programs.py: unknown program %r" % program)
    checks = []
    collections = Collections()
    gc.callbacks.append(collections)
    start = time.perf_counter_ns()
    runs[program](checks)
    total = time.perf_counter_ns() - start
    gc.callbacks.remove(collections)
    print(json.dumps({
        "check": " ".join(str(c) for c in checks), "total_ns": total,
        "gc_ns": collections.total, "collections": sum(collections.per_gen),
        "gen0": collections.per_gen[0], "gen1": collections.per_gen[1],
        "gen2": collections.per_gen[2], "max_pause_ns": collections.longest,
        "p99_pause_ns": collections.p99(),
        "peak_rss_bytes": status_bytes("VmHWM:"), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()

"""peer_cpython.py - the CPython peer of gpugc-bench.

gpugc-bench writes the graph it measures (a *shape*: see bench.h and the
file layout in cpython.c) and runs this script on it:

    python3 peer_cpython.py SHAPE_FILE

The same objects, the same references, the same held objects: an object with
k slots is an instance of a class with k __slots__ (a list when k > 32, as
programs keep big collections), an object without slots is a float (an atom
CPython does not track, as gpugc does not track objects without slots), and
the held objects sit in a root list.  Then, as measure.c does for the heaps
in gpugc-bench's own process:

  full   gc.collect() once (it must find the shape's garbage), then per
         repeat: rebuild the garbage, time gc.collect();
  pause  build the old heap, gc.collect() (ages it into generation 2), then
         per repeat: build the young objects, time gc.collect(0), drop them,
         gc.collect(1) untimed.

The collector is disabled while building.  Every count gc.collect() returns
is checked against the shape; a difference ends the script with status 1.
Prints one flat JSON object on stdout (the median and range of the timed
collections, build time, peak RSS, GC header bytes).  Peak RSS is VmHWM, not
getrusage's ru_maxrss, which after fork and exec still holds the parent's.
"""
import array
import ctypes
import gc
import json
import platform
import struct
import sys
import time

HEADER = struct.Struct("=8s7Q")
MAGIC = b"GPUGCSH1"
NULL = 0xFFFFFFFF
HELD, GARBAGE = 1, 2
MAX_SLOTS = 32

CLASSES = [None] + [type("Slots%d" % k, (), {"__slots__": tuple("s%d" % j for j in range(k))})
                    for k in range(1, MAX_SLOTS + 1)]
SETTERS = [None] + [[getattr(CLASSES[k], "s%d" % j).__set__ for j in range(k)]
                    for k in range(1, MAX_SLOTS + 1)]


class Progress:
    """One line on stderr for steps longer than a second, on a terminal only."""

    def __init__(self, label):
        self.label, self.start, self.last = label, time.monotonic(), 0.0
        self.active, self.shown = sys.stderr.isatty(), False

    def tick(self, done, total):
        if not self.active or done & 0xFFFF:
            return
        now = time.monotonic()
        if now - self.start >= 1.0 and now - self.last >= 0.2:
            self.last, self.shown = now, True
            sys.stderr.write("\r\033[Kgpugc-bench: cpython: %s: %3.0f%%"
                             % (self.label, 100.0 * done / max(total, 1)))

    def end(self):
        if self.shown:
            sys.stderr.write("\r\033[K")


def status_bytes(field):
    """A "VmRSS:"-style figure of this process, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


class Shape:
    def __init__(self, path):
        with open(path, "rb") as f:
            fields = HEADER.unpack(f.read(HEADER.size))
            if fields[0] != MAGIC:
                sys.exit("peer_cpython.py: %s is not a gpugc-bench shape" % path)
            (self.n, self.nold, slots, self.pause, self.repeat, self.expect_first,
             self.expect_timed) = fields[1:]
            self.off, self.dst, self.flags = array.array("I"), array.array("I"), array.array("B")
            assert self.off.itemsize == 4
            self.off.fromfile(f, self.n + 1)
            self.dst.fromfile(f, slots)
            self.flags.fromfile(f, self.n)

    def tracked(self, lo, hi, live_only=False):
        off, flags = self.off, self.flags
        return sum(1 for i in range(lo, hi)
                   if off[i + 1] > off[i] and not (live_only and flags[i] & GARBAGE))


class Heap:
    """The shape's objects.  Objects built earlier are found again through
    their addresses, so that nothing but the graph itself holds them."""

    def __init__(self, shape):
        self.s = shape
        self.addr = array.array("Q", bytes(8 * shape.n))
        self.roots = [None, None]

    def build(self, lo, hi, garbage_only):
        s = self.s
        off, dst, flags, addr = s.off, s.dst, s.flags, self.addr
        objs = [None] * hi
        progress = Progress("building %d objects" % (hi - lo))
        wanted = [i for i in range(lo, hi) if not garbage_only or flags[i] & GARBAGE]
        for i in wanted:
            k = off[i + 1] - off[i]
            objs[i] = float(i) if k == 0 else CLASSES[k]() if k <= MAX_SLOTS else [None] * k
        for count, i in enumerate(wanted):
            progress.tick(count, len(wanted))
            a, b = off[i], off[i + 1]
            if a == b:
                continue
            o = objs[i]
            setters = SETTERS[b - a] if b - a <= MAX_SLOTS else None
            for j, t in enumerate(dst[a:b]):
                if t == NULL:
                    continue
                x = objs[t]
                if x is None:
                    x = objs[t] = ctypes.cast(addr[t], ctypes.py_object).value
                if setters is None:
                    o[j] = x
                else:
                    setters[j](o, x)
        progress.end()
        for i in wanted:
            if not flags[i] & GARBAGE:
                addr[i] = id(objs[i])
        if not garbage_only:
            self.roots[lo > 0] = [objs[i] for i in wanted if flags[i] & HELD]

    def release(self, lo):
        self.roots[lo > 0] = None


def collect(generation, expect, which):
    """Nanoseconds gc.collect(generation) took, and what it found."""
    start = time.perf_counter_ns()
    found = gc.collect(generation)
    ns = time.perf_counter_ns() - start
    if expect is not None and found != expect:
        sys.exit("peer_cpython.py: the %s collection found %d unreachable objects; "
                 "the graph has %d" % (which, found, expect))
    return ns, found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 peer_cpython.py SHAPE_FILE")
    s = Shape(sys.argv[1])
    gc.disable()
    gc.collect()  # the interpreter's own garbage, before anything is counted
    heap = Heap(s)
    before = status_bytes("VmRSS:")
    start = time.perf_counter()
    heap.build(0, s.nold, False)
    build_ms = (time.perf_counter() - start) * 1e3
    collect(2, s.expect_first, "first")
    gc_head = sys.getsizeof(CLASSES[1]()) - CLASSES[1]().__sizeof__()
    if s.pause:
        tracked = s.tracked(0, s.nold, live_only=True) + s.tracked(s.nold, s.n)
    else:
        tracked = s.tracked(0, s.n)
    times = []
    for _ in range(s.repeat):
        if s.pause:
            heap.build(s.nold, s.n, False)
            ns, found = collect(0, s.expect_timed, "timed young")
            heap.release(s.nold)
            collect(1, None, "clean-up")
        else:
            if s.expect_timed:  # garbage without slots hangs from garbage with
                heap.build(0, s.n, True)
            ns, found = collect(2, s.expect_timed, "timed")
        times.append(ns)
    times.sort()
    peak = status_bytes("VmHWM:")
    print(json.dumps({
        "collect_ns": times[(len(times) - 1) // 2],
        "collect_ns_min": times[0],
        "collect_ns_max": times[-1],
        "unreachable": found,
        "build_ms": build_ms,
        "peak_rss_bytes": peak,
        "rss_growth_bytes": max(peak - before, 0),
        "metadata_bytes": tracked * gc_head,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()

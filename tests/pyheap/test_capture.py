"""test_capture.py - bench/pyheap_capture.py's counts are exact.

    python3 test_capture.py SCRATCH_DIR

In this process: small known graphs (cycles, self-references, duplicates in
a list, objects held from C types -- functools.partial, collections.deque,
itertools.chain, a C-level bound method, a Python bound method -- and from
frames: this function's locals, a suspended generator's, a finished frame a
traceback keeps), then pyheap_capture.dump().  The file is read back by a
reader of this file's own and checked three ways:
  - against what the graphs are by construction: the slots of a list, in
    order with duplicates; the count from outside of an object only locals
    hold (one per local) or only its container holds (0); garbage found;
  - against an independent update_refs/subtract_refs for the live objects,
    from the referrers' side (gc.get_referrers), where the capture works
    from the referents' side;
  - the whole heap's unreachable set (this file's own mark over the file)
    against gc.collect() under gc.DEBUG_SAVEALL, object by object.
Then, as a user runs it, the command line on programs written to SCRATCH_DIR:
a program run to its end, one that calls capture() itself, a module run
with -m, and garbage holding a suspended generator, whose closing frees
objects by reference counting: gc.collect() returns fewer than the mark
phase's set, and the sidecar accounts for each.
"""
import array
import collections
import functools
import gc
import itertools
import json
import os
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "..", "bench", "pyheap_capture.py")
sys.path.insert(0, os.path.dirname(CAPTURE))
import pyheap_capture  # noqa: E402

failures = []
LOCALS_OUTSIDE = sys.version_info >= (3, 11)  # an executing frame is no object gc traverses


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what)


class Heap:
    """A heap file as this test reads it, independently of the bench's
    reader and of the capture's writer."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        magic, version, crc, n, slots, roots, unreachable = struct.unpack_from("<8sIIQQQQ", data)
        if magic != b"GPUGCPYH" or version != 1 or len(data) != 48 + 8 * n + 4 * slots:
            raise ValueError("%s: not a version 1 heap of the size its header says" % path)
        if zlib.crc32(data[48:]) != crc:
            raise ValueError("%s: checksum" % path)
        def u32(lo, count):
            a = array.array("I", data[lo:lo + 4 * count])
            if sys.byteorder != "little":
                a.byteswap()
            return a
        self.n, self.roots, self.unreachable = n, roots, unreachable
        counts = u32(48, n)
        self.ext = u32(48 + 4 * n, n)
        dst = u32(48 + 8 * n, slots)
        self.slots, at = [], 0
        for k in counts:
            self.slots.append(list(dst[at:at + k]))
            at += k

    def mark(self):
        """update_refs/subtract_refs are the file's counts; mark from every
        object with one above 0.  The unreachable indices."""
        seen = [e > 0 for e in self.ext]
        todo = [i for i in range(self.n) if seen[i]]
        while todo:
            for j in self.slots[todo.pop()]:
                if not seen[j]:
                    seen[j] = True
                    todo.append(j)
        return {i for i in range(self.n) if not seen[i]}


def outside_counts(objs):
    """An independent update_refs/subtract_refs for objs: the refcount minus
    every reference from a tracked referrer, counted from the referrer's
    side.  What this function itself holds is measured on a probe one local
    holds."""
    def raw(xs):
        out = []
        for i in range(len(xs)):
            inside = 0
            for r in gc.get_referrers(xs[i]):
                if r is not xs and gc.is_tracked(r):
                    inside += sum(1 for t in gc.get_referents(r) if t is xs[i])
            out.append(sys.getrefcount(xs[i]) - inside)
        return out
    probe = []
    base = raw([probe])[0] - 1
    return [c - base for c in raw(objs)]


class K:
    def method(self):
        return self


def fails():
    kept = [[]]
    raise ValueError(id(kept))


def suspended():
    local = [[]]
    yield id(local)
    yield local


def known_graphs(scratch):
    gc.disable()  # no automatic collection between the dump and the check
    gc.collect()
    path = os.path.join(scratch, "known.gpugc")
    # Live, held by locals.
    a, b = [], []
    dup = [a, a, b, a]
    selfref = []
    selfref.append(selfref)
    # Live, held only from C types, from a generator's frame, from a finished frame.
    part = functools.partial(len, [[]])
    part_arg = id(part.args[0])
    dq = collections.deque([[]])
    dq_item = id(dq[0])
    chain = itertools.chain([[]])
    holder = []
    meth = holder.append
    holder_id = id(holder)
    del holder
    bound = K().method
    bound_self = id(bound.__self__)
    gen = suspended()
    gen_local = next(gen)
    try:
        fails()
    except ValueError as e:
        err = e
    kept = err.args[0]
    # Garbage: a cycle, a self-reference, cycles through a partial, a deque
    # and a bound method.
    c1 = []
    c2 = [c1]
    c1.append(c2)
    sr = []
    sr.append(sr)
    gl = []
    gp = functools.partial(len, gl)
    gl.append(gp)
    gd = collections.deque()
    gd.append(gd)
    gk = K()
    gk.m = gk.method
    garbage = {"cycle": [id(c1), id(c2)], "self-reference": [id(sr)],
               "partial cycle": [id(gl), id(gp), id(gp.args)], "deque cycle": [id(gd)],
               "bound-method cycle": [id(gk), id(gk.__dict__), id(gk.__dict__["m"])]}
    del c1, c2, sr, gl, gp, gd, gk

    live = [a, b, dup, selfref, part, dq, chain, meth, bound, gen, err]
    independent = outside_counts(live)
    live_ids = [id(x) for x in live]
    del live
    heap_info = pyheap_capture.dump(path)
    ids = heap_info.ids
    index = {ids[i]: i for i in range(len(ids))}
    heap = Heap(path)
    check(heap.n == heap_info.objects and heap.unreachable == heap_info.unreachable,
          "the file's header and dump()'s figures differ")

    def ext(x):
        return heap.ext[index[x if isinstance(x, int) else id(x)]]

    one = 1 if LOCALS_OUTSIDE else 0
    # list_traverse visits the items last first; duplicates stay.
    check(heap.slots[index[id(dup)]] == [index[id(a)], index[id(b)]] + [index[id(a)]] * 2,
          "slots of [a, a, b, a]: %s, a %d, b %d" % (heap.slots[index[id(dup)]],
                                                     index[id(a)], index[id(b)]))
    check(heap.slots[index[id(selfref)]] == [index[id(selfref)]], "a list holding itself")
    for name, x in (("a", a), ("b", b), ("[a, a, b, a]", dup), ("a self-reference", selfref),
                    ("a partial", part), ("a deque", dq), ("a chain", chain)):
        check(ext(x) == one, "%s held by one local: %d from outside" % (name, ext(x)))
    for name, x in (("a partial's argument", part_arg), ("a deque's item", dq_item),
                    ("a builtin bound method's self", holder_id),
                    ("a bound method's self", bound_self), ("a generator's local", gen_local),
                    ("a finished frame's local", kept)):
        check(x in index and ext(x) == 0, "%s: %s from outside" % (name, x in index and ext(x)))
    for i, (x, want) in enumerate(zip(live_ids, independent)):
        check(heap.ext[index[x]] == want, "live object %d: %d from outside, the referrers say %d"
              % (i, heap.ext[index[x]], want))
    unreachable = heap.mark()
    check(len(unreachable) == heap.unreachable, "the header's unreachable count")
    for name, members in garbage.items():
        check(all(index.get(m) in unreachable for m in members), "%s is not garbage" % name)
        check(all(ext(m) == 0 for m in members if m in index), "%s: counts from outside" % name)
    for x in live_ids + [part_arg, dq_item, holder_id, bound_self, gen_local, kept]:
        check(index[x] not in unreachable, "a live object is in the unreachable set")

    # The whole heap against CPython's own collector, object by object.
    before = len(gc.garbage)
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    found = {index.get(id(o), -1) for o in gc.garbage[before:]}
    check(found == unreachable, "gc.collect() found %d objects (%d not in the dump's set); "
          "the dump's mark %d" % (len(found), len(found - unreachable), len(unreachable)))
    del gc.garbage[before:]
    print("known graphs: %d objects, %d unreachable, all counts as built" %
          (heap.n, len(unreachable)))
    return a, b, dup, selfref, part, dq, chain, meth, bound, gen, err


PROGRAM = '''
import collections, sys
class Node:
    def __init__(self):
        self.next = None
keep = []
for i in range(3000):
    x, y = Node(), Node()
    x.next, y.next = y, x
    if i %% 2:
        keep.append(x)
def gen(box):
    held = [[1], [2], [3]]
    yield held
box = []
g = gen(box)
next(g)
box.append(g)
del g, box
%s
print("ran", sys.argv[1:])
'''


def run_capture(scratch, name, args, cwd=None):
    out = os.path.join(scratch, name + ".gpugc")
    for f in (out, out + ".json"):
        if os.path.exists(f):
            os.remove(f)
    p = subprocess.run([sys.executable, CAPTURE, "-o", out, "--label", name] + args,
                       capture_output=True, text=True, cwd=cwd)
    check(p.returncode == 0 and "ran ['x', 'y']" in p.stdout,
          "%s: exit %d, %s" % (name, p.returncode, p.stdout + p.stderr))
    if p.returncode != 0:
        return None, None
    with open(out + ".json") as f:
        side = json.load(f)
    return Heap(out), side


def command_line(scratch):
    prog = os.path.join(scratch, "prog.py")
    with open(prog, "w") as f:
        f.write(PROGRAM % "")
    with open(os.path.join(scratch, "progmid.py"), "w") as f:
        f.write(PROGRAM % "import pyheap_capture\nside = pyheap_capture.capture()\n"
                          "assert side['captured_at'] == 'capture()'")
    for name, args, cwd in (("end", ["--", prog, "x", "y"], None),
                            ("mid", [os.path.join(scratch, "progmid.py"), "x", "y"], None),
                            ("module", ["-m", "prog", "x", "y"], scratch)):
        heap, side = run_capture(scratch, name, args, cwd)
        if heap is None:
            continue
        check(side["captured_at"] == ("capture()" if name == "mid" else "end"),
              "%s: captured at %s" % (name, side["captured_at"]))
        check(side["objects"] == heap.n and side["unreachable"] == heap.unreachable
              == len(heap.mark()) and side["roots"] == heap.roots and side["verified"],
              "%s: the sidecar and the heap disagree: %s" % (name, side))
        # Closing the garbage generator clears its frame: `held` and its
        # three lists die, then `box`, which the frame alone held, and with
        # it the generator: gc.collect() counts none of the six.
        check(side["freed_in_finalizers"] == 6 and side["alive_after_collect"] == 0
              and side["saveall_garbage"] + 6 == side["unreachable"]
              and side["collect_returned"] == side["saveall_garbage"],
              "%s: the finalizer's frees are not accounted for: %s" % (name, side))
        print("%s: %d objects, %d unreachable, gc.collect() returned %d"
              % (name, heap.n, side["unreachable"], side["collect_returned"]))


def main():
    scratch = sys.argv[1]
    os.makedirs(scratch, exist_ok=True)
    keep = known_graphs(scratch)
    command_line(scratch)
    del keep
    if failures:
        sys.exit("%d capture checks failed" % len(failures))
    print("test_capture: all checks passed")


if __name__ == "__main__":
    main()

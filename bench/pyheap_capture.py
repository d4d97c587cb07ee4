"""pyheap_capture.py - captures a running Python program's graph of gc-tracked
objects, for `gpugc-bench --workload pyheap:FILE` to replay on every gpugc
backend and peer.  Standard library only; any CPython 3.8+.

    python3 pyheap_capture.py -o heap.gpugc [--label TEXT] [--no-verify] \
        [--] PROGRAM.py [ARGS...]
    python3 pyheap_capture.py -o heap.gpugc [...] -m MODULE [ARGS...]

The program runs as `python3 PROGRAM.py ARGS` would (sys.argv, __main__,
sys.path[0]); when it ends (returning or raising SystemExit) its heap is
captured, with its module namespace still alive as it is before interpreter
shutdown.  A program can choose the point itself:

    import pyheap_capture          # under the script, this very module
    pyheap_capture.capture()       # writes -o's file now; the end then does not

(outside the script: pyheap_capture.capture("heap.gpugc")).  The capture
writes FILE and the sidecar FILE.json, then collects: capture() mid-program
frees the garbage there was, as a gc.collect() would.

What is captured.  Every object gc.get_objects() lists (the tracked objects
of all generations; frozen ones are not collected, so not in the set), its
tracked referents as its tp_traverse visits them (gc.get_referents; order and
duplicates kept, referents outside the dump left out), and its count of
references from outside the dump: its refcount minus the references the
capture itself holds minus the references from dumped objects, which is
exactly the gc_refs CPython's subtract_refs leaves for a full collection.  A
count above 2^31 (an immortal object of 3.12+) is written as 2^31: only its
being above 0 decides the mark.  From those, the unreachable set is what
update_refs/subtract_refs/mark give (gc_refs = the count; mark from every
object with gc_refs > 0); it is recorded, and checked against CPython's own
collector: in a forked child, gc.collect() with gc.DEBUG_SAVEALL must leave in
gc.garbage no object outside that set, and every object of the set it leaves
out must have been freed by a finalizer (closing a suspended generator drops
its frame's locals) or be alive after the collection (resurrected); the counts
of each go in the sidecar.  The sidecar's "unreachable" is the mark phase's
set; "collect_returned", gc.collect()'s own return value, can be smaller, by
what finalizers freed.

File format, version 1, all integers little-endian:

    offset      size     field
    0           8        magic b"GPUGCPYH"
    8           4        version, 1
    12          4        CRC-32 (zlib.crc32, IEEE 802.3) of bytes 48 to the end
    16          8        n: objects, indexed 0..n-1 in gc.get_objects() order
    24          8        slots: referent slots of all objects together
    32          8        roots: objects whose count from outside is above 0
    40          8        unreachable: objects the mark phase finds unreachable
    48          4n       count[i]: slots of object i (they sum to `slots`)
    48+4n       4n       ext[i]: references to object i from outside the dump
    48+8n       4*slots  dst: object 0's slots, then object 1's, ...; each an
                         object index below n

The file is exactly 48 + 8n + 4*slots bytes long.

The sidecar FILE.json is one flat JSON object: "format" ("gpugc-pyheap"),
"version", "heap_crc32" (the header's), "python" (platform.python_version()),
"implementation", "label" (--label: what ran, e.g. a package and its version),
"program" (the command), "captured_at" ("end" or "capture()"), "objects",
"slots", "roots", "ext_total", "unreachable"; CPython's full collection taken
right after the dump: "collect_ns", "collect_returned", and a second one at
once, the garbage gone: "collect_again_ns"; the check against
CPython's collector: "verified" (true, or false with --no-verify or without
os.fork), "saveall_garbage", "freed_in_finalizers", "alive_after_collect";
"dump_s" (the capture's own time), "rss_bytes", "peak_rss_bytes" (the
program's VmRSS and VmHWM before the dump), "gc_head_bytes" (the GC header of
a tracked object).
"""
import array
import gc
import json
import os
import platform
import runpy
import struct
import sys
import time
import zlib

MAGIC = b"GPUGCPYH"
VERSION = 1
HEADER = struct.Struct("<8sIIQQQQ")
EXT_MAX = 1 << 31

_out = None       # -o, when running under this script
_label = ""
_verify = True
_program = ""
_captured = False


class CaptureError(Exception):
    """The dump disagrees with CPython's collector: a bug of this script."""


def _le(a):
    """The bytes of array a, little-endian."""
    if sys.byteorder == "little":
        return a.tobytes()
    b = array.array(a.typecode, a)
    b.byteswap()
    return b.tobytes()


def _edges(objs):
    """Pass 1: every object's tracked referents in the dump, as indices.
    Its own function, so that no local of it (the last referent of a loop)
    still holds an object when the counts are read."""
    index = {id(o): i for i, o in enumerate(objs)}
    get_referents, get = gc.get_referents, index.get
    counts = array.array("I", bytes(4 * len(objs)))
    dst = array.array("I")
    for i in range(len(objs)):
        js = [j for j in map(get, map(id, get_referents(objs[i]))) if j is not None]
        counts[i] = len(js)
        dst.extend(js)
    return counts, dst


def _raw_counts(objs):
    """sys.getrefcount of every entry, as this very code sees it."""
    getrefcount = sys.getrefcount
    return array.array("q", [getrefcount(objs[i]) for i in range(len(objs))])


def _capture_refs():
    """References _raw_counts itself adds to an entry (the list's slot,
    the argument): measured on a probe that one local alone holds."""
    probe = []
    return _raw_counts([probe])[0] - 1


def _mark(n, counts, dst, ext):
    """update_refs/subtract_refs/mark over the dump: gc_refs is ext; every
    object with gc_refs > 0 is reachable, and so is all it reaches.  Returns
    the reachability bytes (1: reachable) and the objects' first slots."""
    first = array.array("Q", bytes(8 * (n + 1)))
    total = 0
    for i in range(n):
        first[i] = total
        total += counts[i]
    first[n] = total
    reached = bytearray(n)
    stack = [i for i in range(n) if ext[i] > 0]
    for i in stack:
        reached[i] = 1
    while stack:
        i = stack.pop()
        for j in dst[first[i]:first[i + 1]]:
            if not reached[j]:
                reached[j] = 1
                stack.append(j)
    return reached, first


class Heap:
    """What dump() wrote: the figures, and the objects' ids by index (for
    checking against gc in this process)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def dump(path):
    """Writes this process's graph of tracked objects to path (the format
    above) and returns a Heap.  The collector is off meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        base = _capture_refs()
        objs = gc.get_objects()
        n = len(objs)
        counts, dst = _edges(objs)
        raw = _raw_counts(objs)
        ids = array.array("Q", map(id, objs))
        tracked_head = _gc_head_bytes()
        del objs  # from here on nothing of the capture holds a dumped object
        indeg = array.array("q", bytes(8 * n))
        for j in dst:
            indeg[j] += 1
        ext = array.array("I", bytes(4 * n))
        for i in range(n):
            e = raw[i] - base - indeg[i]
            if e < 0:
                raise CaptureError("object %d: refcount %d is below its %d references from "
                                   "the dump" % (i, raw[i] - base, indeg[i]))
            ext[i] = e if e < EXT_MAX else EXT_MAX
        del raw, indeg
        reached, _ = _mark(n, counts, dst, ext)
        roots = sum(1 for e in ext if e)
        unreachable = n - sum(reached)
        body = [_le(counts), _le(ext), _le(dst)]
        crc = 0
        for b in body:
            crc = zlib.crc32(b, crc)
        with open(path, "wb") as f:
            f.write(HEADER.pack(MAGIC, VERSION, crc, n, len(dst), roots, unreachable))
            for b in body:
                f.write(b)
        return Heap(path=path, objects=n, slots=len(dst), roots=roots,
                    ext_total=sum(ext), unreachable=unreachable, crc=crc, ids=ids,
                    reached=reached, gc_head_bytes=tracked_head,
                    dump_s=time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()


def _gc_head_bytes():
    probe = []
    return sys.getsizeof(probe) - probe.__sizeof__()


def _status_bytes(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _check_in_child(heap):
    """In a child process: gc.collect() under DEBUG_SAVEALL, compared object
    by object with the dump's unreachable set.  Writes a JSON line to the
    pipe and exits; returns the figures to the parent."""
    r, w = os.pipe()
    before = len(gc.garbage)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            alive = set(map(id, gc.get_objects()))
            garbage = set(map(id, gc.garbage[before:]))
            ids, reached = heap.ids, heap.reached
            predicted = {ids[i] for i in range(len(ids)) if not reached[i]}
            missing = predicted - garbage
            res = {"saveall_garbage": len(garbage),
                   "not_predicted": len(garbage - predicted),
                   "alive_after_collect": len(missing & alive),
                   "freed_in_finalizers": len(missing - alive)}
            os.write(w, json.dumps(res).encode())
        except BaseException as e:  # the child must never return into the program
            os.write(w, json.dumps({"error": repr(e)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    res = json.loads(b"".join(chunks) or b'{"error": "the child died"}')
    if "error" in res:
        raise CaptureError("checking against gc.collect(): " + res["error"])
    if res["not_predicted"]:
        raise CaptureError("gc.collect() found %d unreachable objects the dump says are "
                           "reachable" % res["not_predicted"])
    return res


def capture(path=None, label=None, verify=None, _at="capture()"):
    """Dumps the heap now to path (default: -o of this script), checks it
    against CPython's collector, times gc.collect() on it and writes the
    sidecar path + ".json".  Returns the sidecar's fields."""
    global _captured
    path = path or _out
    if path is None:
        raise ValueError("pyheap_capture.capture(): no path (and not run under the script)")
    verify = _verify if verify is None else verify
    rss, peak = _status_bytes("VmRSS:"), _status_bytes("VmHWM:")
    enabled = gc.isenabled()
    gc.disable()
    try:
        heap = dump(path)
        check = {"saveall_garbage": None, "freed_in_finalizers": None,
                 "alive_after_collect": None}
        verified = verify and hasattr(os, "fork")
        if verified:
            check = _check_in_child(heap)
            del check["not_predicted"]
        heap.ids = heap.reached = None
        start = time.perf_counter_ns()
        found = gc.collect()
        collect_ns = time.perf_counter_ns() - start
        start = time.perf_counter_ns()
        gc.collect()
        again_ns = time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()
    side = {
        "format": "gpugc-pyheap", "version": VERSION, "heap_crc32": heap.crc,
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "label": _label if label is None else label, "program": _program,
        "captured_at": _at,
        "objects": heap.objects, "slots": heap.slots, "roots": heap.roots,
        "ext_total": heap.ext_total, "unreachable": heap.unreachable,
        "collect_ns": collect_ns, "collect_returned": found, "collect_again_ns": again_ns,
        "verified": verified,
    }
    side.update(check)
    side.update({"dump_s": round(heap.dump_s, 3), "rss_bytes": rss, "peak_rss_bytes": peak,
                 "gc_head_bytes": heap.gc_head_bytes})
    with open(path + ".json", "w") as f:
        json.dump(side, f, indent=1)
        f.write("\n")
    _captured = True
    return side


USAGE = ("usage: pyheap_capture.py -o FILE [--label TEXT] [--no-verify] [--] PROGRAM [ARGS...]\n"
         "       pyheap_capture.py -o FILE [--label TEXT] [--no-verify] -m MODULE [ARGS...]")


def main(argv):
    global _out, _label, _verify, _program, _captured
    module, rest, i = None, None, 0
    while i < len(argv):
        a = argv[i]
        if a in ("-o", "--label") and i + 1 < len(argv):
            if a == "-o":
                _out = argv[i + 1]
            else:
                _label = argv[i + 1]
            i += 2
        elif a == "--no-verify":
            _verify = False
            i += 1
        elif a == "-m" and i + 1 < len(argv):
            module, rest = argv[i + 1], argv[i + 2:]
            break
        elif a in ("-h", "--help"):
            print(USAGE)
            return 0
        else:
            rest = argv[i + 1:] if a == "--" else argv[i:]
            break
    if _out is None or not (module or rest) or (rest and rest[0].startswith("-") and not module):
        sys.exit(USAGE)
    # The program's `import pyheap_capture` must find this module, not a copy.
    sys.modules.setdefault("pyheap_capture", sys.modules[__name__])
    _program = " ".join(["-m", module] + rest if module else rest)
    code, namespace = 0, None
    try:
        if module:  # as python3 -m: the current directory first on the path
            sys.path[0] = os.getcwd()
            sys.argv = [module] + rest
            namespace = runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(rest)
            sys.path[0] = os.path.dirname(os.path.abspath(rest[0]))
            namespace = runpy.run_path(rest[0], run_name="__main__")
    except SystemExit as e:
        code = e.code
    if not _captured:
        side = capture(_at="end")
        del namespace  # alive until the capture, as before interpreter shutdown
        print("pyheap_capture: %s: %d objects, %d slots, %d unreachable (gc.collect() %d in "
              "%.1f ms)" % (_out, side["objects"], side["slots"], side["unreachable"],
                            side["collect_returned"], side["collect_ns"] / 1e6), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

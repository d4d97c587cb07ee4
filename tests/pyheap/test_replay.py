"""test_replay.py - the committed captured heaps replayed by gpugc-bench on
every backend and peer, and heap files from outside that are bad.

    python3 test_replay.py GPUGC_BENCH SCRATCH_DIR REQUIRED_RUNNERS

The fixtures (fixtures/NAME.gpugc.gz and the sidecar NAME.gpugc.json) were
captured with Python 3.11.7 from the programs in programs/:

    python3 bench/pyheap_capture.py -o ast_trees.gpugc \
        --label "fixture ast_trees (Python 3.11.7)" -- \
        tests/pyheap/programs/ast_trees.py ast.py codecs.py contextlib.py
    python3 bench/pyheap_capture.py -o cycles.gpugc \
        --label "fixture cycles (Python 3.11.7)" -- tests/pyheap/programs/cycles.py
    python3 bench/pyheap_capture.py -o tables.gpugc \
        --label "fixture tables (Python 3.11.7)" -- tests/pyheap/programs/tables.py
    gzip -9 *.gpugc

Replay: every backend asked for (cuda included: where it cannot run it is
listed as skipped) and every peer; each run that ran must have found exactly
CPython's unreachable set (the sidecar's), the output must match SCHEMA.md,
and REQUIRED_RUNNERS (comma-separated) must have succeeded on every heap.

Bad files: truncated, corrupted (the checksum), and hostile with a correct
checksum (a slot count past the slots, a target past the objects, an absurd
object count, a count from outside past the bound, a wrong unreachable
count, a sidecar of another heap): each gets an error naming the file and
the byte offset, and no crash or sanitizer report.  --pause on a captured
heap is refused: it is measured by full collections only.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_SCHEMA = os.path.join(HERE, "..", "..", "bench", "check_schema.py")
FIXTURES = ("ast_trees", "cycles", "tables")
HEADER = struct.Struct("<8sIIQQQQ")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what)


def unpack(scratch):
    paths = []
    for name in FIXTURES:
        src = os.path.join(HERE, "fixtures", name + ".gpugc")
        dst = os.path.join(scratch, name + ".gpugc")
        with gzip.open(src + ".gz", "rb") as f, open(dst, "wb") as out:
            shutil.copyfileobj(f, out)
        shutil.copyfile(src + ".json", dst + ".json")
        paths.append(dst)
    return paths


def replay(bench, scratch, paths, required):
    out, csv = os.path.join(scratch, "replay.json"), os.path.join(scratch, "replay.csv")
    p = subprocess.run([bench, "--workload", ",".join("pyheap:" + x for x in paths),
                        "--backend", "cpu,cpu-parallel,opencl,cuda,auto", "--repeat", "2",
                        "--json", out, "--csv", csv], capture_output=True, text=True)
    check(p.returncode == 0, "replay: exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    if p.returncode != 0:
        return
    with open(out) as f:
        doc = json.load(f)
    peers = [r for r in ("bdwgc", "cpython") if any(x["backend"] == r for x in doc["runs"])]
    check("cpython" in peers, "the CPython peer did not run")
    s = subprocess.run([sys.executable, CHECK_SCHEMA, out, csv, "--groups", str(len(paths)),
                        "--require-peers", ",".join(peers), "--require-runners", required],
                       capture_output=True, text=True)
    check(s.returncode == 0, "check_schema.py: %s" % (s.stdout + s.stderr))
    for path in paths:
        with open(path + ".json") as f:
            want = json.load(f)["unreachable"]
        runs = [r for r in doc["runs"] if r["workload"] == "pyheap:" + path]
        for r in runs:
            exact = r["unreachable"] == want if r["backend"] != "bdwgc" else r["unreachable"] <= want
            check(r["status"] == "ok" and r["expected_unreachable"] == want and exact,
                  "%s on %s: %s, %s unreachable of CPython's %d" % (
                      r["backend"], path, r["status"], r["unreachable"], want))
        print("%s: %d unreachable on %s" % (os.path.basename(path), want,
                                             ", ".join(r["backend"] for r in runs)))


def bad_file(bench, path, data, offset, what, sidecar=None, exit_status=None):
    """gpugc-bench on a heap file holding data must fail with "PATH: at byte
    OFFSET: " in its messages (and `what`), cleanly."""
    with open(path, "wb") as f:
        f.write(data)
    if sidecar is not None:
        shutil.copyfile(sidecar, path + ".json")
    p = subprocess.run([bench, "--workload", "pyheap:" + path, "--backend", "cpu", "--peers",
                        "none" if sidecar is None else "cpython", "--repeat", "1"],
                       capture_output=True, text=True)
    where = "%s: at byte %d: " % (path, offset) if offset is not None else path
    clean = p.returncode in (exit_status,) if exit_status else p.returncode in (1, 2)
    check(clean and where in p.stderr and what in p.stderr
          and "Sanitizer" not in p.stderr and "runtime error" not in p.stderr,
          "%s: exit %d, expected %r and %r in:\n%s" % (os.path.basename(path), p.returncode,
                                                         where, what, p.stderr[-1500:]))


def resealed(data):
    """data with its header's checksum made right again: a hostile file."""
    b = bytearray(data)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[48:])))
    return bytes(b)


def bad_files(bench, scratch, good):
    with open(good, "rb") as f:
        data = f.read()
    _, _, _, n, slots, roots, unreachable = HEADER.unpack_from(data)
    at_ext, at_dst = 48 + 4 * n, 48 + 8 * n
    bad = os.path.join(scratch, "bad.gpugc")
    bad_file(bench, bad, data[:20], 20, "truncated")
    bad_file(bench, bad, data[:len(data) // 2], 24, "slots")
    bad_file(bench, bad, data + b"\0" * 4, len(data), "trailing")
    bad_file(bench, bad, b"NOTAHEAP" + data[8:], 0, "magic")
    flipped = bytearray(data)
    flipped[at_dst + 4 * 7] ^= 0x40
    bad_file(bench, bad, bytes(flipped), 12, "checksum")

    def hostile(offset, value, fmt="<I"):
        b = bytearray(data)
        struct.pack_into(fmt, b, offset, value)
        return resealed(b) if offset >= 48 else bytes(b)
    bad_file(bench, bad, hostile(48, slots + 1), 48, "run past")
    bad_file(bench, bad, hostile(48 + 4 * 9, 0xFFFFFFFF), 48 + 4 * 9, "run past")
    bad_file(bench, bad, hostile(at_dst + 4 * 11, n + 5), at_dst + 4 * 11, "past the")
    bad_file(bench, bad, hostile(at_ext + 4 * 3, (1 << 31) + 1), at_ext + 4 * 3, "from outside")
    bad_file(bench, bad, hostile(16, 1 << 40, "<Q"), 16, "holds at most")
    bad_file(bench, bad, hostile(24, 1 << 62, "<Q"), 24, "hold at most")
    bad_file(bench, bad, hostile(32, roots + 1, "<Q"), 32, "roots")
    bad_file(bench, bad, hostile(40, unreachable + 1, "<Q"), 40, "unreachable")
    # Every object made a root with a huge count: more increfs than a replay makes.
    b = bytearray(data)
    for i in range(n):
        struct.pack_into("<I", b, at_ext + 4 * i, 1 << 31)
    struct.pack_into("<QQ", b, 32, n, 0)
    bad_file(bench, bad, resealed(b), at_ext, "in all")
    # A sound heap with the sidecar of another: the CPython peer refuses it.
    other = os.path.join(HERE, "fixtures", "tables.gpugc.json")
    bad_file(bench, bad, data, None, "belongs to another heap", sidecar=other, exit_status=1)
    p = subprocess.run([bench, "--workload", "pyheap:" + good, "--pause"], capture_output=True,
                       text=True)
    check(p.returncode == 2 and "full collections only" in p.stderr,
          "--pause on a captured heap: exit %d, %s" % (p.returncode, p.stderr))
    print("bad files: each refused with its offset")


def main():
    bench, scratch, required = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(scratch, exist_ok=True)
    os.environ.pop("GPUGC_BACKEND", None)  # the runs name their backends
    paths = unpack(scratch)
    replay(bench, scratch, paths, required)
    bad_files(bench, scratch, paths[1])
    if failures:
        sys.exit("%d replay checks failed" % len(failures))
    print("test_replay: all checks passed")


if __name__ == "__main__":
    main()

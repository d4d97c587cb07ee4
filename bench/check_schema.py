"""check_schema.py - checks gpugc-bench's JSON (and CSV) output against the
schema bench/SCHEMA.md documents, and that every runner measured the same
graph:

    python3 check_schema.py RESULTS.json [RESULTS.csv] [--groups N]
                            [--require-peers NAME,...]

--groups: how many (workload, size) groups the runs must form;
--require-peers: peers that must have run in every group.
Exits 1, listing the problems, when anything is off."""
import argparse
import csv
import json
import sys

STAGES = ("sync", "update_refs", "subtract_refs", "mark", "download", "sweep", "total")
NUM = (int, float)
INT = (int,)
NONE = (type(None),)
# Every field of a run, in order, with the types it may have.
FIELDS = [
    ("workload", (str,)), ("mode", (str,)), ("kind", (str,)), ("backend", (str,)),
    ("backend_ran", (str,)), ("objects", INT), ("young", INT), ("set_objects", INT),
    ("edges", INT), ("held", INT), ("garbage", NUM), ("garbage_objects", INT),
    ("expected_unreachable", INT), ("unreachable", INT + NONE), ("collect_ms", NUM),
    ("collect_ms_min", NUM), ("collect_ms_max", NUM), ("mark_ms", NUM + NONE),
    ("ns_per_object", NUM), ("stages", (dict,)), ("bytes_h2d", INT), ("bytes_d2h", INT),
    ("generation", INT), ("fallback", INT), ("degree", INT + NONE), ("chains", INT + NONE),
    ("seed", INT), ("hold", NUM), ("repeat", INT), ("build_ms", NUM),
    ("metadata_bytes_per_object", NUM), ("heap_bytes_per_object", NUM),
    ("peak_rss_bytes", INT), ("speedup", (dict,)), ("note", (str,)),
]


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def check_run(run):
    """Problems with one entry of "runs"; empty when it is right."""
    problems = []
    for key, kinds in FIELDS:
        if key not in run:
            problems.append("%s missing" % key)
        elif not isinstance(run[key], kinds) or isinstance(run[key], bool):
            problems.append("%s is %r" % (key, run[key]))
    extra = set(run) - {k for k, _ in FIELDS}
    if extra:
        problems.append("fields the schema lacks: %s" % ", ".join(sorted(extra)))
    if problems:
        return problems
    peer, st = run["kind"] == "peer", run["stages"]
    if run["kind"] not in ("backend", "peer") or run["mode"] not in ("full", "pause"):
        problems.append("kind %r / mode %r" % (run["kind"], run["mode"]))
    if list(st) != list(STAGES):
        problems.append("stages are %s, expected %s" % (list(st), list(STAGES)))
    for s in STAGES:
        v = st.get(s)
        if not (isinstance(v, NUM) or (peer and v is None and s != "total")):
            problems.append("stages.%s is %r" % (s, v))
    for name, v in run["speedup"].items():
        if not isinstance(v, NUM + NONE):
            problems.append("speedup.%s is %r" % (name, v))
    if problems:
        return problems
    if not close(run["collect_ms"], st["total"]):
        problems.append("collect_ms differs from stages.total")
    if not run["collect_ms_min"] <= run["collect_ms"] + 1e-9 <= run["collect_ms_max"] + 2e-9:
        problems.append("collect_ms outside collect_ms_min..collect_ms_max")
    if run["mark_ms"] is not None and run["mark_ms"] > run["collect_ms"] + 1e-6:
        problems.append("mark_ms exceeds collect_ms")
    expect, found = run["expected_unreachable"], run["unreachable"]
    if run["backend"] == "bdwgc":  # conservative: may keep a little garbage
        if found is None or found > expect:
            problems.append("unreachable %r of expected %d" % (found, expect))
    elif found != expect:
        problems.append("unreachable %r, expected %d" % (found, expect))
    generation = 2 if run["mode"] == "full" or run["backend"] == "bdwgc" else 0
    if run["generation"] != generation:
        problems.append("generation %d, expected %d" % (run["generation"], generation))
    if run["workload"] in ("random", "powerlaw") and run["mode"] == "full":
        if run["edges"] != run["objects"] * run["degree"]:
            problems.append("edges %d, expected objects x degree" % run["edges"])
    if run["backend"] in run["speedup"] and not close(run["speedup"][run["backend"]], 1):
        problems.append("speedup over itself is not 1")
    if not peer and run["fallback"] == 0 and run["backend"] not in ("auto", run["backend_ran"]):
        problems.append("ran on %s" % run["backend_ran"])
    return problems


def check_groups(runs, groups, peers):
    """Runs of one workload and size must agree on the graph."""
    problems, seen = [], {}
    for r in runs:
        seen.setdefault((r["workload"], r["objects"]), []).append(r)
    if groups is not None and len(seen) != groups:
        problems.append("%d workload/size groups, expected %d" % (len(seen), groups))
    for (workload, objects), group in seen.items():
        where = "%s, %d objects" % (workload, objects)
        for key in ("set_objects", "edges", "expected_unreachable", "held", "young"):
            values = {r[key] for r in group}
            if len(values) > 1:
                problems.append("%s: runs disagree on %s: %s" % (where, key, sorted(values)))
        ran = {r["backend"] for r in group}
        problems += ["%s: peer %s did not run" % (where, p) for p in peers if p not in ran]
    return problems


def flat(run):
    """The run as CSV columns: groups become group.name."""
    out = []
    for key, _ in FIELDS:
        if isinstance(run[key], dict):
            out += [("%s.%s" % (key, k), v) for k, v in run[key].items()]
        else:
            out.append((key, run[key]))
    return out


def check_csv(path, runs):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return ["%s is empty" % path]
    header, body, problems = rows[0], rows[1:], []
    want = [k for k, _ in flat(runs[0])]
    if header != want:
        return ["CSV header %s, expected %s" % (header, want)]
    if len(body) != len(runs):
        return ["%d CSV rows for %d runs" % (len(body), len(runs))]
    for i, (row, run) in enumerate(zip(body, runs)):
        for cell, (key, value) in zip(row, flat(run)):
            if value is None:
                ok = cell == ""
            elif isinstance(value, str):
                ok = cell == value
            else:
                ok = cell != "" and close(float(cell), float(value))
            if not ok:
                problems.append("CSV row %d: %s is %r, JSON has %r" % (i + 1, key, cell, value))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("csv", nargs="?")
    ap.add_argument("--groups", type=int)
    ap.add_argument("--require-peers", default="")
    args = ap.parse_args()
    with open(args.json) as f:
        doc = json.load(f)
    problems = []
    meta = doc.get("gpugc_bench") if isinstance(doc, dict) else None
    machine = meta.get("machine") if isinstance(meta, dict) else None
    if not isinstance(machine, dict) or not {"cpu", "cores", "memory_bytes"} <= set(machine):
        problems.append("gpugc_bench.machine missing or incomplete")
    if not isinstance(meta, dict) or not all(isinstance(meta.get(k), str)
                                             for k in ("version", "command", "date")):
        problems.append("gpugc_bench.version/command/date missing")
    runs, skipped = doc.get("runs"), doc.get("skipped")
    if not isinstance(runs, list) or not runs or not isinstance(skipped, list):
        sys.exit("%s: no \"runs\" list (or it is empty), or no \"skipped\" list" % args.json)
    for s in skipped:
        if not (isinstance(s.get("backend"), str) and isinstance(s.get("reason"), str)
                and "workload" in s and "objects" in s):
            problems.append("skipped entry %r" % s)
    for i, run in enumerate(runs):
        problems += ["runs[%d] (%s): %s" % (i, run.get("backend"), p) for p in check_run(run)]
    if not problems:
        peers = [p for p in args.require_peers.split(",") if p]
        problems += check_groups(runs, args.groups, peers)
        if args.csv:
            problems += check_csv(args.csv, runs)
    for p in problems:
        print("%s: %s" % (args.json, p))
    if problems:
        sys.exit(1)
    print("%s: %d runs (%s) match the schema" % (
        args.json, len(runs), ", ".join(dict.fromkeys(r["backend"] for r in runs))))


if __name__ == "__main__":
    main()

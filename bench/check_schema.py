"""check_schema.py - checks gpugc-bench's JSON (and CSV) output against the
schema bench/SCHEMA.md documents, that every runner measured the same graph,
and that every runner of a program computed the same check values:

    python3 check_schema.py RESULTS.json [RESULTS.csv] [--groups N]
                            [--require-peers NAME,...] [--programs N] [--micro]
                            [--require-runners NAME,...] [--concurrent N]

--groups: how many (workload, size) groups the runs must form;
--require-peers: peers that must have run in every group, and on every
program (malloc only on programs without cycles, where it is asked for);
--programs: how many program groups (program and size) there must be;
--micro: the file must hold microbenchmark records;
--require-runners: runners (backends or peers) that must have succeeded
(status ok) in every group;
--concurrent: how many heap pause records there must be (and a steady
state: every runner and collector mode agreeing on interp's check values;
with --require-peers, those peers must have run it).
Runs that did not succeed (status failed, timeout, refused, stopped) are
checked for their message and null figures, and left out of the checks
across a group.
The CSV files of programs, micro, heap pause and steady-state records are
read beside RESULTS.csv (NAME-programs.csv, NAME-micro.csv,
NAME-concurrent.csv, NAME-steady.csv).
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
    ("backend_ran", (str,)), ("status", (str,)), ("message", (str,)), ("objects", INT), ("young", INT), ("set_objects", INT),
    ("edges", INT), ("held", INT), ("garbage", NUM), ("garbage_objects", INT),
    ("expected_unreachable", INT), ("unreachable", INT + NONE), ("collect_ms", NUM),
    ("collect_ms_min", NUM), ("collect_ms_max", NUM), ("mark_ms", NUM + NONE),
    ("ns_per_object", NUM), ("stages", (dict,)), ("bytes_h2d", INT), ("bytes_d2h", INT),
    ("generation", INT), ("fallback", INT), ("degree", INT + NONE), ("chains", INT + NONE),
    ("seed", INT), ("hold", NUM), ("repeat", INT), ("build_ms", NUM),
    ("metadata_bytes_per_object", NUM), ("heap_bytes_per_object", NUM),
    ("peak_rss_bytes", INT), ("speedup", (dict,)), ("note", (str,)),
]


STATUSES = ("ok", "failed", "timeout", "refused", "stopped")
# What a run that did not succeed holds as null: everything it would have
# measured.
UNMEASURED = {"backend_ran", "set_objects", "edges", "held", "garbage_objects",
              "expected_unreachable", "unreachable", "collect_ms", "collect_ms_min",
              "collect_ms_max", "mark_ms", "ns_per_object", "bytes_h2d", "bytes_d2h",
              "generation", "fallback", "build_ms", "metadata_bytes_per_object",
              "heap_bytes_per_object", "peak_rss_bytes"}


# A program record's fields, in order.
PROGRAM_FIELDS = [
    ("kind", (str,)), ("program", (str,)), ("runner", (str,)), ("runner_kind", (str,)),
    ("depth", INT + NONE), ("objects", INT + NONE), ("steps", INT + NONE),
    ("cycles", NUM + NONE), ("seed", INT + NONE), ("check", (str,)), ("total_ms", NUM),
    ("gc_ms", NUM + NONE), ("collections", INT), ("generations", (dict,)),
    ("max_pause_ms", NUM + NONE), ("peak_rss_bytes", INT), ("speedup", (dict,)),
    ("note", (str,)),
]
PROGRAMS = ("binary-trees", "gcbench", "interp")
CYCLIC = ("interp",)  # programs malloc/free cannot run
GENERATIONS = ("gen0", "gen1", "gen2")
# A microbenchmark record's fields, in order.
MICRO_FIELDS = [
    ("kind", (str,)), ("op", (str,)), ("runner", (str,)), ("size", INT), ("slots", INT),
    ("ns_per_op", NUM), ("ops_per_round", INT), ("rounds", INT), ("peak_rss_bytes", INT),
    ("speedup", (dict,)), ("note", (str,)),
]
MICRO_OPS = ("new", "free", "new+free", "incref", "decref", "incref+decref", "set_ref",
             "get_ref", "resize_refs", "free tree")
# --concurrent: a heap pause record's fields, in order; ROUND's in first and
# steady.  A record that did not succeed has null for every figure.
ROUND = ("start_ms", "finish_ms", "longest_step_ms", "stats_start_ms", "stats_finish_ms",
         "mark_ms")
BG_FIELDS = [
    ("kind", (str,)), ("backend", (str,)), ("backend_ran", (str,) + NONE),
    ("fallback", INT + NONE), ("status", (str,)), ("message", (str,)), ("workload", (str,)),
    ("objects", INT), ("degree", INT), ("hold", NUM), ("seed", INT), ("held", INT),
    ("set_objects", INT + NONE), ("stw_ms", NUM + NONE), ("rounds", INT + NONE),
    ("first", (dict,)), ("steady", (dict,)), ("longest_pause_ms", NUM + NONE),
    ("median_round_pause_ms", NUM + NONE),
    ("pause_ratio", NUM + NONE), ("target_ratio", NUM), ("target_met", INT + NONE),
    ("steps_per_s", NUM + NONE), ("idle_steps_per_s", NUM + NONE),
    ("idle_longest_step_ms", NUM + NONE), ("snapshot_bytes_per_object", NUM + NONE),
    ("peak_rss_bytes", INT + NONE), ("note", (str,)),
]
BG_MEASURED = {k for k, t in BG_FIELDS if type(None) in t}
STEADY_FIELDS = [
    ("kind", (str,)), ("program", (str,)), ("runner", (str,)), ("runner_kind", (str,)),
    ("collector", (str,)), ("objects", INT), ("steps", INT), ("cycles", NUM), ("seed", INT),
    ("check", (str,)), ("total_ms", NUM), ("collections", INT), ("pauses", INT),
    ("paused_ms", NUM), ("max_pause_ms", NUM + NONE), ("p99_pause_ms", NUM + NONE),
    ("peak_rss_bytes", INT), ("note", (str,)),
]
# The collector modes each runner has.
MODES = {"bdwgc": ("stop-the-world", "incremental"), "cpython": ("stop-the-world",)}
GPUGC_MODES = ("stop-the-world", "background")


def check_types(rec, fields):
    """Missing fields, wrong types, fields the schema lacks."""
    problems = []
    for key, kinds in fields:
        if key not in rec:
            problems.append("%s missing" % key)
        elif not isinstance(rec[key], kinds) or isinstance(rec[key], bool):
            problems.append("%s is %r" % (key, rec[key]))
    extra = set(rec) - {k for k, _ in fields}
    if extra:
        problems.append("fields the schema lacks: %s" % ", ".join(sorted(extra)))
    if not problems and "speedup" in rec:
        problems += ["speedup.%s is %r" % (k, v) for k, v in rec["speedup"].items()
                     if not isinstance(v, NUM + NONE) or isinstance(v, bool)]
    return problems


def check_program(rec):
    """Problems with one entry of "programs"."""
    problems = check_types(rec, PROGRAM_FIELDS)
    if problems:
        return problems
    gens, interp = rec["generations"], rec["program"] == "interp"
    if rec["kind"] != "program" or rec["program"] not in PROGRAMS:
        problems.append("kind %r / program %r" % (rec["kind"], rec["program"]))
    if rec["runner_kind"] not in ("backend", "peer"):
        problems.append("runner_kind %r" % rec["runner_kind"])
    if interp != (rec["depth"] is None) or any((rec[k] is None) == interp
                                               for k in ("objects", "steps", "seed", "cycles")):
        problems.append("depth (binary-trees, gcbench) or objects/steps/seed/cycles (interp)")
    if rec["runner"] == "malloc" and rec["program"] in CYCLIC:
        problems.append("malloc ran %s, which makes cycles" % rec["program"])
    if list(gens) != list(GENERATIONS) or not all(isinstance(v, INT + NONE) for v in gens.values()):
        problems.append("generations is %r" % gens)
    elif gens["gen0"] is not None and sum(gens.values()) != rec["collections"]:
        problems.append("generations add up to %d, collections %d"
                        % (sum(gens.values()), rec["collections"]))
    if not rec["check"] or not all(w.isdigit() for w in rec["check"].split(" ")):
        problems.append("check %r is not decimals separated by spaces" % rec["check"])
    if rec["total_ms"] <= 0:
        problems.append("total_ms %r" % rec["total_ms"])
    gc_ms, pause = rec["gc_ms"], rec["max_pause_ms"]
    if gc_ms is not None and gc_ms > rec["total_ms"] + 1e-6:
        problems.append("gc_ms exceeds total_ms")
    if pause is not None and (rec["collections"] == 0 or (gc_ms is not None and
                                                         pause > gc_ms + 1e-6)):
        problems.append("max_pause_ms %r with %d collections, gc_ms %r"
                        % (pause, rec["collections"], gc_ms))
    if rec["runner"] in rec["speedup"] and not close(rec["speedup"][rec["runner"]], 1):
        problems.append("speedup over itself is not 1")
    return problems


def check_micro(rec):
    """Problems with one entry of "micro"."""
    problems = check_types(rec, MICRO_FIELDS)
    if problems:
        return problems
    if rec["kind"] != "micro" or rec["op"] not in MICRO_OPS:
        problems.append("kind %r / op %r" % (rec["kind"], rec["op"]))
    if rec["ns_per_op"] <= 0 or rec["rounds"] < 1 or rec["ops_per_round"] < 1:
        problems.append("ns_per_op %r, rounds %r" % (rec["ns_per_op"], rec["rounds"]))
    if rec["runner"] in rec["speedup"] and not close(rec["speedup"][rec["runner"]], 1):
        problems.append("speedup over itself is not 1")
    return problems


def check_bg(rec):
    """Problems with one entry of "concurrent" (a heap pause record)."""
    problems = check_types(rec, BG_FIELDS)
    if problems:
        return problems
    if rec["kind"] != "heap_pause" or rec["workload"] != "random":
        problems.append("kind %r / workload %r" % (rec["kind"], rec["workload"]))
    if rec["status"] not in STATUSES:
        return problems + ["status %r" % rec["status"]]
    rounds = [rec["first"], rec["steady"]]
    if any(list(r) != list(ROUND) for r in rounds):
        return problems + ["first/steady fields are %s, expected %s"
                           % ([list(r) for r in rounds], list(ROUND))]
    if rec["status"] != "ok":
        if not rec["message"]:
            problems.append("status %s without a message" % rec["status"])
        problems += ["%s is %r, not null" % (k, rec[k]) for k in sorted(BG_MEASURED)
                     if rec[k] is not None]
        problems += ["%s is %r, not null" % (k, v) for r in rounds for k, v in r.items()
                     if v is not None]
        return problems
    if rec["message"] != "" or any(rec[k] is None for k in BG_MEASURED):
        return problems + ["status ok with a message or a null figure"]
    if any(not isinstance(v, NUM) or v < 0 for r in rounds for v in r.values()):
        return problems + ["first/steady holds %r" % rounds]
    steady = rec["steady"]
    longest = max(steady["start_ms"], steady["finish_ms"], steady["longest_step_ms"])
    if not close(rec["longest_pause_ms"], longest):
        problems.append("longest_pause_ms %r is not the most of start, finish and step"
                        % rec["longest_pause_ms"])
    if not 0 < rec["median_round_pause_ms"] <= longest + 1e-9:
        problems.append("median_round_pause_ms %r above longest_pause_ms"
                        % rec["median_round_pause_ms"])
    if rec["stw_ms"] <= 0 or not close(rec["pause_ratio"], longest / rec["stw_ms"]):
        problems.append("pause_ratio %r, stw_ms %r" % (rec["pause_ratio"], rec["stw_ms"]))
    target = 0.05 if rec["objects"] >= 16000000 else 0.1
    if not close(rec["target_ratio"], target):
        problems.append("target_ratio %r for %d objects" % (rec["target_ratio"], rec["objects"]))
    if rec["target_met"] != int(rec["pause_ratio"] <= rec["target_ratio"] + 1e-12):
        problems.append("target_met %r with pause_ratio %r" % (rec["target_met"],
                                                              rec["pause_ratio"]))
    # The program's own timing of a call includes what the library timed.
    for r in rounds:
        if (r["stats_start_ms"] > r["start_ms"] + 1e-3
                or r["stats_finish_ms"] > r["finish_ms"] + 1e-3):
            problems.append("the stats' pauses exceed the program's: %r" % r)
    if rec["rounds"] < 3 or rec["set_objects"] < rec["objects"] or rec["held"] < 1:
        problems.append("rounds %r, set_objects %r, held %r" % (rec["rounds"],
                                                               rec["set_objects"], rec["held"]))
    if rec["steps_per_s"] <= 0 or rec["idle_steps_per_s"] <= 0 or rec["snapshot_bytes_per_object"] <= 0:
        problems.append("steps_per_s, idle_steps_per_s or snapshot_bytes_per_object not positive")
    if rec["fallback"] not in (0, 1) or (rec["fallback"] == 0 and rec["backend"] not in (
            "auto", rec["backend_ran"])) or (rec["fallback"] == 1 and rec["backend_ran"] != "cpu"):
        problems.append("fallback %r: %s ran on %s" % (rec["fallback"], rec["backend"],
                                                        rec["backend_ran"]))
    return problems


def check_steady(rec):
    """Problems with one entry of "steady"."""
    problems = check_types(rec, STEADY_FIELDS)
    if problems:
        return problems
    if rec["kind"] != "steady" or rec["program"] != "interp":
        problems.append("kind %r / program %r" % (rec["kind"], rec["program"]))
    modes = MODES.get(rec["runner"], GPUGC_MODES if rec["runner_kind"] == "backend" else ())
    if rec["collector"] not in modes:
        problems.append("collector %r on %s" % (rec["collector"], rec["runner"]))
    if rec["steps"] != 10 * rec["objects"] or rec["total_ms"] <= 0:
        problems.append("steps %r for %r objects, total_ms %r" % (rec["steps"], rec["objects"],
                                                                  rec["total_ms"]))
    pause, p99 = rec["max_pause_ms"], rec["p99_pause_ms"]
    if (pause is None) != (rec["pauses"] == 0) or (p99 is None) != (pause is None):
        problems.append("max_pause_ms %r, p99_pause_ms %r with %d pauses"
                        % (pause, p99, rec["pauses"]))
    elif pause is not None and not (p99 <= pause + 1e-9 <= rec["paused_ms"] + 2e-9):
        problems.append("p99 %r, longest %r, total %r out of order"
                        % (p99, pause, rec["paused_ms"]))
    if rec["collector"] == "background" and rec["pauses"] != 2 * rec["collections"]:
        problems.append("background: %d pauses for %d collections, expected two each"
                        % (rec["pauses"], rec["collections"]))
    return problems


def check_concurrent(bg, steady, count, peers):
    """The heap pause records asked for; every steady-state runner and mode
    agreeing on the check values, each mode once, the peers present."""
    problems = []
    if count is not None and len(bg) != count:
        problems.append("%d heap pause records, expected %d" % (len(bg), count))
    if not steady:
        return problems + ["no steady-state records"]
    checks = {r["check"] for r in steady}
    if len(checks) > 1:
        problems.append("steady state: runners disagree on the check values: %s" % "; ".join(
            "%s %s %s" % (r["runner"], r["collector"], r["check"]) for r in steady))
    ran = [(r["runner"], r["collector"]) for r in steady]
    if len(set(ran)) != len(ran):
        problems.append("steady state: a runner and mode ran twice: %s" % ran)
    for runner in {r for r, _ in ran}:
        modes = MODES.get(runner, GPUGC_MODES)
        problems += ["steady state: %s did not run %s" % (runner, m) for m in modes
                     if (runner, m) not in ran]
    problems += ["steady state: peer %s did not run" % p for p in peers
                 if p != "malloc" and p not in {r for r, _ in ran}]
    return problems


def check_programs(programs, groups, peers):
    """Every runner of a program computed the same check values."""
    problems, seen = [], {}
    for r in programs:
        seen.setdefault((r["program"], r["depth"], r["objects"]), []).append(r)
    if groups is not None and len(seen) != groups:
        problems.append("%d program groups, expected %d" % (len(seen), groups))
    for (program, depth, objects), group in seen.items():
        where = "%s, %s" % (program, "depth %d" % depth if depth is not None
                            else "%d objects" % objects)
        checks = {r["check"] for r in group}
        if len(checks) > 1:
            problems.append("%s: runners disagree on the check values: %s" % (
                where, "; ".join("%s %s" % (r["runner"], r["check"]) for r in group)))
        ran = {r["runner"] for r in group}
        problems += ["%s: peer %s did not run" % (where, p) for p in peers
                     if p not in ran and not (p == "malloc" and program in CYCLIC)]
    return problems


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def check_run(run):
    """Problems with one entry of "runs"; empty when it is right."""
    if run.get("status", "ok") != "ok":
        return check_failed_run(run)
    problems = check_types(run, FIELDS)
    if problems:
        return problems
    if run["message"] != "":
        problems.append("status ok with message %r" % run["message"])
    peer, st = run["kind"] == "peer", run["stages"]
    if run["kind"] not in ("backend", "peer") or run["mode"] not in ("full", "pause"):
        problems.append("kind %r / mode %r" % (run["kind"], run["mode"]))
    if list(st) != list(STAGES):
        problems.append("stages are %s, expected %s" % (list(st), list(STAGES)))
    for s in STAGES:
        v = st.get(s)
        if not (isinstance(v, NUM) or (peer and v is None and s != "total")):
            problems.append("stages.%s is %r" % (s, v))
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
    # After a fallback the marks used are the CPU reference's.
    if run["fallback"] not in (0, 1) or (run["fallback"] == 1 and (
            peer or run["backend_ran"] != "cpu" or run["backend"] == "cpu")):
        problems.append("fallback %r: %s ran on %s" % (run["fallback"], run["backend"],
                                                        run["backend_ran"]))
    return problems


def check_failed_run(run):
    """A run that did not succeed: its status and message, the flags, and
    null for every figure."""
    fields = [(k, t + NONE if k in UNMEASURED else t) for k, t in FIELDS]
    problems = check_types(run, fields)
    if problems:
        return problems
    if run["status"] not in STATUSES:
        problems.append("status %r" % run["status"])
    if not run["message"]:
        problems.append("status %s without a message" % run["status"])
    problems += ["%s is %r, not null" % (k, run[k]) for k in sorted(UNMEASURED)
                 if run[k] is not None]
    problems += ["stages.%s is %r, not null" % (k, v) for k, v in run["stages"].items()
                 if v is not None]
    problems += ["speedup.%s is %r, not null" % (k, v) for k, v in run["speedup"].items()
                 if v is not None]
    return problems


def check_groups(runs, groups, peers, required=()):
    """Runs of one workload and size must agree on the graph; the required
    runners must have succeeded in every group."""
    problems, seen = [], {}
    for r in runs:
        seen.setdefault((r["workload"], r["objects"]), []).append(r)
    if groups is not None and len(seen) != groups:
        problems.append("%d workload/size groups, expected %d" % (len(seen), groups))
    for (workload, objects), group in seen.items():
        where = "%s, %d objects" % (workload, objects)
        ok = {r["backend"] for r in group if r["status"] == "ok"}
        problems += ["%s: %s did not succeed" % (where, b) for b in required if b not in ok]
        group = [r for r in group if r["status"] == "ok"]
        for key in ("set_objects", "edges", "expected_unreachable", "held", "young"):
            values = {r[key] for r in group}
            if len(values) > 1:
                problems.append("%s: runs disagree on %s: %s" % (where, key, sorted(values)))
        ran = {r["backend"] for r in group}
        problems += ["%s: peer %s did not run" % (where, p) for p in peers if p not in ran]
    return problems


def flat(run, fields):
    """The record as CSV columns: groups become group.name."""
    out = []
    for key, _ in fields:
        if isinstance(run[key], dict):
            out += [("%s.%s" % (key, k), v) for k, v in run[key].items()]
        else:
            out.append((key, run[key]))
    return out


def check_csv(path, runs, fields):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        return ["%s: %s" % (path, e.strerror)]
    if not rows:
        return ["%s is empty" % path]
    header, body, problems = rows[0], rows[1:], []
    want = [k for k, _ in flat(runs[0], fields)]
    if header != want:
        return ["CSV header %s, expected %s" % (header, want)]
    if len(body) != len(runs):
        return ["%d CSV rows for %d runs" % (len(body), len(runs))]
    for i, (row, run) in enumerate(zip(body, runs)):
        for cell, (key, value) in zip(row, flat(run, fields)):
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
    ap.add_argument("--programs", type=int)
    ap.add_argument("--micro", action="store_true")
    ap.add_argument("--require-runners", default="",
                    help="runners that must have succeeded in every group")
    ap.add_argument("--concurrent", type=int,
                    help="heap pause records there must be, and a steady state")
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
    # Files from before programs and micro existed have neither list.
    programs, micro = doc.get("programs", []), doc.get("micro", [])
    bg, steady = doc.get("concurrent", []), doc.get("steady", [])
    if not all(isinstance(x, list) for x in (runs, skipped, programs, micro, bg, steady)):
        sys.exit("%s: no \"runs\", \"programs\", \"micro\", \"concurrent\", \"steady\" "
                 "or \"skipped\" list" % args.json)
    if not (runs or programs or micro or bg or steady):
        sys.exit("%s: no runs, programs, micro or concurrent records at all" % args.json)
    if args.micro and not micro:
        problems.append("no micro records")
    for s in skipped:
        if not (isinstance(s.get("backend"), str) and isinstance(s.get("reason"), str)
                and "workload" in s and "objects" in s):
            problems.append("skipped entry %r" % s)
    for i, run in enumerate(runs):
        problems += ["runs[%d] (%s): %s" % (i, run.get("backend"), p) for p in check_run(run)]
    for i, rec in enumerate(programs):
        problems += ["programs[%d] (%s): %s" % (i, rec.get("runner"), p)
                     for p in check_program(rec)]
    for i, rec in enumerate(micro):
        problems += ["micro[%d] (%s): %s" % (i, rec.get("runner"), p) for p in check_micro(rec)]
    for i, rec in enumerate(bg):
        problems += ["concurrent[%d] (%s): %s" % (i, rec.get("backend"), p) for p in check_bg(rec)]
    for i, rec in enumerate(steady):
        problems += ["steady[%d] (%s): %s" % (i, rec.get("runner"), p) for p in check_steady(rec)]
    if not problems:
        peers = [p for p in args.require_peers.split(",") if p]
        if runs or args.groups is not None:
            problems += check_groups(runs, args.groups, [p for p in peers if p != "malloc"],
                                     [b for b in args.require_runners.split(",") if b])
        if programs or args.programs is not None:
            problems += check_programs(programs, args.programs, peers)
        if bg or steady or args.concurrent is not None:
            problems += check_concurrent(bg, steady, args.concurrent, peers)
        if args.csv:
            stem = args.csv[:-4] if args.csv.endswith(".csv") else args.csv
            ext = args.csv[len(stem):]
            for records, fields, suffix in ((runs, FIELDS, ""),
                                            (programs, PROGRAM_FIELDS, "-programs"),
                                            (micro, MICRO_FIELDS, "-micro"),
                                            (bg, BG_FIELDS, "-concurrent"),
                                            (steady, STEADY_FIELDS, "-steady")):
                if records:
                    problems += check_csv(stem + suffix + ext, records, fields)
    for p in problems:
        print("%s: %s" % (args.json, p))
    if problems:
        sys.exit(1)
    print("%s: %d runs (%s), %d programs (%s), %d micro, %d heap pause and %d steady-state "
          "records match the schema" % (
              args.json, len(runs), ", ".join(dict.fromkeys(r["backend"] for r in runs)),
              len(programs), ", ".join(dict.fromkeys(r["runner"] for r in programs)), len(micro),
              len(bg), len(steady)))


if __name__ == "__main__":
    main()

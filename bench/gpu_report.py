#!/usr/bin/env python3
"""gpu_report.py - the records of scripts/gpu.sh, written after every step
so that a call cut short still leaves everything done so far.

usage: gpu_report.py step DIR NAME RC MS TIMEOUT_S EXPECTED_S
       gpu_report.py summary STEPS_DIR OUT_DIR MODE BUDGET_S

step: DIR/json, the step: its status line, exit status, time, timeout,
the time expected, its commands (DIR/cmd), the end of its log, and its
result (DIR/result.json: gpugc-bench's JSON, the probe's, the machine's),
or null.
summary: OUT_DIR/summary.json, every step's json in order, and with them
the bench runs of all steps joined as one results file (bench/SCHEMA.md's
header, runs and skips: check_schema.py reads it); OUT_DIR/summary.md: the
commit, the GPU, the steps, then per workload and size each runner's
collection, its mark phase (every transfer included), ns per object, edges
per second of the search stage, and cuda's speed-up over the best CPU
backend; runs that did not succeed with their status and message, and a
fallback with the backend that failed; then the probe's figures.
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def step(d, name, rc, ms, timeout, expected):
    with open(os.path.join(d, "status")) as f:
        status = f.read().strip()
    commands = []
    if os.path.exists(os.path.join(d, "cmd")):
        with open(os.path.join(d, "cmd")) as f:
            commands = [l.rstrip() for l in f if l.strip()]
    tail = []
    if os.path.exists(os.path.join(d, "log")):
        with open(os.path.join(d, "log"), errors="replace") as f:
            tail = f.read().splitlines()[-30:]
    rec = {"step": os.path.basename(d), "name": name, "status": status.split(":")[0],
           "status_line": status, "rc": int(rc), "seconds": int(ms) / 1e3,
           "timeout_s": int(timeout), "expected_s": int(expected), "commands": commands,
           "log_tail": tail, "result": load(os.path.join(d, "result.json"))}
    with open(os.path.join(d, "json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def cell(v, fmt):
    return fmt.format(v) if v is not None else "-"


def runs_table(runs):
    lines = ["| workload | objects | runner | marked by | collection ms | mark phase ms "
             "| ns/object (mark) | search Gedges/s | cuda vs best CPU |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for r in runs:
        groups.setdefault((r["workload"], r["objects"]), []).append(r)
    for (workload, objects), group in groups.items():
        ok = [r for r in group if r.get("status", "ok") == "ok"]
        cpu = [r["mark_ms"] for r in ok
               if r.get("backend_ran") in ("cpu", "cpu-parallel") and not r.get("fallback")
               and r.get("mark_ms")]
        for r in group:
            runner = r["backend"]
            if r.get("status", "ok") != "ok":
                lines.append(f"| {workload} | {objects:,} | {runner} | {r['status']}: "
                             f"{r['message']} | - | - | - | - | - |")
                continue
            by = r.get("backend_ran") or runner
            if r.get("fallback"):  # the runner's backend failed: the CPU reference's marks
                by = f"{by} (fallback: {runner} failed)"
            mark = r.get("mark_ms")
            search = (r.get("stages") or {}).get("mark")
            geps = r["edges"] / (search * 1e-3) / 1e9 if search and r.get("edges") else None
            ratio = (min(cpu) / mark if runner == "cuda" and not r.get("fallback") and cpu
                     and mark else None)
            lines.append(f"| {workload} | {objects:,} | {runner} | {by} | "
                         f"{r['collect_ms']:.3f} | {cell(mark, '{:.3f}')} | "
                         f"{cell(mark and mark * 1e6 / objects, '{:.3f}')} | "
                         f"{cell(geps, '{:.2f}')} | {cell(ratio, '{:.1f}x')} |")
    return lines


def pause_table(recs):
    """Background collection's heap pauses (gpugc-bench --concurrent)."""
    lines = ["| objects | runner | marked by | stop-the-world ms | start ms | finish ms "
             "| longest step ms | longest pause ms | ratio | target | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        if r.get("status", "ok") != "ok":
            lines.append(f"| {r['objects']:,} | {r['backend']} | {r['status']}: {r['message']} "
                         "| - | - | - | - | - | - | - | - |")
            continue
        by = r.get("backend_ran") or r["backend"]
        if r.get("fallback"):
            by = f"{by} (fallback: {r['backend']} failed)"
        st, ratio = r["steady"], r.get("pause_ratio")
        lines.append(f"| {r['objects']:,} | {r['backend']} | {by} | {r['stw_ms']:.1f} | "
                     f"{st['start_ms']:.2f} | {st['finish_ms']:.2f} | {st['longest_step_ms']:.2f} | "
                     f"{r['longest_pause_ms']:.2f} | {cell(ratio and 1 / ratio, '1/{:.1f}')} | "
                     f"1/{1 / r['target_ratio']:.0f} | {'yes' if r.get('target_met') else 'no'} |")
    return lines


def probe_lines(p):
    if not p:
        return []
    rows = [("random 4-byte reads", "%.2f G reads/s, %.1f GB/s useful, %.1f GB/s in 32-byte "
             "sectors" % (p["random_read"]["greads_s"], p["random_read"]["useful_gb_s"],
                          p["random_read"]["sector_gb_s"])),
            ("streaming read", "%.1f GB/s (peak by clock and bus: %.1f)" % (
                p["stream_read"]["gb_s"], p["peak_gb_s"])),
            ("atomicAdd, random words", "%.2f G/s" % p["atomic_add_random"]["gops_s"]),
            ("atomicAdd, one word", "%.2f G/s" % p["atomic_add_one_word"]["gops_s"]),
            ("host to device, pinned", "%.1f GB/s" % p["h2d_pinned"]["gb_s"]),
            ("host to device, pageable", "%.1f GB/s" % p["h2d_pageable"]["gb_s"]),
            ("device to host, pinned", "%.1f GB/s" % p["d2h_pinned"]["gb_s"])]
    return (["", "## The chip (scripts/gpu_probe.cu, median of %d, %d MiB buffer)" % (
        p["repeats"], p["buffer_bytes"] >> 20), "", "| operation | rate |", "|---|---|"]
        + ["| %s | %s |" % r for r in rows])


def summary(steps_dir, out, mode, budget):
    steps = [load(os.path.join(steps_dir, d, "json")) for d in sorted(os.listdir(steps_dir))]
    steps = [s for s in steps if s is not None]
    by_name = {s["name"]: s for s in steps}
    machine = (by_name.get("machine") or {}).get("result") or {}
    call = machine.get("call") or {}
    benches = [s["result"] for s in steps
               if isinstance(s["result"], dict) and "gpugc_bench" in s["result"]]
    gpus = machine.get("gpus") or []
    gpu = gpus[0].get("name") if gpus else None
    header = dict(benches[0]["gpugc_bench"], gpu=gpu, commit=call.get("commit"),
                  commands=[b["gpugc_bench"]["command"] for b in benches]) if benches else {}
    doc = {"gpu_sh": {"mode": mode, "budget_s": int(budget), "call": call or None,
                      "machine": machine or None, "steps": steps},
           "gpugc_bench": header,
           "runs": [r for b in benches for r in b["runs"]],
           "programs": [], "micro": [],
           "concurrent": [r for b in benches for r in b.get("concurrent", [])],
           "steady": [r for b in benches for r in b.get("steady", [])],
           "skipped": [s for b in benches for s in b.get("skipped", [])]}
    write(os.path.join(out, "summary.json"), json.dumps(doc, indent=1) + "\n")

    mem = machine.get("meminfo") or {}
    lines = [f"# gpugc on {gpu or 'no GPU'} ({mode})", "",
             f"- Commit: {call.get('describe', 'unknown (no .deb/call.json)')} "
             f"{call.get('commit', '')}" + (f", {len(call['changed'])} changed paths"
                                            if call.get("changed") else ""),
             f"- Called as: `{call.get('device_command', 'bash scripts/gpu.sh')}`"
             f"{', carrying ' + ', '.join(call['carry']) if call.get('carry') else ''}",
             f"- GPU (nvidia-smi): {json.dumps(gpus) if gpus else 'none'}",
             f"- Cores: {machine.get('cores')}, MemTotal {mem.get('MemTotal_bytes', 0) / 2**30:.1f}"
             f" GiB, MemAvailable at the start {mem.get('MemAvailable_bytes', 0) / 2**30:.1f} GiB",
             "", "| step | status | seconds | timeout | expected |", "|---|---|---|---|---|"]
    lines += [f"| {s['step']} | {s['status_line']} | {s['seconds']:.1f} | {s['timeout_s']} | "
              f"{s['expected_s']} |" for s in steps]
    lines.append(f"\nTotal: {sum(s['seconds'] for s in steps):.1f} s of {budget}.")
    if doc["runs"]:
        lines += ["", "## Collections (each step's command is in summary.json)", ""]
        lines += runs_table(doc["runs"])
    if doc["concurrent"]:
        lines += ["", "## Background collection (gpugc-bench --concurrent: the worst of the "
                  "rounds after the first; the H200 target is a longest pause of 10 ms at 100M)",
                  ""]
        lines += pause_table(doc["concurrent"])
    skipped = dict.fromkeys(f"{s['backend']}: {s['reason']}" for s in doc["skipped"])
    if skipped:
        lines += ["", "Skipped:"] + [f"- {s}" for s in skipped]
    lines += probe_lines((by_name.get("probe") or {}).get("result"))
    write(os.path.join(out, "summary.md"), "\n".join(lines) + "\n")


def write(path, text):
    """Replaces path whole, so that a call killed meanwhile leaves the last one."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    if len(sys.argv) == 8 and sys.argv[1] == "step":
        step(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "summary":
        summary(*sys.argv[2:])
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()

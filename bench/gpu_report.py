#!/usr/bin/env python3
"""gpu_report.py - joins the JSON files of scripts/gpu.sh into one and
writes its Markdown summary.

usage: gpu_report.py OUT GPU COMMIT COMMAND FILE.json...
Writes OUT.json (the first file's header, every file's runs and skips) and
OUT.md: the command, the GPU, the commit, and per workload and size each
runner's collection, its mark phase (every transfer included), ns per
object, edges per second of the search stage, and the speed-up of cuda
over the best CPU backend.
"""
import json
import sys


def main():
    out, gpu, commit, command, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    docs = [json.load(open(f)) for f in files]
    joined = {"gpugc_bench": dict(docs[0]["gpugc_bench"], gpu=gpu, commit=commit,
                                  commands=[d["gpugc_bench"]["command"] for d in docs]),
              "runs": [r for d in docs for r in d["runs"]],
              "skipped": [s for d in docs for s in d.get("skipped", [])]}
    with open(out + ".json", "w") as f:
        json.dump(joined, f, indent=1)
        f.write("\n")

    lines = [f"# gpugc on {gpu}", "",
             f"- Command: `bash {command}` (each benchmark command is in the JSON file)",
             f"- GPU (nvidia-smi): {gpu}",
             f"- Commit: {commit}",
             f"- Machine: {json.dumps(docs[0]['gpugc_bench'].get('machine', {}))}", "",
             "| workload | objects | runner | collection ms | mark phase ms | ns/object (mark) "
             "| search Gedges/s | cuda vs best CPU |",
             "|---|---|---|---|---|---|---|---|"]
    groups = {}
    for r in joined["runs"]:
        groups.setdefault((r["workload"], r["objects"]), []).append(r)
    for (workload, objects), runs in groups.items():
        cpu = [r["mark_ms"] for r in runs
               if r.get("backend_ran") in ("cpu", "cpu-parallel") and not r.get("fallback")
               and r.get("mark_ms")]
        for r in runs:
            name = r.get("backend_ran") or r.get("backend") or r.get("peer") or r.get("kind")
            if r.get("fallback"):  # the chosen backend failed: the CPU reference's marks
                name = f"{name} (fallback: {r.get('backend')} failed)"
            mark = r.get("mark_ms")
            search = (r.get("stages") or {}).get("mark")
            geps = r["edges"] / (search * 1e-3) / 1e9 if search and r.get("edges") else None
            ratio = (min(cpu) / mark if name == "cuda" and cpu and mark else None)
            cell = lambda v, fmt: fmt.format(v) if v is not None else "-"
            lines.append(f"| {workload} | {objects:,} | {name} | {r['collect_ms']:.3f} | "
                         f"{cell(mark, '{:.3f}')} | "
                         f"{cell(mark and mark * 1e6 / objects, '{:.3f}')} | "
                         f"{cell(geps, '{:.2f}')} | {cell(ratio, '{:.1f}x')} |")
    for s in joined["skipped"]:
        lines.append(f"\nSkipped: {json.dumps(s)}")
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""check_json.py - checks a gpugc-bench JSON file against the schema the
runner promises: python3 check_json.py FILE OBJECTS DEGREE."""
import json
import sys

REQUIRED = {
    "workload": str, "objects": int, "edges": int, "backend": str,
    "collect_ms": (int, float), "mark_ms": (int, float),
    "ns_per_object": (int, float), "stages": dict,
    "bytes_h2d": int, "bytes_d2h": int,
    "generation": int, "unreachable": int, "fallback": int,
}
STAGES = ("sync", "update_refs", "subtract_refs", "mark", "download", "sweep", "total")


def check_run(run, objects, degree):
    """Problems with one entry of "runs"; empty when it is right."""
    problems = ["%s: missing or not %s" % (key, kind)
                for key, kind in REQUIRED.items()
                if not isinstance(run.get(key), kind) or isinstance(run.get(key), bool)]
    if problems:
        return problems
    stages = run["stages"]
    problems += ["stages.%s missing or not a number" % s for s in STAGES
                 if not isinstance(stages.get(s), (int, float))]
    if problems:
        return problems
    expect = {"objects": objects, "edges": objects * degree,
              "generation": 2, "unreachable": 0}
    problems += ["%s is %r, expected %r" % (k, run[k], v)
                 for k, v in expect.items() if run[k] != v]
    if abs(run["collect_ms"] - stages["total"]) > 1e-3:
        problems.append("collect_ms differs from stages.total")
    if run["mark_ms"] > run["collect_ms"] + 1e-3:
        problems.append("mark_ms exceeds collect_ms")
    return problems


def main():
    path, objects, degree = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path) as f:
        doc = json.load(f)
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or not runs:
        sys.exit("%s: no \"runs\" list, or it is empty" % path)
    failed = False
    for i, run in enumerate(runs):
        for problem in check_run(run, objects, degree):
            print("%s: runs[%d]: %s" % (path, i, problem))
            failed = True
    if failed:
        sys.exit(1)
    print("%s: %d runs: %s" % (path, len(runs), ", ".join(r["backend"] for r in runs)))


if __name__ == "__main__":
    main()

"""test_cli.py - gpugc-bench's command line: bad flags, size ranges, a size
this machine cannot hold (refused at once, before anything is built, and
recorded), the memory check overridden, runners that fail, crash, hang or
fall back (GPUGC_BENCH_FAULT) recorded while the others run, what
--program, --micro and --concurrent select, and --plot.

    python3 test_cli.py GPUGC_BENCH SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import time

failures = []


def run(bench, *args, timeout=120, env=None):
    start = time.monotonic()
    p = subprocess.run([bench, *args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p, time.monotonic() - start


def load(path):
    """The JSON file at path, or None (and a failure) when it is missing."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        check(False, "%s: %s" % (path, e))
        return None


def schema(*args):
    """check_schema.py on a file: failed runs must match the schema too."""
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run([sys.executable, os.path.join(here, "check_schema.py"), *args],
                       capture_output=True, text=True)
    check(p.returncode == 0, "check_schema.py %s: %s" % (" ".join(args), p.stdout + p.stderr))


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what)


def main():
    bench, scratch = sys.argv[1], sys.argv[2]
    os.environ.pop("GPUGC_BACKEND", None)  # the runs below name their backend
    small = ["--backend", "cpu", "--peers", "none", "--repeat", "1"]

    for bad in (["--objects", "20x"], ["--objects", "5k..2k"], ["--workload", "nope"],
                ["--garbage", "1.5"], ["--hold", "0"], ["--peers", "jvm"],
                ["--backend", "cpu,cpu"], ["--repeat", "0"], ["stray"], ["--run-timeout", "0"],
                ["--program", "nope"], ["--program", "gcbench,gcbench"], ["--depth", "3"],
                ["--depth", "22"], ["--cycles", "1.5"], ["--peers", "malloc,malloc"],
                ["--concurrent", "--pause"], ["--concurrent", "--program", "interp"],
                ["--concurrent", "--degree", "1"], ["--steady", "0"]):
        p, _ = run(bench, *bad)
        check(p.returncode == 2 and "see --help" in p.stderr,
              "%s: exit %d, stderr %r" % (" ".join(bad), p.returncode, p.stderr))

    p, _ = run(bench, "--help")
    check(p.returncode == 0 and all(w in p.stdout for w in
                                    ("random", "list", "tree", "powerlaw", "pylike", "wide",
                                     "binary-trees", "gcbench", "interp", "--micro",
                                     "--concurrent", "--steady")),
          "--help does not list every workload, program, --micro and --concurrent")

    # --program alone runs no collection benchmark; with --workload both run;
    # malloc is skipped on interp, which makes cycles.
    out = os.path.join(scratch, "cli_programs.json")
    p, _ = run(bench, "--program", "binary-trees,interp", "--depth", "4", "--objects", "500",
               "--backend", "cpu", "--peers", "malloc", "--json", out)
    check(p.returncode == 0, "--program alone failed: %s" % p.stderr)
    if p.returncode == 0:
        with open(out) as f:
            doc = json.load(f)
        ran = [(r["program"], r["runner"]) for r in doc["programs"]]
        check(doc["runs"] == [] and ran == [("binary-trees", "cpu"), ("binary-trees", "malloc"),
                                            ("interp", "cpu")],
              "--program alone ran %s and %d collection runs" % (ran, len(doc["runs"])))
        check(any(s["backend"] == "malloc" and s["workload"] == "interp"
                  for s in doc["skipped"]), "malloc on interp is not listed as skipped")
    p, _ = run(bench, "--program", "binary-trees", "--depth", "4", "--workload", "tree",
               "--objects", "1k", *small, "--json", out)
    check(p.returncode == 0, "--program with --workload failed: %s" % p.stderr)
    if p.returncode == 0:
        with open(out) as f:
            doc = json.load(f)
        check(len(doc["runs"]) == 1 and len(doc["programs"]) == 1,
              "--program with --workload: %d runs, %d programs"
              % (len(doc["runs"]), len(doc["programs"])))

    # 4 G objects need far more than any machine this runs on: refused at
    # once, with the largest size that fits, before generating anything;
    # the refusal is a record, the size that fits still runs, the JSON is
    # written, and the exit status says that runs were refused.
    out = os.path.join(scratch, "cli_refused.json")
    p, took = run(bench, "--objects", "4000M", "--peers", "none", "--backend", "cpu",
                  "--json", out)
    check(p.returncode == 2 and "refusing" in p.stderr and "objects fit" in p.stderr
          and "generated" not in p.stdout and took < 10,
          "4000M objects: exit %d after %.1f s, stderr %r" % (p.returncode, took, p.stderr))
    p, _ = run(bench, "--objects", "4000M,2k", *small, "--json", out)
    doc = load(out) if p.returncode == 2 else None
    check(doc is not None and [(r["objects"], r["status"]) for r in doc["runs"]]
          == [(2000, "ok"), (4000000000, "refused")]
          and "fit" in doc["runs"][1]["message"],
          "4000M,2k: exit %d, runs %s" % (p.returncode, doc and doc["runs"]))
    # The memory check overridden, by the option or the environment, on a
    # machine made to look 1 MB small (GPUGC_BENCH_MEMORY_AVAILABLE, for
    # testing): the refusal becomes a warning and the run runs.
    tiny = {"GPUGC_BENCH_MEMORY_AVAILABLE": "1000000"}
    p, _ = run(bench, "--objects", "20k", *small, "--json", out, env=tiny)
    doc = load(out)
    check(p.returncode == 2 and doc is not None
          and [r["status"] for r in doc["runs"]] == ["refused"],
          "20k objects in 1 MB: exit %d, stderr %r" % (p.returncode, p.stderr[-300:]))
    for how, env in ((["--no-memory-check"], tiny),
                     ([], dict(tiny, GPUGC_BENCH_NO_MEMORY_CHECK="1"))):
        p, _ = run(bench, "--objects", "20k", *small, *how, "--json", out, env=env)
        doc = load(out)
        check(p.returncode == 0 and "running it anyway" in p.stderr and doc is not None
              and [r["status"] for r in doc["runs"]] == ["ok"],
              "override %s %s: exit %d, stderr %r" % (how, env, p.returncode, p.stderr[-300:]))

    # Failing runners (GPUGC_BENCH_FAULT, for testing): each failure is a
    # record with its status and message, in the table and the JSON; the
    # other runners still run, the files are written, the exit status is 1.
    # cpu-parallel's marks fail and fall back to the CPU reference: the
    # record names cpu as the backend whose marks were used, fallback 1.
    out = os.path.join(scratch, "cli_fail.json")
    csv = os.path.join(scratch, "cli_fail.csv")
    p, _ = run(bench, "--workload", "random", "--objects", "2k", "--backend",
               "cpu,cpu-parallel", "--peers", "none", "--repeat", "2", "--json", out,
               "--csv", csv, env={"GPUGC_BENCH_FAULT": "cpu:mark"})
    doc = load(out)
    runs = {r["backend"]: r for r in doc["runs"]} if doc else {}
    check(p.returncode == 1 and runs.get("cpu", {}).get("status") == "failed"
          and "injected fault" in runs["cpu"]["message"]
          and runs.get("cpu-parallel", {}).get("status") == "ok"
          and "injected fault" in p.stdout,
          "cpu:mark: exit %d, runs %s" % (p.returncode, runs))
    schema(out, csv, "--require-runners", "cpu-parallel")
    p, _ = run(bench, "--workload", "random", "--objects", "2k", "--backend",
               "cpu,cpu-parallel", "--peers", "none", "--repeat", "2", "--run-timeout", "2",
               "--json", out, "--csv", csv,
               env={"GPUGC_BENCH_FAULT": "cpu:crash,cpu-parallel:mark"})
    doc = load(out)
    runs = {r["backend"]: r for r in doc["runs"]} if doc else {}
    par = runs.get("cpu-parallel", {})
    check(p.returncode == 1 and runs.get("cpu", {}).get("status") == "failed"
          and "signal" in runs["cpu"]["message"] and par.get("status") == "ok"
          and par.get("backend_ran") == "cpu" and par.get("fallback") == 1
          and "cpu (fallback)" in p.stdout,
          "cpu:crash, cpu-parallel:mark: exit %d, runs %s, stdout %r"
          % (p.returncode, runs, p.stdout[-800:]))
    schema(out, csv)
    p, took = run(bench, "--workload", "random", "--objects", "2k", *small,
                  "--run-timeout", "1", "--json", out, env={"GPUGC_BENCH_FAULT": "cpu:hang"})
    doc = load(out)
    check(p.returncode == 1 and took < 20 and doc is not None
          and [r["status"] for r in doc["runs"]] == ["timeout"],
          "cpu:hang with --run-timeout 1: exit %d after %.1f s" % (p.returncode, took))
    schema(out)

    # --concurrent alone: a heap pause record per backend and size (the sizes
    # asked for), a steady-state record per runner and collector mode, no
    # collection runs or programs.  cpu's background marks fail
    # (GPUGC_BENCH_FAULT): its record says so, cpu-parallel's fall back to
    # the CPU reference and still run, the steady state still runs, exit 1.
    out = os.path.join(scratch, "cli_concurrent.json")
    csv = os.path.join(scratch, "cli_concurrent.csv")
    p, _ = run(bench, "--concurrent", "--objects", "3k,6k", "--steady", "500", "--repeat", "1",
               "--backend", "cpu,cpu-parallel", "--peers", "none", "--json", out, "--csv", csv)
    doc = load(out)
    check(p.returncode == 0 and doc is not None and doc["runs"] == [] and doc["programs"] == []
          and [(r["backend"], r["objects"], r["status"]) for r in doc["concurrent"]]
          == [("cpu", 3000, "ok"), ("cpu-parallel", 3000, "ok"), ("cpu", 6000, "ok"),
              ("cpu-parallel", 6000, "ok")]
          and [(r["runner"], r["collector"]) for r in doc["steady"]]
          == [("cpu", "stop-the-world"), ("cpu", "background"),
              ("cpu-parallel", "stop-the-world"), ("cpu-parallel", "background")]
          and "heap pause" in p.stdout and "steady state" in p.stdout,
          "--concurrent: exit %d, %s" % (p.returncode, p.stderr[-500:]))
    schema(out, csv, "--concurrent", "4")
    p, _ = run(bench, "--concurrent", "--objects", "3k", "--steady", "500", "--repeat", "1",
               "--backend", "cpu,cpu-parallel", "--peers", "none", "--json", out, "--csv", csv,
               env={"GPUGC_BENCH_FAULT": "cpu:mark,cpu-parallel:mark"})
    doc = load(out)
    bg = {r["backend"]: r for r in doc["concurrent"]} if doc else {}
    check(p.returncode == 1 and bg.get("cpu", {}).get("status") == "failed"
          and "injected fault" in bg["cpu"]["message"]
          and bg.get("cpu-parallel", {}).get("fallback") == 1
          and bg["cpu-parallel"]["backend_ran"] == "cpu" and len(doc["steady"]) == 4,
          "--concurrent, cpu:mark: exit %d, records %s" % (p.returncode, bg))
    schema(out, csv, "--concurrent", "2")
    # A heap that cannot fit is refused before it is generated, the steady
    # state still runs, exit 2; --no-memory-check runs it anyway.
    p, _ = run(bench, "--concurrent", "--objects", "20k", "--steady", "500", *small,
               "--json", out, env=tiny)
    doc = load(out)
    check(p.returncode == 2 and doc is not None and "refusing" in p.stderr
          and [r["status"] for r in doc["concurrent"]] == ["refused"] and len(doc["steady"]) == 2,
          "--concurrent in 1 MB: exit %d, stderr %r" % (p.returncode, p.stderr[-300:]))
    schema(out)
    p, _ = run(bench, "--concurrent", "--objects", "20k", "--steady", "500", *small,
               "--no-memory-check", "--json", out, env=tiny)
    doc = load(out)
    check(p.returncode == 0 and "running it anyway" in p.stderr and doc is not None
          and [r["status"] for r in doc["concurrent"]] == ["ok"],
          "--concurrent --no-memory-check in 1 MB: exit %d, stderr %r"
          % (p.returncode, p.stderr[-300:]))

    # A range: its ends and the 1-2-5 steps between them.
    out = os.path.join(scratch, "cli_range.json")
    p, _ = run(bench, "--objects", "1k..10k", "--workload", "tree", *small, "--json", out)
    check(p.returncode == 0, "--objects 1k..10k failed: %s" % p.stderr)
    if p.returncode == 0:
        with open(out) as f:
            sizes = [r["objects"] for r in json.load(f)["runs"]]
        check(sizes == [1000, 2000, 5000, 10000], "1k..10k gave sizes %s" % sizes)

    if shutil.which("gnuplot") is None:
        print("skipped: --plot (gnuplot is not installed)")
    else:
        for ext, magic in ((".svg", "<svg"), (".png", "\x89PNG")):
            plot = os.path.join(scratch, "cli_plot" + ext)
            if os.path.exists(plot):
                os.remove(plot)
            # collection runs and a program in one picture
            p, _ = run(bench, "--objects", "2k,4k", "--workload", "pylike", "--program",
                       "binary-trees", "--depth", "4", *small, "--plot", plot)
            ok = p.returncode == 0 and os.path.exists(plot)
            if ok:
                with open(plot, "rb") as f:
                    ok = magic.encode("latin-1") in f.read(4096)
            check(ok, "--plot %s: exit %d, %s" % (plot, p.returncode, p.stderr))

    if failures:
        sys.exit("%d command-line checks failed" % len(failures))
    print("test_cli: all checks passed")


if __name__ == "__main__":
    main()

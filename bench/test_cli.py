"""test_cli.py - gpugc-bench's command line: bad flags, size ranges, a size
this machine cannot hold (refused at once, before anything is built), what
--program and --micro select, and --plot.

    python3 test_cli.py GPUGC_BENCH SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import time

failures = []


def run(bench, *args, timeout=120):
    start = time.monotonic()
    p = subprocess.run([bench, *args], capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - start


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
                ["--backend", "cpu,cpu"], ["--repeat", "0"], ["stray"],
                ["--program", "nope"], ["--program", "gcbench,gcbench"], ["--depth", "3"],
                ["--depth", "22"], ["--cycles", "1.5"], ["--peers", "malloc,malloc"]):
        p, _ = run(bench, *bad)
        check(p.returncode == 2 and "see --help" in p.stderr,
              "%s: exit %d, stderr %r" % (" ".join(bad), p.returncode, p.stderr))

    p, _ = run(bench, "--help")
    check(p.returncode == 0 and all(w in p.stdout for w in
                                    ("random", "list", "tree", "powerlaw", "pylike", "wide",
                                     "binary-trees", "gcbench", "interp", "--micro")),
          "--help does not list every workload, program and --micro")

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
    # once, with the largest size that fits, before generating anything.
    p, took = run(bench, "--objects", "4000M", "--peers", "none")
    check(p.returncode == 2 and "refusing" in p.stderr and "Nothing was built" in p.stderr
          and "generated" not in p.stdout and took < 10,
          "4000M objects: exit %d after %.1f s, stderr %r" % (p.returncode, took, p.stderr))

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

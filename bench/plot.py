"""plot.py - draws gpugc-bench results with gnuplot.

    python3 bench/plot.py RESULTS.json OUT.png|OUT.svg

gpugc-bench --plot runs it; it also redraws any results file kept under
bench/results/.  Panels, two to a row, for what the file holds: for the
collection runs, collect time per object against the number of objects for
every backend and peer, log-log (for the pause benchmark: the pause in ms
against the old heap's size), and where each runner's collect time goes at
the largest size, stage by stage (peers that cannot tell their stages apart
show one "not split" block); for each program, a bar per runner of its total
time, the part in collections stacked on top; for the microbenchmark, ns per
operation of every runner, log scale; for --concurrent, the pause against the
heap's size, log-log (each backend's stop-the-world full collection beside
its longest background pause), and interp's steady state, the longest and
99th-percentile pause of every runner and collector mode, log scale.
"""
import json
import os
import shutil
import subprocess
import sys

STAGES = ["sync", "update_refs", "subtract_refs", "mark", "download", "sweep"]
STAGE_COLORS = ["#9467bd", "#2ca02c", "#98df8a", "#1f77b4", "#c5b0d5", "#ff7f0e", "#7f7f7f"]
LINE_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b",
               "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
TERMINALS = {
    ".png": 'pngcairo noenhanced size 1400,%d font ",10"',
    ".svg": 'svg noenhanced size 1400,%d dynamic font ",10"',
}
ROW_HEIGHT = 560
PROGRAM_COLORS = ["#1f77b4", "#ff7f0e"]


def quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def family(workload):
    """A workload as plotted: the captured heaps (pyheap:FILE) are one
    family, a runner's line through their sizes."""
    return "pyheap" if workload.startswith("pyheap:") else workload


def short(workload):
    """A workload's label: a captured heap by its file's name."""
    if not workload.startswith("pyheap:"):
        return workload
    return os.path.basename(workload[len("pyheap:"):]).split(".")[0]


def series(runs):
    """(title, [(objects, y)]) per runner and workload, in the order they ran."""
    out = {}
    for r in runs:
        key = (r["backend"], family(r["workload"]))
        y = r["collect_ms"] if r["mode"] == "pause" else r["ns_per_object"]
        out.setdefault(key, []).append((r["objects"], y))
    several = len({family(r["workload"]) for r in runs}) > 1
    return [("%s (%s)" % key if several else key[0], sorted(points))
            for key, points in out.items()]


def stage_rows(runs):
    """One row per runner at each workload's largest size: its label and the
    share of collect time of every stage, then what no stage accounts for."""
    largest = {}
    for r in runs:
        largest[r["workload"]] = max(largest.get(r["workload"], 0), r["objects"])
    several = len(largest) > 1
    rows = []
    for r in runs:
        if r["objects"] != largest[r["workload"]]:
            continue
        total = r["collect_ms"] or 1e-9
        shares = [100.0 * (r["stages"].get(s) or 0.0) / total for s in STAGES]
        rest = max(0.0, 100.0 - sum(shares))
        ms = r["collect_ms"]
        label = "%s%s %s ms" % (short(r["workload"]) + "/" if several else "", r["backend"],
                                "%.0f" % ms if ms >= 100 else "%.3g" % ms)
        rows.append((label, shares + [rest]))
    return rows


def collection_panels(doc):
    """The collection runs' two panels: curves, then stages."""
    runs = doc["runs"]
    pause = runs[0]["mode"] == "pause"
    lines = []
    curves = series(runs)
    lines.append("$curves << EOD")
    for _, points in curves:
        lines += ["%d %.9g" % p for p in points] + ["", ""]
    lines.append("EOD")
    rows = stage_rows(runs)
    lines.append("$stages << EOD")
    lines += [" ".join([quote(label)] + ["%.4f" % v for v in values]) for label, values in rows]
    lines.append("EOD")
    workloads = ", ".join(dict.fromkeys(short(r["workload"]) for r in runs))
    lines += [
        "set title %s" % quote("%s: %s" % (workloads, "pause (generation 0 under an old heap)"
                                           if pause else "full collections")),
        "set logscale xy",
        "set format x '%.0s%c'",
        "set autoscale xfix",
        "set grid",
        "set key outside right top vertical",
        "set xlabel %s" % quote("objects in the old heap" if pause else "objects"),
        "set ylabel %s" % quote("pause, ms" if pause else "collect time per object, ns"),
        "plot " + ", ".join("$curves index %d using 1:2 with linespoints lw 2 lc rgb '%s' title %s"
                            % (i, LINE_COLORS[i % len(LINE_COLORS)], quote(name))
                            for i, (name, _) in enumerate(curves)),
        "unset logscale",
        "set format x '%g'",
        "set autoscale x",
        "unset grid",
        "set grid ytics",
        "set key outside right top vertical",
        "set title %s" % quote("stages at the largest size"),
        "set xlabel %s" % quote("collect time under each bar"),
        "set ylabel %s" % quote("share of collect time, %"),
        "set yrange [0:100]",
        "set style data histograms",
        "set style histogram rowstacked",
        "set style fill solid 0.8 border -1",
        "set boxwidth 0.7",
        "set xtics rotate by -30",
        "plot " + ", ".join("$stages using %d%s lc rgb '%s' title %s"
                            % (k + 2, ":xtic(1)" if k == 0 else "", STAGE_COLORS[k], quote(name))
                            for k, name in enumerate(STAGES + ["not split"])),
        "unset yrange",
        "unset style",
        "set xtics norotate",
    ]
    return lines, 2


def program_groups(programs):
    """Records per program and size, in the order they ran."""
    groups = {}
    for r in programs:
        groups.setdefault((r["program"], r["depth"], r["objects"]), []).append(r)
    return groups


def program_panels(doc):
    """A bar per runner of each program: outside collections, in them."""
    lines, n = [], 0
    for (program, depth, objects), group in program_groups(doc["programs"]).items():
        block = "$program%d" % n
        lines.append("%s << EOD" % block)
        for r in group:
            gc = r["gc_ms"] or 0.0
            total = r["total_ms"]
            label = "%s %s ms" % (r["runner"], "%.0f" % total if total >= 100 else "%.3g" % total)
            lines.append("%s %.6f %.6f" % (quote(label), max(0.0, total - gc), gc))
        lines.append("EOD")
        lines += [
            "set title %s" % quote("%s, %s: the whole program" % (
                program, "depth %d" % depth if depth is not None else "%d objects" % objects)),
            "unset logscale",
            "set grid ytics",
            "set key outside right top vertical",
            "set xlabel %s" % quote("total time under each bar"),
            "set ylabel %s" % quote("ms"),
            "set yrange [0:*]",
            "set style data histograms",
            "set style histogram rowstacked",
            "set style fill solid 0.8 border -1",
            "set boxwidth 0.7",
            "set xtics rotate by -30",
            "plot %s using 2:xtic(1) lc rgb '%s' title 'outside collections', "
            "%s using 3 lc rgb '%s' title 'in collections'"
            % (block, PROGRAM_COLORS[0], block, PROGRAM_COLORS[1]),
            "unset yrange",
            "set xtics norotate",
        ]
        n += 1
    return lines, n


def micro_panel(doc):
    """ns per operation, a cluster per row, a bar per runner."""
    micro = doc["micro"]
    runners = list(dict.fromkeys(r["runner"] for r in micro))
    rows = {}
    for r in micro:
        rows.setdefault((r["op"], r["size"], r["slots"]), {})[r["runner"]] = r["ns_per_op"]
    lines = ["$micro << EOD"]
    for (op, size, slots), values in rows.items():
        cells = ["%.6g" % values[k] if k in values else "-" for k in runners]
        lines.append(" ".join([quote("%s %d/%d" % (op, size, slots))] + cells))
    lines.append("EOD")
    lines += [
        "set title %s" % quote("microbenchmark: ns per operation (payload bytes/slots)"),
        "set datafile missing '-'",
        "set logscale y",
        "set grid ytics",
        "set key outside right top vertical",
        "set xlabel ''",
        "set ylabel %s" % quote("ns per operation"),
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1",
        "set xtics rotate by -60 font ',8'",
        "plot " + ", ".join("$micro using %d%s lc rgb '%s' title %s"
                            % (k + 2, ":xtic(1)" if k == 0 else "",
                               LINE_COLORS[k % len(LINE_COLORS)], quote(name))
                            for k, name in enumerate(runners)),
        "unset logscale",
        "set xtics norotate font ''",
    ]
    return lines, 1


def heap_pause_panel(doc):
    """Per backend: stop-the-world and the longest background pause (and
    the first round's, whose start copies the whole heap) against objects."""
    curves = {}
    for r in doc["concurrent"]:
        b = r["backend"]
        curves.setdefault("%s stop-the-world" % b, []).append((r["objects"], r["stw_ms"]))
        curves.setdefault("%s background, longest pause" % b, []).append(
            (r["objects"], r["longest_pause_ms"]))
        first = r["first"]
        curves.setdefault("%s background, first round" % b, []).append(
            (r["objects"], max(first["start_ms"], first["finish_ms"], first["longest_step_ms"])))
    lines = ["$heappause << EOD"]
    for points in curves.values():
        lines += ["%d %.9g" % p for p in sorted(points)] + ["", ""]
    lines.append("EOD")
    backends = list(dict.fromkeys(r["backend"] for r in doc["concurrent"]))
    sizes = sorted({r["objects"] for r in doc["concurrent"]})
    tics = ", ".join("%s %d" % (quote("%gM" % (n / 1e6) if n >= 1000000 else "%gk" % (n / 1e3)),
                                n) for n in sizes)
    plots = []
    for i, name in enumerate(curves):
        color = LINE_COLORS[backends.index(name.split(" ")[0]) % len(LINE_COLORS)]
        dash = 1 if "stop-the-world" in name else 2 if "longest" in name else 3
        plots.append("$heappause index %d using 1:2 with linespoints lw 2 dt %d lc rgb '%s' "
                     "title %s" % (i, dash, color, quote(name)))
    lines += [
        "set title %s" % quote("random heaps, full collections: the pause against the heap"),
        "set logscale xy",
        "set format x '%.0s%c'",
        "set autoscale xfix",
        "set offsets graph 0.05, graph 0.05, 0, 0",
        "set grid",
        "set key outside below horizontal maxcols 3 font ',8'",
        "set xlabel %s" % quote("objects"),
        "set ylabel %s" % quote("longest pause, ms"),
        "set xtics (%s)" % tics,
        "plot " + ", ".join(plots),
        "set offsets 0, 0, 0, 0",
        "set xtics autofreq",
        "set key font ',10'",
        "unset logscale",
        "set format x '%g'",
        "set autoscale x",
        "unset grid",
    ]
    return lines, 1


def steady_panel(doc):
    """The steady state: a cluster per runner and mode, the longest and the
    99th-percentile pause."""
    steady = [r for r in doc["steady"] if r["max_pause_ms"] is not None]
    lines = ["$steady << EOD"]
    for r in steady:
        lines.append("%s %.9g %.9g" % (quote("%s %s" % (r["runner"], r["collector"])),
                                       r["max_pause_ms"], r["p99_pause_ms"]))
    lines.append("EOD")
    objects = doc["steady"][0]["objects"]
    lines += [
        "set title %s" % quote("interp, %d objects: the steady state's pauses" % objects),
        "set logscale y",
        "set grid ytics",
        "set key outside right top vertical",
        "set xlabel ''",
        "set ylabel %s" % quote("pause, ms"),
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1",
        "set xtics rotate by -30",
        "plot $steady using 2:xtic(1) lc rgb '%s' title 'longest', "
        "$steady using 3 lc rgb '%s' title '99th percentile'"
        % (PROGRAM_COLORS[1], PROGRAM_COLORS[0]),
        "unset logscale",
        "unset style",
        "set xtics norotate",
    ]
    return lines, 1


def script(doc, out):
    meta = doc.get("gpugc_bench", {})
    machine = meta.get("machine", {})
    body, panels = [], 0
    for present, make in ((doc.get("runs"), collection_panels),
                          (doc.get("programs"), program_panels),
                          (doc.get("micro"), micro_panel),
                          (doc.get("concurrent"), heap_pause_panel),
                          (doc.get("steady"), steady_panel)):
        if present:
            lines, n = make(doc)
            body += lines
            panels += n
    nrows = (panels + 1) // 2
    title = "gpugc-bench - %s, %s cores" % (machine.get("cpu", "?"), machine.get("cores", "?"))
    lines = ["set terminal %s" % (TERMINALS[out[out.rfind("."):]] % (ROW_HEIGHT * nrows)),
             "set output %s" % quote(out),
             "set multiplot layout %d,2 title %s" % (nrows, quote(title))]
    return "\n".join(lines + body + ["unset multiplot"]) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: python3 plot.py RESULTS.json OUT.png|OUT.svg")
    src, out = sys.argv[1], sys.argv[2]
    if out[out.rfind("."):] not in TERMINALS:
        sys.exit("plot.py: %s: the name must end in .png or .svg" % out)
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        sys.exit("plot.py: gnuplot not found (Debian: apt-get install gnuplot-nox)")
    with open(src) as f:
        doc = json.load(f)
    # Runs that did not succeed (status other than ok) have no figures.
    doc["runs"] = [r for r in doc.get("runs", []) if r.get("status", "ok") == "ok"]
    doc["concurrent"] = [r for r in doc.get("concurrent", []) if r["status"] == "ok"]
    if not any(doc.get(k) for k in ("runs", "programs", "micro", "concurrent", "steady")):
        sys.exit("plot.py: %s has nothing to draw" % src)
    result = subprocess.run([gnuplot], input=script(doc, out), text=True,
                            capture_output=True, check=False)
    if result.returncode != 0:
        sys.exit("plot.py: gnuplot failed:\n" + result.stderr)
    print("plot: %s" % out)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The run a machine with an NVIDIA GPU owes (issue 15), as one device call
# of at most 8 minutes on an H200 with 16 cores: steps, each under its own
# timeout, none able to stop the others.  Each step's folder NN-name holds
# status (one line), log, cmd (the exact commands it ran) and json (the
# step, with its result); after every step summary.json, summary.md and
# steps.tar.gz (every step folder) are rewritten in $OUT, so a call killed
# midway still brings back all that was done.  The step folders themselves
# live in build/gpu-steps: the device call brings back 8 files at most.
#
#   bash scripts/gpu-prepare.sh   # on the calling machine: .deb/, .deb/call.json
#   bash scripts/gpu.sh           # in the device call, carrying .deb
#   bash scripts/gpu.sh --dry-run # anywhere: tiny sizes, CUDA steps skipped (CI)
#
# Steps, with their timeouts on the H200 and the seconds expected there
# (estimates: no GPU has run this yet; from this project's 2-core CPU
# machine, where the host side, generating and building the graphs one
# object at a time, takes most of each bench step).  The timeouts plus
# each one's 8-s grace to stop add up to 480 s for steps 00 to 09:
#   00-machine     10 s (1)   /proc/meminfo, nvidia-smi, cores; the call record
#   01-deps        10 s (1)   unpacks .deb/ where pkg-config, cmocka or libgc lack
#   02-build       50 s (15)  Release, CUDA required, tests and bench (2 cores: 11 s)
#   03-tests       50 s (25)  ctest -R cuda, the device required (cmocka missing: failed)
#   04-probe       25 s (10)  nvcc scripts/gpu_probe.cu; random reads, atomics, copies
#   05-random-10M  30 s (17)  random degree 2, 10M: cpu, cpu-parallel, cuda (2 cores,
#                             cpu and cpu-parallel: 11 s)
#   06-random-100M 120 s (95) random degree 2, 100M: cuda, cpu-parallel (about 45 s
#                             a run, building 100M objects)
#   07-list-10M    20 s (5)   list, 10M: cpu, cpu-parallel, cuda (2 cores, two: 2.5 s)
#   08-pylike-10M  40 s (30)  pylike, 10M: cpu, cpu-parallel, cuda (2 cores, two: 21 s)
#   09-powerlaw-2M 45 s (28)  powerlaw degree 16, 2M: cpu, cpu-parallel, cuda
#                             (generating it: 17 s on 2 cores; 3 s a run)
#   10-concurrent-10M  90 s (40)  background collection (issue 17), random 10M:
#                             cuda, cpu-parallel; interp's steady state at 100k
#   11-concurrent-100M 150 s (110) the same at 100M, cuda alone (its target: a
#                             longest pause of 10 ms; building the heap is most
#                             of the time); the dry run takes cpu-parallel
#                             Steps 10 and 11 run only in the time the others
#                             leave: they cannot cost them anything (the budget
#                             stops them)
# cpu-parallel runs on every core (GPUGC_THREADS=$(nproc): 16).  Peers are
# measured on CPU machines, not here.  The memory check is overridden: the
# VM's MemAvailable starts small and grows as memory is used.  A step that
# would run past the budget gets the time left, or is skipped.
#
# --dry-run: every step on a machine without a GPU, with tiny sizes, the
# CUDA tests and the probe's run reported as skipped (the probe is still
# compiled), the same layout, in build/gpu-out unless $OUT is set; it
# reuses build/release where scripts/test.sh built it.
set -uo pipefail # no -e: a step that fails must not end the others
cd "$(dirname "$0")/.."

# ---- one step, in a process of its own (gpu.sh --step NAME) ---------------

# Runs a command, recording it exactly in the step's cmd file.
x() {
  printf '%q ' "$@" >>"$GPU_STEP_DIR/cmd"
  echo >>"$GPU_STEP_DIR/cmd"
  echo "+ $(printf '%q ' "$@")"
  "$@"
}

# The step ran what it could and says why it is reported skipped.
skip() {
  echo "$*" >"$GPU_STEP_DIR/skipped"
  echo "skipped: $*"
}

nvcc_path() {
  command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; }
}

step_machine() {
  x cat /proc/meminfo
  x nproc
  x uname -a
  if command -v nvidia-smi >/dev/null; then
    x nvidia-smi
    x nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max,clocks.max.sm,clocks.max.mem --format=csv >"$GPU_STEP_DIR/gpu.csv"
    cat "$GPU_STEP_DIR/gpu.csv"
  elif [ "$GPU_DRY" = 1 ]; then
    echo "nvidia-smi: not here (dry run)"
  else
    echo "nvidia-smi: not found" >&2
    return 1
  fi
  x python3 - "$GPU_STEP_DIR" <<'EOF'
import json, os, platform, sys
d = sys.argv[1]
mem = {}
for line in open("/proc/meminfo"):
    k, v = line.split(":", 1)
    if k in ("MemTotal", "MemAvailable", "MemFree", "SwapTotal"):
        mem[k + "_bytes"] = int(v.split()[0]) * 1024
gpu = None
if os.path.exists(os.path.join(d, "gpu.csv")):
    rows = [l.strip() for l in open(os.path.join(d, "gpu.csv")) if l.strip()]
    gpu = [dict(zip([h.strip() for h in rows[0].split(",")], [v.strip() for v in r.split(",")]))
           for r in rows[1:]]
call = json.load(open(".deb/call.json")) if os.path.exists(".deb/call.json") else None
json.dump({"meminfo": mem, "cores": os.cpu_count(), "kernel": platform.release(), "gpus": gpu,
           "call": call}, open(os.path.join(d, "result.json"), "w"), indent=1)
if call is None:
    print("no .deb/call.json: the commit is unknown (run scripts/gpu-prepare.sh before the call)")
else:
    print("call: %s, prepared %s" % (call["describe"], call["prepared"]))
EOF
}

missing_deps() {
  local m=()
  command -v pkg-config >/dev/null || m+=(pkg-config)
  pkg-config --exists cmocka 2>/dev/null || m+=(cmocka)
  pkg-config --exists bdw-gc 2>/dev/null || m+=(libgc)
  echo "${m[@]}"
}

step_deps() {
  local missing
  missing=$(missing_deps)
  if [ -z "$missing" ]; then
    echo "pkg-config, cmocka and libgc are installed: nothing to unpack"
    return 0
  fi
  echo "missing: $missing"
  compgen -G ".deb/*.deb" >/dev/null || {
    echo "no .deb files: run scripts/gpu-prepare.sh on the calling machine, carry .deb" >&2
    return 1
  }
  rm -rf "$GPU_DEPS"
  for deb in .deb/*.deb; do
    x dpkg -x "$deb" "$GPU_DEPS"
  done
  deps_env
  missing=$(missing_deps)
  echo "missing after unpacking: ${missing:-nothing}"
  [ -z "$missing" ]
}

step_build() {
  x cmake -S . -B "$GPU_BUILD" -DCMAKE_BUILD_TYPE=Release -DGPUGC_WITH_CUDA=ON \
    -DGPUGC_BUILD_TESTS=ON -DGPUGC_BUILD_BENCH=ON &&
    x cmake --build "$GPU_BUILD" -j "$(nproc)"
}

step_tests() {
  [ -x "$GPU_BUILD/bench/gpugc-bench" ] || { echo "no build" >&2; return 1; }
  local n
  n=$(cd "$GPU_BUILD" && ctest -N -R cuda | sed -n 's/^Total Tests: //p')
  echo "CUDA tests: ${n:-0}"
  [ "${n:-0}" -gt 0 ] || { echo "no CUDA tests in $GPU_BUILD" >&2; return 1; }
  if [ "$GPU_DRY" = 1 ]; then
    skip "dry run: no GPU ($n CUDA tests listed)"
    return 0
  fi
  # Skipping is failing here: the device and the backend are required.
  # Each test may take the step's time less a margin, so that ctest (not
  # the step's timeout) names a test that hangs.
  (cd "$GPU_BUILD" && x env GPUGC_TEST_REQUIRE_DEVICE=1 GPUGC_TEST_REQUIRE_BACKEND=1 \
    ctest -R cuda -j 5 --timeout "$((GPU_TIMEOUT - 5))" --output-on-failure)
}

step_probe() {
  local nvcc
  nvcc=$(nvcc_path) || { echo "no nvcc" >&2; return 1; }
  x "$nvcc" -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -o "$GPU_BUILD/gpu_probe" \
    scripts/gpu_probe.cu || return 1
  if [ "$GPU_DRY" = 1 ]; then
    skip "dry run: no GPU (compiled)"
    return 0
  fi
  x "$GPU_BUILD/gpu_probe" 2048 >"$GPU_STEP_DIR/result.json" && cat "$GPU_STEP_DIR/result.json"
}

# gpugc-bench into the step's result.json and result.csv, checked against
# the schema; every backend asked for must have succeeded (cuda too, except
# in a dry run, where it is listed as skipped).  $1: backends, then flags.
bench() {
  local backends=$1 required=$1
  shift
  [ "$GPU_DRY" = 1 ] && required=$(echo ",$backends," | sed 's/,cuda,/,/; s/^,//; s/,$//')
  local rc=0
  x env GPUGC_THREADS="$(nproc)" "$GPU_BUILD/bench/gpugc-bench" --backend "$backends" \
    --peers none --repeat 3 --no-memory-check --run-timeout "$((GPU_TIMEOUT / 2))" \
    --json "$GPU_STEP_DIR/result.json" --csv "$GPU_STEP_DIR/result.csv" "$@" || rc=$?
  [ -f "$GPU_STEP_DIR/result.json" ] &&
    x python3 bench/check_schema.py "$GPU_STEP_DIR/result.json" "$GPU_STEP_DIR/result.csv" \
      --require-runners "$required" && [ $rc = 0 ]
}

# Sizes: the GPU machine's, or the dry run's.
size() { if [ "$GPU_DRY" = 1 ]; then echo "$2"; else echo "$1"; fi; }

step_random-10M() {
  bench cpu,cpu-parallel,cuda --workload random --degree 2 --objects "$(size 10M 20k)"
}
step_random-100M() {
  # cuda first: what only this machine can measure comes back even if the
  # step runs out of time.
  bench cuda,cpu-parallel --workload random --degree 2 --objects "$(size 100M 50k)"
}
step_list-10M() {
  bench cpu,cpu-parallel,cuda --workload list --objects "$(size 10M 20k)"
}
step_pylike-10M() {
  bench cpu,cpu-parallel,cuda --workload pylike --objects "$(size 10M 20k)"
}
step_powerlaw-2M() {
  bench cpu,cpu-parallel,cuda --workload powerlaw --degree 16 --objects "$(size 2M 5k)"
}
step_concurrent-10M() {
  bench cuda,cpu-parallel --concurrent --objects "$(size 10M 20k)" --steady "$(size 100k 2k)"
}
step_concurrent-100M() {
  bench "$(size cuda cpu-parallel)" --concurrent --objects "$(size 100M 50k)" --steady "$(size 100k 2k)"
}

# Where the unpacked packages are found: pkgconf reads their .pc files
# with the unpacked tree as its sysroot, the loader their libraries.
deps_env() {
  [ -d "$GPU_DEPS/usr" ] || return 0
  local lib=$GPU_DEPS/usr/lib/x86_64-linux-gnu
  export PATH=$GPU_DEPS/usr/bin:$PATH LD_LIBRARY_PATH=$lib:${LD_LIBRARY_PATH:-}
  export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$GPU_DEPS
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig
  export CMAKE_PREFIX_PATH=$GPU_DEPS/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
}

if [ "${1:-}" = --step ]; then
  set -e
  step=$2
  # The step's timeout: finish the command under way (gpugc-bench writes
  # what ran), then stop.
  trap 'echo "gpu.sh: step $step stopped at its timeout" >&2; exit 124' TERM
  deps_env
  "step_$step"
  exit
fi

# ---- the steps, one after another ----------------------------------------

dry=0
case "${1:-}" in
  --dry-run) dry=1 ;;
  "") ;;
  *) echo "usage: bash scripts/gpu.sh [--dry-run]" >&2; exit 2 ;;
esac
steps=(
  "machine 10 1"
  "deps 10 1"
  "build 50 15"
  "tests 50 25"
  "probe 25 10"
  "random-10M 30 17"
  "random-100M 120 95"
  "list-10M 20 5"
  "pylike-10M 40 30"
  "powerlaw-2M 45 28"
  "concurrent-10M 90 40"
  "concurrent-100M 150 110"
)
budget=480 grace=8
build=build/gpu
if [ $dry = 1 ]; then
  budget=180
  build=build/release # scripts/test.sh's, when it ran first
fi
out=${OUT:-$PWD/build/gpu-out}
work=$PWD/build/gpu-steps
rm -rf "$work" && mkdir -p "$work" "$out" && rm -f "$out"/summary.* "$out"/steps.tar.gz
export GPU_DRY=$dry GPU_BUILD=$build GPU_DEPS=$PWD/build/gpu-deps
echo "gpu.sh: $([ $dry = 1 ] && echo "dry run, ")${#steps[@]} steps in ${budget} s at most; steps in $work, summary in $out"

i=0 bad=0
for s in "${steps[@]}"; do
  read -r name timeout expected <<<"$s"
  dir=$work/$(printf %02d $i)-$name
  i=$((i + 1))
  mkdir -p "$dir"
  : >"$dir/cmd"
  left=$((budget - SECONDS - grace))
  [ $timeout -gt $left ] && timeout=$left
  start=$(date +%s%N)
  if [ $timeout -lt 3 ]; then
    status="skipped: the ${budget}-s budget is spent"
    rc=0
    echo "$status" >"$dir/log"
  else
    GPU_STEP_DIR=$dir GPU_TIMEOUT=$timeout timeout -k $grace $timeout \
      bash "$0" --step "$name" >"$dir/log" 2>&1
    rc=$?
    if [ $rc = 0 ] && [ -f "$dir/skipped" ]; then
      status="skipped: $(cat "$dir/skipped")"
    elif [ $rc = 0 ]; then
      status=ok
    elif [ $rc = 124 ] || [ $rc = 137 ]; then
      status="timeout: stopped after $timeout s"
    else
      status="failed: exit $rc"
    fi
  fi
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "$status" >"$dir/status"
  case $status in failed* | timeout*) bad=$((bad + 1)) ;; esac
  [ "$name" = deps ] && deps_env # the later steps use what it unpacked
  python3 bench/gpu_report.py step "$dir" "$name" "$rc" "$ms" "$timeout" "$expected"
  python3 bench/gpu_report.py summary "$work" "$out" "$([ $dry = 1 ] && echo dry-run || echo gpu)" "$budget"
  tar -C "$work" -czf "$out/.steps.tar.gz" . && mv "$out/.steps.tar.gz" "$out/steps.tar.gz"
  printf 'gpu.sh: %-15s %-40s %4d.%d s (timeout %d, expected %d)\n' "$name" "$status" \
    $((ms / 1000)) $((ms % 1000 / 100)) "$timeout" "$expected"
done
cat "$out/summary.md"
# A step that failed or timed out fails the whole run (CI runs the dry run).
[ $bad = 0 ]

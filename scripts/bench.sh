#!/usr/bin/env bash
# Installs what is missing, builds in Release and runs the benchmark's
# default comparison (pylike heaps of 10k, 100k and 1M objects, and the
# binary-trees program at depth 16, on every backend and peer available
# here), writing the results and the plot to
# build/release/bench/latest.{json,png}.  Extra arguments go to gpugc-bench
# after these (a later --workload or --program replaces the list).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"
out=build/release/bench
exec "$out/gpugc-bench" --workload pylike --program binary-trees \
  --json "$out/latest.json" --plot "$out/latest.png" "$@"

#!/usr/bin/env bash
# Installs what is missing, builds in Release and runs the benchmark's
# default comparison; extra arguments go to gpugc-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"
exec build/release/bench/gpugc-bench "$@"

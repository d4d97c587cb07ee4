#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test twice: a
# Release build with warnings as errors, and a Debug build (heap validator
# after every collection) under AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
run() { # build-dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DGPUGC_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest -j "$jobs" --output-on-failure)
}
run build/release -DCMAKE_BUILD_TYPE=Release
run build/asan -DCMAKE_BUILD_TYPE=Debug -DGPUGC_SANITIZE=address,undefined

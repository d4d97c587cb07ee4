#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test twice: a
# Release build with warnings as errors, and a Debug build (heap validator
# after every collection) under AddressSanitizer and UBSan; the fast-path
# suites again under both sanitizers without debug checks; then the tests
# that run collections on several threads (cpu-parallel, background
# collections) under ThreadSanitizer, a subset under valgrind, and the fuzzers for a minute
# and 15 s.
# The Release and Debug builds compile and link the CUDA backend (Release
# requires it: nvcc is on CI's machine); CI has no GPU, so its CUDA tests
# check the no-device answers and its CUDA suites report themselves
# skipped; scripts/gpu.sh --dry-run runs the GPU machine's steps on tiny
# sizes with the Release build.  The TSan and fuzzing builds leave CUDA
# out: nothing of it runs without a GPU, and nvcc would only add minutes.
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
run build/release -DCMAKE_BUILD_TYPE=Release -DGPUGC_WITH_CUDA=ON
# The installed libraries export gpugc's names and nothing else: every
# global symbol libgpugc.a defines is gpugc_* (the API) or gpugc__* (the
# library's internals, hidden), and libgpugc.so exports the API, gpugc_[a-z]*,
# alone: no gpugc__ name and nothing of the CUDA runtime linked into it.
prefix=$(mktemp -d)
cmake --install build/release --prefix "$prefix" >/dev/null
libdir=$prefix/$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' build/release/CMakeCache.txt)
for f in libgpugc.a libgpugc.so; do
  [ -f "$libdir/$f" ] || { echo "exports: no $f installed in $libdir" >&2; exit 1; }
done
a_syms=$(nm -g --defined-only "$libdir/libgpugc.a" | awk 'NF >= 3 {print $3}' | sort -u)
so_syms=$(nm -D --defined-only "$libdir/libgpugc.so" | awk 'NF >= 3 {print $3}' | sort -u)
rm -rf "$prefix"
a_bad=$(grep -v '^gpugc_' <<<"$a_syms" || true)
so_bad=$(grep -v '^gpugc_[a-z]' <<<"$so_syms" || true)
count() { grep -c "$1" <<<"$2" || true; }
echo "exports: libgpugc.a defines $(count . "$a_syms") global symbols ($(count '^gpugc_[a-z]' "$a_syms") gpugc_, $(count '^gpugc__' "$a_syms") gpugc__, $(count . "$a_bad") other); libgpugc.so exports $(count . "$so_syms") ($(count . "$so_bad") not gpugc_[a-z]*)"
if [ -n "$a_bad$so_bad" ]; then
  [ -z "$a_bad" ] || echo "exports: libgpugc.a defines global symbols outside gpugc_*:" $a_bad >&2
  [ -z "$so_bad" ] || echo "exports: libgpugc.so exports symbols outside gpugc_[a-z]*:" $so_bad >&2
  exit 1
fi
# The GPU machine's run (scripts/gpu.sh), dry: every step on tiny sizes
# with the Release build above, the CUDA steps reported skipped.
bash scripts/gpu.sh --dry-run >/dev/null || { cat build/gpu-out/summary.md; exit 1; }
echo "gpu.sh --dry-run: every step ok or skipped (build/gpu-out/summary.md)"
run build/asan -DCMAKE_BUILD_TYPE=Debug -DGPUGC_SANITIZE=address,undefined
# gpugc.h's inline paths and the library's fast paths, under ASan and UBSan:
# the Debug build above checks every call fully and never takes them.
cmake -S . -B build/asan-release -DGPUGC_WARNINGS_AS_ERRORS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGPUGC_SANITIZE=address,undefined -DGPUGC_WITH_CUDA=OFF >/dev/null
fast_suites="fastpath fastpath_noinline errors refcount sweep differential"
cmake --build build/asan-release -j "$jobs" --target $(printf 'test_%s ' $fast_suites)
(cd build/asan-release && ctest -j "$jobs" --output-on-failure -R "^($(tr ' ' '|' <<<"$fast_suites"))\$")
# Not differential_cpu-parallel: its small sets run on the serial reference.
cmake -S . -B build/tsan -DGPUGC_WARNINGS_AS_ERRORS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGPUGC_SANITIZE=thread -DGPUGC_WITH_CUDA=OFF >/dev/null
cmake --build build/tsan -j "$jobs" --target test_parallel test_differential test_collect test_sweep \
  test_background
(cd build/tsan && ctest -j "$jobs" --output-on-failure -R 'parallel|^background$' \
  -E '^differential_cpu-parallel$')

# valgrind memcheck on a representative subset of the Release tests.  The
# ICD loader is pointed at no vendor, so OpenCL is absent here: PoCL's JIT is
# slow under valgrind, and ld.so's SSE strncmp, reached when it dlopens an
# ICD, reads past string ends in a way memcheck reports (a known false
# positive).  Our OpenCL host code is covered by ASan above.
for t in collect errors heap pool weakref fault threads background; do
  OCL_ICD_VENDORS=/nonexistent valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite build/release/tests/test_$t >/dev/null
done
OCL_ICD_VENDORS=/nonexistent GPUGC_TEST_GRAPHS=100 valgrind -q --error-exitcode=1 \
  --leak-check=full --errors-for-leak-kinds=definite build/release/tests/test_differential >/dev/null
echo "valgrind: clean"

# The libFuzzer harness (clang), about a minute: half on the serial
# reference, half on OpenCL; new inputs go to a scratch directory, the
# committed corpus under fuzz/corpus only seeds the run.
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUGC_FUZZ=ON \
  -DGPUGC_SANITIZE=address,undefined -DGPUGC_BUILD_TESTS=OFF -DGPUGC_BUILD_BENCH=OFF \
  -DGPUGC_WARNINGS_AS_ERRORS=ON -DGPUGC_WITH_CUDA=OFF >/dev/null
cmake --build build/fuzz -j "$jobs"
for backend in cpu opencl; do
  if [ "$backend" = opencl ] && ! grep -q '^OpenCL_LIBRARY:FILEPATH=/' build/fuzz/CMakeCache.txt; then
    continue # built without OpenCL
  fi
  scratch=$(mktemp -d)
  GPUGC_BACKEND=$backend build/fuzz/fuzz/gpugc-fuzz -max_total_time=30 -max_len=2048 \
    -len_control=0 -print_final_stats=1 "$scratch" fuzz/corpus 2>&1 | grep -E "^Done|stat::number_of_executed_units"
  rm -rf "$scratch"
done
# The captured-heap reader (bench/pyheap.c), 15 s from its own seeds.
scratch=$(mktemp -d)
build/fuzz/fuzz/gpugc-fuzz-pyheap -max_total_time=15 -max_len=4096 -print_final_stats=1 \
  "$scratch" fuzz/corpus_pyheap 2>&1 | grep -E "^Done|stat::number_of_executed_units"
rm -rf "$scratch"

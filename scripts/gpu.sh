#!/usr/bin/env bash
# The run a machine with an NVIDIA GPU owes (issue 5), in one command:
# builds with CUDA required, runs the CUDA tests with the device required,
# then the benchmark of the issue side by side on that machine (random 10M
# and 100M objects of degree 2, list, powerlaw and pylike at 10M; cpu,
# cpu-parallel and cuda, with Boehm GC and CPython where present), and
# writes bench/results/<date>-<gpu>.json (every run, bench/SCHEMA.md) and
# .md (the command, the GPU as nvidia-smi names it, the commit, and a table).
#
# A GPU machine without network may lack cmocka, pkg-config and libgc:
# .deb files of them in .deb/ (apt-get download libcmocka0 libcmocka-dev
# pkgconf pkgconf-bin libpkgconf3 libgc1 libgc-dev) are unpacked under
# build/gpu-deps, not installed.  Without cmocka the tests are left out,
# and the output says so.
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
deps=$PWD/build/gpu-deps
lib=$deps/usr/lib/x86_64-linux-gnu
for deb in .deb/*.deb; do
  [ -e "$deb" ] && dpkg -x "$deb" "$deps"
done
if [ -d "$deps" ]; then
  export PATH=$deps/usr/bin:$PATH LD_LIBRARY_PATH=$lib:${LD_LIBRARY_PATH:-}
  export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$deps
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig
fi
tests=OFF
if command -v pkg-config >/dev/null && pkg-config --exists cmocka; then tests=ON; fi
cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DGPUGC_WITH_CUDA=ON \
  -DGPUGC_BUILD_TESTS=$tests >/dev/null
cmake --build build/gpu -j "$(nproc)"
if [ $tests = ON ]; then
  (cd build/gpu && GPUGC_TEST_REQUIRE_DEVICE=1 GPUGC_TEST_REQUIRE_BACKEND=1 \
    ctest --output-on-failure -R 'cuda|^differential$|^collect$')
else
  echo "tests: not built (no cmocka here; see the top of $0)"
fi

name=$(date -u +%F)-$(echo "$gpu" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
out=bench/results/$name
scratch=$(mktemp -d)
bench() { # json-name, options...
  local json=$scratch/$1.json; shift
  build/gpu/bench/gpugc-bench --backend cpu,cpu-parallel,cuda --repeat 3 --json "$json" "$@"
}
bench random --workload random --degree 2 --objects 10M,100M --peers bdwgc
bench others --workload list,powerlaw,pylike --objects 10M
bench cpython --workload random,pylike --degree 2 --objects 10M --peers cpython --backend cuda
python3 bench/gpu_report.py "$out" "$gpu" "$(git rev-parse HEAD)" "$0" "$scratch"/*.json
rm -rf "$scratch"
echo "wrote $out.json and $out.md"

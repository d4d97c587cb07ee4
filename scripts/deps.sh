#!/usr/bin/env bash
# Installs, from Debian's packages, whatever the build, tests and benchmark
# need and this machine lacks.  Does nothing (no apt-get update) when all
# are present.  Run as root on Debian 12.
set -euo pipefail
packages=(gcc make cmake pkg-config python3 libcmocka-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libgc-dev gnuplot-nox
          clang libclang-rt-14-dev valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

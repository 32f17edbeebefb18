#!/usr/bin/env bash
# The one command that sets everything up and runs the whole test suite (README, .ci/run).
#   bash scripts/test.sh               everything: unit, integration, fault, docker, systemd,
#                                      then the sanitizer builds and the fuzzers (see below)
#   bash scripts/test.sh -L unit       any extra arguments go to the first ctest
# Environment:
#   PGVIGIL_SANITIZERS=0     skip the sanitizer and fuzz builds (on by default and in CI)
#   PGVIGIL_FUZZ_SECONDS=N   how long each fuzzer runs (default 20)
#   PGVIGIL_CCACHE=0         do not use ccache even when it is installed
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test

# Formatting first (a second or two): every C/C++ file in the repository matches .clang-format.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z '*.cpp' '*.h' '*.c' | xargs -0 clang-format --dry-run -Werror
fi

# ccache when present, with its cache outside the tree: a fresh clone in CI reuses the objects
# of the previous run (the same sources compile in seconds instead of minutes).
cache=()
if [ "${PGVIGIL_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/pgvigil-ccache}
  export CCACHE_BASEDIR=$PWD  # relative paths: hits across clones in different directories
  # ... which -g defeats unless the working directory stays out of the hash (the debug info of a
  # cached object may then name another clone's directory). Also lets scripts/package.sh's build
  # dir reuse this build's objects.
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  cache=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# The Windows dependencies (libpq, OpenSSL, yaml-cpp, c-ares, Poco cross-built from Debian's
# source packages): nothing to do when the prefix for the current lock file is cached
# (~/.cache/pgvigil-windeps), else built first (docs/windows.md "Building"). The build below
# then cross-builds the Windows layers against it; the test windows_unit runs them under Wine.
windeps=$(bash scripts/windows-deps.sh)
# PostgreSQL 15 for Windows, for the end-to-end test under Wine (wine_e2e): cached the same way
# (~/.cache/pgvigil-winpg; a miss builds it from Debian's postgresql-15 source, docs/windows.md).
winpg=$(bash scripts/windows-postgres.sh)

build=${PGVIGIL_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGVIGIL_WERROR=ON \
  -DPGVIGIL_WINDEPS="$windeps" -DPGVIGIL_WINPG="$winpg" "${cache[@]}" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"

[ "${PGVIGIL_SANITIZERS:-1}" = 0 ] && exit 0

# Sanitizers and fuzzers (docs/architecture.md). Unit-level tests only (labels unit and agent):
# no integration executables, so each build stays small. Every report fails the test.
#   build-asan: clang, ASan + UBSan + libFuzzer coverage; the unit tests, then each fuzzer
#   build-tsan: clang, TSan; the unit tests (the threaded agent runtime is what it is for)
sanitized() {  # sanitized DIR SANITIZERS [cmake args...]
  local dir=$1 sanitizers=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGVIGIL_WERROR=ON \
    -DCMAKE_CXX_COMPILER=clang++ -DPGVIGIL_SANITIZE="$sanitizers" -DPGVIGIL_INTEGRATION_TESTS=OFF \
    "${cache[@]}" "$@" >/dev/null
  cmake --build "$dir" --parallel "$(nproc)"
}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"

sanitized build-asan "address;undefined" -DPGVIGIL_FUZZ=ON
ctest --test-dir build-asan --output-on-failure --timeout 900 -L 'unit|agent'
ctest --test-dir build-asan --output-on-failure -L fuzz

sanitized build-tsan thread
ctest --test-dir build-tsan --output-on-failure --timeout 900 -L 'unit|agent'

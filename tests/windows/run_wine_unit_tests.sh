#!/usr/bin/env bash
# The unit tests of the layers that build for Windows, as Windows .exes under Wine (test
# windows_unit, label windows). The exes are cross-built with the rest of the Linux build into
# WIN_BUILD_DIR (tests/windows/CMakeLists.txt, cmake/windows.cmake); this runs that tree's ctest
# (label unit; every runner goes through wine, CMAKE_CROSSCOMPILING_EMULATOR) in a private,
# temporary WINEPREFIX, and checks that each runner really ran test cases: a runner that ran none,
# or a tree with no runner, fails.
#   run_wine_unit_tests.sh WIN_BUILD_DIR WINDEPS_PREFIX
# Exit 77 (skipped) only when mingw-w64 or wine is not installed (scripts/setup.sh test installs
# them). Bounded: wineboot 90 s, the runners 300 s each and 500 s in all. Stops only what it
# started: the wineserver of its own WINEPREFIX, on success, failure or interruption.
set -uo pipefail

dir=${1:?usage: run_wine_unit_tests.sh WIN_BUILD_DIR WINDEPS_PREFIX}
windeps=${2:-}
# shellcheck source-path=SCRIPTDIR source=wine_lib.sh
. "$(dirname "$0")/wine_lib.sh"
cxx=$(command -v x86_64-w64-mingw32-g++-posix || true)
if [ -z "$cxx" ] || [ -z "$wine" ] || [ -z "$wineserver" ]; then
  echo "windows_unit: SKIPPED: needs x86_64-w64-mingw32-g++-posix and wine (scripts/setup.sh test)"
  exit 77
fi
if [ -z "$windeps" ] || [ ! -f "$windeps/windeps.lock" ]; then
  echo "windows_unit: no Windows dependency prefix ('$windeps'): run scripts/windows-deps.sh" \
    "(scripts/test.sh does), then configure the build again"
  exit 1
fi
if [ ! -f "$dir/CTestTestfile.cmake" ]; then
  echo "windows_unit: $dir has no Windows build: build the Linux tree first (it builds that one)"
  exit 1
fi

wine_prefix wine-unit

start=$(date +%s.%N)
wine_boot windows_unit 90 "$tmp/wineboot.log" || exit 1
boot=$(date +%s.%N)

# -V: every runner's own report, which is what is checked below.
bounded 500 ctest --test-dir "$dir" -L unit -V --timeout 300 </dev/null >"$tmp/ctest.log" 2>&1
rc=$?
end=$(date +%s.%N)
tr -d '\r' <"$tmp/ctest.log" | grep -E '^[0-9]+: (Test module|  [0-9]+ test cases)|Test +#|tests passed|tests failed|error:' || true

# Every runner that ctest knows must have reported test cases it passed; none may be missing.
runners=$(ctest --test-dir "$dir" -L unit -N | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p')
cases=0
# Each runner's report (ctest -V prefixes its lines with the test's number):
#   N: Test module "pgvigil_core" has passed with:
#   N:   130 test cases out of 130 passed
mapfile -t passed < <(tr -d '\r' <"$tmp/ctest.log" | awk '
  /^[0-9]+: Test module "[^"]*" has passed with:/ {
    id = $1; match($0, /"[^"]*"/); module[id] = substr($0, RSTART + 1, RLENGTH - 2); next }
  /^[0-9]+: +[0-9]+ test cases? out of [0-9]+ passed/ { if ($1 in module && !($1 in n)) n[$1] = $2 }
  END { for (id in module) print module[id], (id in n ? n[id] : 0) }')
nrunners=$(echo "$runners" | grep -c . || true)
for p in "${passed[@]}"; do cases=$((cases + ${p##* })); done
awk -v s="$start" -v b="$boot" -v e="$end" \
  'BEGIN { printf "windows_unit: wineboot %.1f s, runners %.1f s\n", b - s, e - b }'
echo "windows_unit: $nrunners runners, ${#passed[@]} reported passing, $cases test cases"
if [ "$rc" -ne 0 ]; then
  echo "windows_unit: ctest under Wine failed (exit $rc); the end of its log:"
  tr -d '\r' <"$tmp/ctest.log" | tail -60
  exit 1
fi
if [ "$nrunners" -eq 0 ] || [ "${#passed[@]}" -ne "$nrunners" ] || [ "$cases" -eq 0 ]; then
  echo "windows_unit: FAILED: every runner must report the test cases it passed"
  tr -d '\r' <"$tmp/ctest.log" | tail -40
  exit 1
fi
for p in "${passed[@]}"; do
  if [ "${p##* }" -eq 0 ]; then
    echo "windows_unit: FAILED: ${p% *} ran no test case"
    exit 1
  fi
done
exit 0

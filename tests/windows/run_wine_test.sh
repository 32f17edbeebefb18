#!/usr/bin/env bash
# The Windows service restarter against a real Service Control Manager: Wine's (TESTING.md
# "Windows"). Cross-compiles scm_driver.exe (pgvigil's ScmControl + Win32ScmApi) and
# dummy_service.exe with mingw-w64, runs the driver under headless Wine in a private WINEPREFIX,
# and passes on its verdict (last line "N passed, N failed"; exit 0 only if all passed).
#   run_wine_test.sh [--build-only] OUT_DIR
# The exes are rebuilt only when missing or older than a source (CMake's build runs
# --build-only, so the test itself is mostly Wine).
# Bounded: every wine call runs under `timeout`; the whole test takes well under two minutes.
# Stops only what it started: the wineserver of its own temporary WINEPREFIX (wineserver -k acts
# on the prefix in WINEPREFIX only), on success, failure or interruption.
# Exit 77 (skipped) when mingw-w64 or wine is missing: scripts/setup.sh test installs them.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=wine_lib.sh
. "$here/wine_lib.sh"
src=$(cd "$here/../../src" && pwd)
build_only=0
if [ "${1:-}" = "--build-only" ]; then
  build_only=1
  shift
fi
out=${1:-$here/../../build-windows/wine}
mkdir -p "$out"
out=$(cd "$out" && pwd)

cxx=$(command -v x86_64-w64-mingw32-g++-posix || command -v x86_64-w64-mingw32-g++ || true)
if [ -z "$cxx" ] || { [ "$build_only" -eq 0 ] && { [ -z "$wine" ] || [ -z "$wineserver" ]; }; }; then
  echo "wine_scm: SKIPPED: needs x86_64-w64-mingw32-g++ and wine (scripts/setup.sh test)"
  exit 77
fi

flags=(-std=c++20 -O1 -Wall -Wextra -Werror -municode -static -I"$src")
build() {  # build OUTPUT SOURCES...: only when out of date; bounded
  local exe=$1 f
  shift
  local stale=0
  [ -f "$out/$exe" ] || stale=1
  for f in "$@" "$src"/restart/windows/*.h "$src"/restart/scm_stop_rule.h "$src"/core/*.h; do
    [ "$f" -nt "$out/$exe" ] && stale=1
  done
  [ "$stale" -eq 1 ] || return 0
  timeout 300 "$cxx" "${flags[@]}" -o "$out/$exe.tmp" "$@" && mv "$out/$exe.tmp" "$out/$exe"
}
build scm_driver.exe "$here/scm_driver.cpp" "$src/restart/windows/scm_control.cpp" \
  "$src/restart/windows/scm_win32.cpp" "$src/restart/windows/scm_watcher.cpp" \
  "$src/restart/scm_stop_rule.cpp" "$src/core/names.cpp" &
driver_build=$!
build dummy_service.exe "$here/dummy_service.cpp" &
dummy_build=$!
wait "$driver_build" || { echo "wine_scm: building scm_driver.exe failed"; exit 1; }
wait "$dummy_build" || { echo "wine_scm: building dummy_service.exe failed"; exit 1; }
[ "$build_only" -eq 0 ] || exit 0

wine_prefix wine
cp "$out/scm_driver.exe" "$out/dummy_service.exe" "$tmp/"

start=$(date +%s)
wine_boot wine_scm 60 "$tmp/wineboot.log" || exit 1
echo "wine_scm: prefix ready in $(($(date +%s) - start)) s"

bounded 90 "$wine" "$tmp/scm_driver.exe" </dev/null >"$tmp/driver.log" 2>"$tmp/driver.err"
rc=$?
tr -d '\r' <"$tmp/driver.log"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "wine_scm: the driver did not finish within 90 s"
  exit 1
fi
last=$(tr -d '\r' <"$tmp/driver.log" | tail -1)
if ! [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || [ "$rc" -ne 0 ]; then
  echo "wine_scm: driver exit code $rc"
  tail -20 "$tmp/driver.err"
  exit 1
fi
echo "wine_scm: done in $(($(date +%s) - start)) s"
exit 0

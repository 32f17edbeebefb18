#!/usr/bin/env bash
# The Windows app layer against Wine's real Service Control Manager (docs/windows.md "How it is
# tested"): pgvigil's service host (src/app/windows/service_host.cpp) with a dummy body wired as
# `pgvigil run --service` wires the agent, `service install` / `uninstall`
# (src/app/windows/service_install.cpp) and the event log (src/events/windows/event_log.cpp),
# cross-compiled with mingw-w64 into service_driver.exe together with pgvigil's message table
# (windmc + windres). Needs neither the dependency prefix nor the agent.
#   run_wine_service_test.sh [--build-only] OUT_DIR
# Steps: the exe from a console (the dispatcher must fail with 1063, not hang); install, then
# Wine's own `sc start` / `sc query` / `sc stop` (RUNNING, then STOPPED with exit code 0);
# then service_driver.exe test (every check; last line "N passed, N failed").
# Bounded: every wine call runs under `timeout`. Stops only what it started: the wineserver of
# its own temporary WINEPREFIX, on success, failure or interruption.
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
out=${1:-$here/../../build-windows/wine-service}
mkdir -p "$out"
out=$(cd "$out" && pwd)

cxx=$(command -v x86_64-w64-mingw32-g++-posix || command -v x86_64-w64-mingw32-g++ || true)
windmc=$(command -v x86_64-w64-mingw32-windmc || true)
windres=$(command -v x86_64-w64-mingw32-windres || true)
if [ -z "$cxx" ] || [ -z "$windmc" ] || [ -z "$windres" ] ||
  { [ "$build_only" -eq 0 ] && { [ -z "$wine" ] || [ -z "$wineserver" ]; }; }; then
  echo "wine_service: SKIPPED: needs x86_64-w64-mingw32-g++, windmc, windres and wine (scripts/setup.sh test)"
  exit 77
fi

sources=("$here/service_driver.cpp" "$src/app/windows/service_host.cpp"
  "$src/app/windows/service_install.cpp" "$src/app/windows/agent_signals.cpp"
  "$src/app/windows/service_notify.cpp" "$src/events/windows/event_log.cpp"
  "$src/restart/windows/scm_win32.cpp" "$src/restart/windows/scm_control.cpp")
mc=$src/app/windows/pgvigil_messages.mc
exe=$out/service_driver.exe
stale=0
[ -f "$exe" ] || stale=1
for f in "${sources[@]}" "$mc" "$0" "$src"/app/*.h "$src"/app/windows/*.h "$src"/events/windows/*.h \
  "$src"/restart/windows/*.h; do
  [ "$f" -nt "$exe" ] && stale=1
done
if [ "$stale" -eq 1 ]; then
  gen=$out/gen
  mkdir -p "$gen"
  if ! timeout 60 "$windmc" -h "$gen" -r "$gen" "$mc" ||
    ! timeout 60 "$windres" -I "$gen" "$gen/pgvigil_messages.rc" -O coff -o "$gen/messages.o"; then
    echo "wine_service: compiling the message table failed"
    exit 1
  fi
  if ! timeout 600 "$cxx" -std=c++20 -O1 -Wall -Wextra -Werror -municode -static -I"$src" \
    -o "$exe.tmp" "${sources[@]}" "$gen/messages.o"; then
    echo "wine_service: building service_driver.exe failed"
    exit 1
  fi
  mv "$exe.tmp" "$exe"
fi
[ "$build_only" -eq 0 ] || exit 0

wine_prefix wine-service
cp "$exe" "$tmp/"

failures=0
fail() {
  echo "FAIL - $*"
  failures=$((failures + 1))
}

start=$(date +%s)
wine_boot wine_service 60 "$tmp/wineboot.log" || exit 1
echo "wine_service: prefix ready in $(($(date +%s) - start)) s"
driver='C:\users\Public\service_driver.exe'
cp "$exe" "$WINEPREFIX/drive_c/users/Public/" || exit 1

# 1. From a console, `run --service` must fail (1063) and say so. Under Wine the dispatcher
#    takes about 10 s to give up (on Windows it fails at once).
bounded 40 "$wine" "$driver" not-a-service </dev/null >"$tmp/console.log" 2>&1
rc=$?
tr -d '\r' <"$tmp/console.log" | grep -v '^it looks like\|^multiarch\|^execute\|^apt-get' || true
[ "$rc" -eq 0 ] && echo "ok   - the host from a console fails with 1063" ||
  fail "the host from a console: exit $rc"

# 2. Wine's own sc against the installed service.
sc() { bounded 20 "$wine" sc "$@" </dev/null 2>/dev/null | tr -d '\r'; }
state_of() { sc query pgvigil-test | sed -n 's/^ *STATE *: *\([0-9]*\).*/\1/p'; }
if bounded 40 "$wine" "$driver" install </dev/null >"$tmp/install.log" 2>&1; then
  echo "ok   - service_driver.exe install"
  sc start pgvigil-test >/dev/null
  seen=""
  for _ in $(seq 1 100); do
    s=$(state_of)
    [ -n "$s" ] && [ "${seen##* }" != "$s" ] && seen="$seen $s"
    [ "$s" = 4 ] && break
    sleep 0.1
  done
  # 2 START_PENDING, 4 RUNNING; sc query is slow enough under Wine to miss a short pending state.
  [[ " $seen " == *" 4 "* ]] && echo "ok   - sc start: RUNNING (states seen:$seen)" ||
    fail "sc start: never RUNNING (states seen:$seen)"
  sc stop pgvigil-test >/dev/null
  for _ in $(seq 1 100); do
    s=$(state_of)
    [ "$s" = 1 ] && break
    sleep 0.1
  done
  q=$(sc query pgvigil-test)
  if [[ $q =~ STATE\ *:\ *1\  ]] && [[ $q =~ WIN32_EXIT_CODE\ *:\ *0\  ]]; then
    echo "ok   - sc stop: STOPPED, WIN32_EXIT_CODE 0"
  else
    fail "sc stop: $q"
  fi
  # Wine 8's sc.exe has no qc, qdescription or qfailure ("command not supported"): the driver
  # reads the configuration back through QueryServiceConfigW / QueryServiceConfig2W instead.
  if sc qc pgvigil-test | grep -q AUTO_START; then
    echo "ok   - sc qc: AUTO_START"
  else
    echo "     # sc qc is not supported by this sc.exe (Wine): checked through the API below"
  fi
  bounded 40 "$wine" "$driver" uninstall </dev/null >/dev/null 2>&1 || fail "service_driver.exe uninstall"
else
  tr -d '\r' <"$tmp/install.log"
  fail "service_driver.exe install"
fi

# 3. Every check of the driver.
bounded 120 "$wine" "$driver" test </dev/null >"$tmp/driver.log" 2>"$tmp/driver.err"
rc=$?
tr -d '\r' <"$tmp/driver.log"
last=$(tr -d '\r' <"$tmp/driver.log" | tail -1)
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  fail "the driver did not finish within 120 s"
elif ! [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || [ "$rc" -ne 0 ]; then
  fail "driver exit code $rc"
  tail -20 "$tmp/driver.err"
fi
echo "wine_service: done in $(($(date +%s) - start)) s, $failures failure(s) outside the driver"
[ "$failures" -eq 0 ]

# shellcheck shell=bash
# What every Wine test (tests/windows/run_wine_*.sh) does the same way, sourced by each:
#   wine, wineserver        the tools' paths ("" when missing; the test decides to skip, exit 77)
#   wine_prefix NAME        a private temporary directory $tmp (/tmp/pgvigil-NAME.XXXXXX) holding
#                           the WINEPREFIX, Wine's environment for a headless run, and the traps
#                           that tear it down on success, failure or interruption
#   bounded SECS CMD...     CMD under timeout, in the background so that a TERM or INT to the test
#                           is handled at once (teardown) rather than after CMD ends
#   wine_boot NAME SECS LOG wineboot -i within SECS, then waits for the wineserver to settle
#   wine_teardown_extra     a function a test may define: called first on teardown (e.g. to
#                           continue a process it stopped)
# Teardown stops only what the test started: its own timeout process (by pid) and its own
# prefix's wineserver (`wineserver -k` acts on the prefix in WINEPREFIX only, and with it end that
# prefix's Windows processes); then the temporary directory goes.

wine=$(command -v wine || true)
wineserver=$(command -v wineserver || true)
child=""
tmp=""

bounded() {
  local secs=$1
  shift
  timeout -k 5 "$secs" "$@" &
  child=$!
  wait "$child"
  local rc=$?
  child=""
  return "$rc"
}

wine_teardown() {
  [ -z "$child" ] || kill "$child" 2>/dev/null
  if declare -F wine_teardown_extra >/dev/null; then wine_teardown_extra; fi
  if [ -n "${WINEPREFIX:-}" ] && [ -d "$WINEPREFIX" ]; then
    timeout 20 "$wineserver" -k >/dev/null 2>&1
    timeout 20 "$wineserver" -w >/dev/null 2>&1
    # The wineserver's directory outside the prefix (/tmp/wine-XXXXXX/server-<dev>-<inode>, a
    # lock file in it) outlives it: removed too, and its parent if nothing else is in it.
    local d server
    server=server-$(stat -c %D "$WINEPREFIX")-$(printf %x "$(stat -c %i "$WINEPREFIX")")
    for d in /tmp/wine-*/"$server"; do
      [ -d "$d" ] || continue
      rm -rf "$d"
      rmdir "${d%/*}" 2>/dev/null
    done
  fi
  [ -z "$tmp" ] || rm -rf "$tmp"
}

wine_prefix() {
  tmp=$(mktemp -d "/tmp/pgvigil-$1.XXXXXX") || exit 1
  export WINEPREFIX=$tmp/prefix WINEDEBUG=-all WINEARCH=win64
  export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
  unset DISPLAY WAYLAND_DISPLAY
  trap wine_teardown EXIT
  trap 'exit 130' INT TERM
}

wine_boot() {
  local name=$1 secs=$2 log=$3
  if ! bounded "$secs" "$wine" wineboot -i </dev/null >>"$log" 2>&1; then
    echo "$name: wineboot failed or took over $secs s"
    tail -20 "$log"
    return 1
  fi
  # Required: without it a second SCM starts and service starts fail (1053/1055).
  if ! bounded 30 "$wineserver" -w; then
    echo "$name: wineserver did not settle after wineboot"
    return 1
  fi
}

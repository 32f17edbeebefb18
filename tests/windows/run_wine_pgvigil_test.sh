#!/usr/bin/env bash
# pgvigil.exe itself under Wine (docs/windows.md "How it is tested"): in a console, `pgvigil run`
# serves /health on 127.0.0.1 (curl from Linux) and stops cleanly on Ctrl+C (SIGINT, which Wine
# turns into CTRL_C_EVENT) with exit code 0; as a service, `pgvigil service install`, `sc start`
# (RUNNING, /health answers), `sc stop` (STOPPED, exit code 0), an invalid config (STOPPED with
# 1066 / service-specific 78), `pgvigil service uninstall`.
#   run_wine_pgvigil_test.sh PGVIGIL_EXE
# The one target points at a closed loopback port: no PostgreSQL is needed, and the agent must
# still start, serve and stop. Bounded (every wine call under timeout); ends only its own
# prefix's wineserver. Exit 77 (skipped) when wine or curl is missing.
set -uo pipefail
exe=${1:?usage: run_wine_pgvigil_test.sh PGVIGIL_EXE}
# shellcheck source-path=SCRIPTDIR source=wine_lib.sh
. "$(dirname "$0")/wine_lib.sh"
if [ -z "$wine" ] || [ -z "$wineserver" ] || ! command -v curl >/dev/null; then
  echo "wine_pgvigil: SKIPPED: needs wine and curl"
  exit 77
fi
if [ ! -f "$exe" ]; then
  # Skipped only while the app layer is not part of the Windows build at all (cmake/windows.cmake
  # adds it with the agent layer); once it is, a missing pgvigil.exe is a failure.
  if [ ! -d "$(dirname "$exe")" ]; then
    echo "wine_pgvigil: SKIPPED: the Windows build has no app layer yet ($(dirname "$exe") missing)"
    exit 77
  fi
  echo "wine_pgvigil: no $exe although the Windows build has the app layer"
  exit 1
fi

wine_prefix wine-exe
failures=0
ok() { echo "ok   - $*"; }
fail() {
  echo "FAIL - $*"
  failures=$((failures + 1))
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start=$(date +%s)
wine_boot wine_pgvigil 60 "$tmp/wineboot.log" || exit 1
dir=$WINEPREFIX/drive_c/pgvigil
mkdir -p "$dir/state"
cp "$exe" "$dir/pgvigil.exe"
port=$(free_port)
closed=$(free_port)
cat >"$dir/x.yaml" <<YAML
agent:
  listen: "127.0.0.1:$port"
  state_dir: C:\\pgvigil\\state
  log: { output: stdout, level: info }
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=$closed dbname=postgres user=postgres connect_timeout=1"
    interval: 2s
    timeout: 1s
    restart: { method: none }
YAML
printf 'agent:\n  listen: [oops\n' >"$dir/bad.yaml"
health() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health"; }
wait_health() {
  local code=000
  for _ in $(seq 1 60); do
    code=$(health)
    [ "$code" != 000 ] && break
    sleep 0.5
  done
  echo "$code"
}

# 1. Console: run, /health, Ctrl+C (SIGINT after 25 s at the latest) -> exit 0.
timeout --preserve-status -s INT -k 10 25 "$wine" 'C:\pgvigil\pgvigil.exe' run -c 'C:\pgvigil\x.yaml' \
  </dev/null >"$tmp/console.out" 2>"$tmp/console.err" &
run=$!
code=$(wait_health)
[ "$code" != 000 ] && ok "pgvigil run in a console serves /health (HTTP $code)" ||
  fail "pgvigil run in a console: /health never answered"
kill -INT "$run" 2>/dev/null
wait "$run"
rc=$?
tr -d '\r' <"$tmp/console.out" | grep -E 'agent_(started|stopping)' | cut -c1-200
[ "$rc" -eq 0 ] && ok "Ctrl+C: exit code 0" || fail "Ctrl+C: exit code $rc"
grep -q 'agent_stopping.*Ctrl+C' <(tr -d '\r' <"$tmp/console.out") &&
  ok "agent_stopping says Ctrl+C" || { fail "no agent_stopping with Ctrl+C"; tail -5 "$tmp/console.err"; }

# 2. As a service.
pg() { bounded 60 "$wine" 'C:\pgvigil\pgvigil.exe' "$@" </dev/null 2>&1 | tr -d '\r'; }
sc() { bounded 20 "$wine" sc "$@" </dev/null 2>/dev/null | tr -d '\r'; }
state_of() { sc query pgvigil | sed -n 's/^ *STATE *: *\([0-9]*\).*/\1/p'; }
wait_state() {
  for _ in $(seq 1 120); do
    [ "$(state_of)" = "$1" ] && return 0
    sleep 0.25
  done
  return 1
}
pg service install -c 'C:\pgvigil\x.yaml' --postgres-service '' >"$tmp/install.log"
grep -q "installed" "$tmp/install.log" && ok "pgvigil service install" ||
  { fail "pgvigil service install"; cat "$tmp/install.log"; }
sc start pgvigil >/dev/null
wait_state 4 && ok "sc start: RUNNING" || fail "sc start: not RUNNING: $(sc query pgvigil)"
code=$(wait_health)
[ "$code" != 000 ] && ok "the service serves /health (HTTP $code)" || fail "the service: no /health"
sc stop pgvigil >/dev/null
wait_state 1 && ok "sc stop: STOPPED" || fail "sc stop: $(sc query pgvigil)"
sc query pgvigil | grep -Eq 'WIN32_EXIT_CODE *: *0 ' && ok "clean stop: exit code 0" ||
  fail "stop exit code: $(sc query pgvigil)"
pg service install -c 'C:\pgvigil\bad.yaml' --postgres-service '' >/dev/null
sc start pgvigil >/dev/null
wait_state 1
q=$(sc query pgvigil)
[[ $q =~ WIN32_EXIT_CODE\ *:\ *1066 ]] && [[ $q =~ SERVICE_EXIT_CODE\ *:\ *78 ]] &&
  ok "invalid config: STOPPED with 1066 / 78" || fail "invalid config: $q"
pg service uninstall >"$tmp/uninstall.log"
sc query pgvigil | grep -q 'STATE' && fail "the service is still there" || ok "pgvigil service uninstall"
echo "wine_pgvigil: done in $(($(date +%s) - start)) s, $failures failure(s)"
[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# End to end under Wine's real Service Control Manager against the real thing: PostgreSQL 15 for
# Windows (scripts/windows-postgres.sh) registered as the service postgresql-x64-15 with
# `pg_ctl register` (docs/windows.md "The end-to-end test under Wine").
#   run_wine_e2e.sh WINPG_DIR [PGVIGIL_EXE]
# Without PGVIGIL_EXE: the PostgreSQL service's own behaviour, which the agent relies on: initdb,
# register, `net start` (Linux psql answers), `taskkill /F` of the postmaster (the service reports
# a clean STOPPED, exit code 0), `net start` again, an operator's `net stop` (STOPPED, exit code 0,
# with the stop handler's wait hint), a hung postmaster (SIGSTOP of its Linux process: connects
# time out, the SCM still says RUNNING, a STOP stays STOP_PENDING until it resumes).
# With PGVIGIL_EXE: also the agent as a service against it (section "pgvigil.exe" below).
# Prints one line per check and "N passed, N failed" last; exit 0 only if all passed.
# Bounded: every wine call runs under `timeout`, every wait has a deadline. Stops only what it
# started: the wineserver of its own temporary WINEPREFIX (and with it that prefix's processes),
# on success, failure or interruption; a process it SIGSTOPped is continued first.
# Exit 77 (skipped) only when wine or mingw-w64 is not installed (scripts/setup.sh test).
set -uo pipefail

winpg=${1:-}
pgvigil_exe=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=wine_lib.sh
. "$here/wine_lib.sh"
if [ -z "$wine" ] || [ -z "$wineserver" ] ||
  ! command -v x86_64-w64-mingw32-gcc-posix >/dev/null; then
  echo "wine_e2e: SKIPPED: needs wine and mingw-w64 (scripts/setup.sh test)"
  exit 77
fi
if [ -z "$winpg" ] || [ ! -f "$winpg/bin/pg_ctl.exe" ]; then
  echo "wine_e2e: no PostgreSQL for Windows in '${winpg}': run scripts/windows-postgres.sh" \
    "(scripts/test.sh does) and pass its directory"
  exit 1
fi
winpg=$(cd "$winpg" && pwd)
if [ -n "$pgvigil_exe" ] && [ ! -f "$pgvigil_exe" ]; then
  echo "wine_e2e: no pgvigil.exe at $pgvigil_exe"
  exit 1
fi
for tool in psql ss; do
  command -v "$tool" >/dev/null || { echo "wine_e2e: $tool is missing (scripts/setup.sh test)"; exit 1; }
done

svc=postgresql-x64-15
stopped_pid=""  # a Linux pid this script SIGSTOPped and has not continued yet
watcher=""      # the timeout process around a running svc_watch.exe
wine_teardown_extra() {
  [ -z "$stopped_pid" ] || kill -CONT "$stopped_pid" 2>/dev/null
  [ -z "$watcher" ] || kill "$watcher" 2>/dev/null  # our own timeout process, by pid
}
wine_prefix wine-e2e
if ! timeout 300 x86_64-w64-mingw32-g++-posix -std=c++20 -O1 -Wall -Wextra -Werror -municode -static \
  -o "$tmp/svc_watch.exe" "$here/svc_watch.cpp"; then
  echo "wine_e2e: building svc_watch.exe failed"
  exit 1
fi
log=$tmp/wine.log
start=$(date +%s)

# w SECS PROGRAM ARGS...: a Windows program under Wine, bounded; its stdout without CRs on
# stdout, its stderr in the log.
w() {
  local secs=$1 rc
  shift
  bounded "$secs" "$wine" "$@" </dev/null >"$tmp/w.out" 2>>"$log"
  rc=$?
  tr -d '\r' <"$tmp/w.out"
  return "$rc"
}

passed=0
failed=0
check() {  # check NAME CONDITION-COMMAND...: one verdict line
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
  fi
}
fatal() {  # the scenario cannot go on
  echo "wine_e2e: $*"
  echo "--- the end of the Wine log:"
  tail -20 "$log" 2>/dev/null
  failed=$((failed + 1))
  echo "$passed passed, $failed failed"
  exit 1
}
elapsed() { echo "$(($(date +%s) - start)) s"; }

winpath() { local p=${1//\//\\}; echo "Z:$p"; }
free_port() {  # an unused TCP port on 127.0.0.1
  local p
  for p in $(shuf -i 20000-59999 -n 100); do
    [ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  return 1
}

# sc_query NAME: "STATE EXIT_CODE WAIT_HINT" from `sc query`; "0 - -" when the query fails (no
# such service: Wine's sc prints nothing and exits 1, Windows' says 1060).
sc_query() {
  local out state exitc hint
  out=$(w 20 sc query "$1")
  state=$(sed -n 's/^ *STATE *: *\([0-9]*\).*/\1/p' <<<"$out")
  exitc=$(sed -n 's/^ *WIN32_EXIT_CODE *: *\([0-9]*\).*/\1/p' <<<"$out")
  hint=$(sed -n 's/^ *WAIT_HINT *: *\(0x[0-9a-fA-F]*\|[0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$state" ]; then
    echo "0 - -"
    return
  fi
  [ -n "$hint" ] && hint=$((hint))
  echo "$state ${exitc:-?} ${hint:-?}"
}
# wait_state NAME STATE SECS: until the service is in STATE (1 STOPPED, 3 STOP_PENDING, 4 RUNNING);
# prints the last query; 0 if reached in time.
wait_state() {
  local name=$1 want=$2 deadline=$((SECONDS + $3)) q
  while :; do
    q=$(sc_query "$name")
    [ "${q%% *}" = "$want" ] && { echo "$q"; return 0; }
    ((SECONDS < deadline)) || { echo "$q"; return 1; }
    sleep 0.3
  done
}

port=$(free_port) || fatal "no free port"
psql_ok() {  # psql_ok [SECS]: PostgreSQL answers a query within SECS (default 3)
  PGCONNECT_TIMEOUT=${1:-3} bounded $((${1:-3} + 5)) psql -X -w -h 127.0.0.1 -p "$port" -U postgres \
    -d postgres -Atc 'select 1' >"$tmp/psql.out" 2>&1 && [ "$(cat "$tmp/psql.out")" = 1 ]
}
wait_psql() {  # wait_psql SECS: until psql answers
  local deadline=$((SECONDS + $1))
  until psql_ok 2; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

# The Linux processes of this prefix running postgres.exe; the postmaster is the one without
# --fork* (a backend or auxiliary process is "postgres.exe --forkbackend ..." and the like).
pg_pids() {  # pg_pids [postmaster]
  local p cmd
  for p in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "WINEPREFIX=$WINEPREFIX" || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ "$cmd" == *postgres.exe* ]] || continue
    [ "${1:-}" = postmaster ] && [[ "$cmd" == *--fork* ]] && continue
    echo "${p#/proc/}"
  done
}
wait_no_pg() {  # wait_no_pg SECS: until no postgres.exe of this prefix is left
  local deadline=$((SECONDS + $1))
  while [ -n "$(pg_pids)" ]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

# watch_start NAME: svc_watch.exe reports the service's status changes (watch_out prints them)
# from now until it is STOPPED (at most 55 s); returns once it has registered (the first line is
# the current state). watch_end: waits for it; 0 if it saw STOPPED.
watch_out() { tr -d '\r' <"$tmp/watch.raw"; }
watch_start() {
  : >"$tmp/watch.raw"
  timeout -k 5 60 "$wine" "$tmp/svc_watch.exe" "$1" 55 </dev/null >"$tmp/watch.raw" 2>>"$log" &
  watcher=$!
  local deadline=$((SECONDS + 20))
  until [ -s "$tmp/watch.raw" ]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
watch_end() {
  wait "$watcher"
  watcher=""
  [ "$(watch_out | awk 'END { print $2 }')" = 1 ]
}
# watched STATE HINT: did the watcher see STATE with that wait hint ("" for any)?
watched() { watch_out | awk -v s="$1" -v h="$2" '$2 == s && (h == "" || $4 == h) { f = 1 } END { exit !f }'; }
watch_log() { watch_out | tr '\n' ';' | sed 's/;$//'; }

# --- the Wine prefix: one persistent session, so that the SCM lives across the wine calls ----
wine_boot wine_e2e 90 "$log" || fatal "no Wine prefix"
"$wineserver" -p  # persistent until teardown's -k
echo "wine_e2e: prefix ready ($(elapsed))"

# --- PostgreSQL 15 for Windows as the service postgresql-x64-15 --------------------------------
bin=$(winpath "$winpg/bin")
data=$tmp/data
# Running as an administrator (always, under Wine), initdb and pg_ctl drop to a restricted token.
w 120 "$bin\\initdb.exe" -D "$(winpath "$data")" -U postgres -A trust -E UTF8 --locale=C \
  --no-sync >"$tmp/initdb.out" || { cat "$tmp/initdb.out"; fatal "initdb failed"; }
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
max_connections = 20
shared_buffers = 16MB
fsync = off
CONF
echo "wine_e2e: initdb done ($(elapsed)), port $port"
check "pg_ctl register -N $svc" w 30 "$bin\\pg_ctl.exe" register -N "$svc" -D "$(winpath "$data")" \
  -S demand -w
q=$(sc_query "$svc")
check "the service exists and is STOPPED ($q)" test "${q%% *}" = 1

w 60 net start "$svc" >/dev/null
q=$(wait_state "$svc" 4 30)
check "net start: RUNNING ($q)" test "${q%% *}" = 4
check "Linux psql answers" wait_psql 20
psql -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'select version()' 2>/dev/null | head -1

# A crash: the postmaster killed. pg_ctl (the service process) sees it exit and reports STOPPED
# with exit code 0, exactly as after a requested stop (docs/windows.md). postmaster.pid's first
# line is the postmaster's Windows pid. svc_watch.exe records every status the SCM announces on
# the way: pg_ctl's crash path reports STOP_PENDING too, for microseconds, but with its start's
# wait hint (60000 + 6000 per second it waited for the start), never its STOP handler's 10000
# (docs/windows.md "Telling an operator's stop from a crash").
winpid=$(head -1 "$data/postmaster.pid" 2>/dev/null | tr -d '\r')
check "postmaster.pid names the postmaster ($winpid)" test -n "$winpid"
watch_start "$svc" || fatal "svc_watch.exe did not report the service's state"
w 20 taskkill /F /PID "$winpid" >/dev/null
check "taskkill /F of the postmaster: the SCM announces STOPPED" watch_end
crash_log=$(watch_log)
q=$(sc_query "$svc")
read -r crash_state crash_exit crash_hint <<<"$q"
check "sc query: STOPPED ($q)" test "$crash_state" = 1
check "... with exit code 0, a clean stop as far as the SCM can tell" test "$crash_exit" = 0
not_watched() { ! watched "$@"; }
check "no STOP_PENDING with the stop handler's wait hint 10000 on the way ($crash_log)" \
  not_watched 3 10000
check "PostgreSQL refuses connections" bash -c "! PGCONNECT_TIMEOUT=3 psql -X -w -h 127.0.0.1 \
  -p $port -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1"
# The backends see the postmaster gone and exit; a start while they still hold the shared memory
# would fail (WINDOWS-BUILD.md §4.3 C), which is the agent's business, not this check's.
check "the killed postmaster's children exit" wait_no_pg 20
w 60 net start "$svc" >/dev/null
q=$(wait_state "$svc" 4 30)
check "net start after the crash: RUNNING ($q)" test "${q%% *}" = 4
check "psql answers again" wait_psql 20

# An operator's stop: STOPPED with exit code 0 too, but on the way pg_ctl's STOP handler
# announces STOP_PENDING with its wait hint 10000 for as long as the postmaster's shutdown takes.
watch_start "$svc" || fatal "svc_watch.exe did not report the service's state"
w 60 net stop "$svc" >/dev/null
check "net stop: the SCM announces STOPPED" watch_end
op_log=$(watch_log)
q=$(sc_query "$svc")
read -r op_state op_exit op_hint <<<"$q"
check "sc query: STOPPED ($q)" test "$op_state" = 1
check "... with exit code 0" test "$op_exit" = 0
check "STOP_PENDING with the stop handler's wait hint 10000 on the way ($op_log)" watched 3 10000
# Evidence for docs/windows.md: what each case looked like ("ms state exit hint checkpoint").
echo "wine_e2e: crash: $crash_log; final WAIT_HINT $crash_hint"
echo "wine_e2e: net stop: $op_log; final WAIT_HINT $op_hint"
w 60 net start "$svc" >/dev/null
q=$(wait_state "$svc" 4 30)
check "net start after net stop: RUNNING ($q)" test "${q%% *}" = 4
check "psql answers" wait_psql 20

# A hung postmaster: its Linux process stopped. The port stays open, nothing answers.
pm=$(pg_pids postmaster)
check "the postmaster's Linux process found (${pm//$'\n'/ })" test -n "$pm" -a "$(wc -w <<<"$pm")" = 1
if [ -n "$pm" ] && [ "$(wc -w <<<"$pm")" = 1 ]; then
  kill -STOP "$pm" && stopped_pid=$pm
  t0=$SECONDS
  psql_ok 3
  rc=$?
  check "SIGSTOP: a connect times out ($(tr '\n' ' ' <"$tmp/psql.out"))" \
    bash -c "[ $rc -ne 0 ] && grep -q 'timeout expired' '$tmp/psql.out'"
  q=$(sc_query "$svc")
  check "the SCM still says RUNNING ($q)" test "${q%% *}" = 4
  # A restart's STOP: pg_ctl's handler says STOP_PENDING and signals the postmaster, which cannot
  # answer; the service stays STOP_PENDING for as long as the postmaster is stopped.
  w 20 sc stop "$svc" >/dev/null
  sleep 3
  q=$(sc_query "$svc")
  check "sc stop of the hung service: STOP_PENDING 3 s later ($q)" test "${q%% *}" = 3
  kill -CONT "$pm" && stopped_pid=""
  q=$(wait_state "$svc" 1 40)
  check "kill -CONT: the pending stop completes, STOPPED ($q, $((SECONDS - t0)) s after SIGSTOP)" \
    test "${q%% *}" = 1
  wait_no_pg 20 >/dev/null
  w 60 net start "$svc" >/dev/null
  q=$(wait_state "$svc" 4 30)
  check "net start: RUNNING ($q)" test "${q%% *}" = 4
  check "psql answers" wait_psql 20
fi
echo "wine_e2e: PostgreSQL service scenario done ($(elapsed))"

# --- pgvigil.exe as a service against it (when given) -----------------------------------------
# The slot for issue 14's agent steps. The CLI spelled here is the one the issue names; if the
# service host (branch winsvc) spells it differently, only these lines change:
#   pgvigil_install: `pgvigil.exe service install -c CONFIG` registers the service "pgvigil"
#   pgvigil_uninstall: `pgvigil.exe service uninstall` removes it
if [ -n "$pgvigil_exe" ]; then
  cp "$pgvigil_exe" "$tmp/pgvigil.exe"
  exe=$(winpath "$tmp/pgvigil.exe")
  http_port=$(free_port) || fatal "no free port for the agent"
  mkdir -p "$tmp/pgvigil-state"
  conf=$tmp/pgvigil.yaml
  cat >"$conf" <<YAML
agent:
  listen: "127.0.0.1:$http_port"
  state_dir: $(winpath "$tmp/pgvigil-state")
  log:
    format: json
    output: file
    file: $(winpath "$tmp/pgvigil.log")
    level: debug
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=$port dbname=postgres user=postgres connect_timeout=2"
    interval: 1s
    timeout: 800ms
    unhealthy_after: 2
    healthy_after: 1
    monitoring_session: false
    restart:
      method: windows-service
      service: $svc
      timeout: 30s
      grace: 20s
      hang_after: 4s
      backoff: { initial: 10s, max: 1m, jitter: 0% }
      budget: { max: 6, window: 1h }
YAML
  # http PATH: the agent's whole answer to a GET (bash's /dev/tcp: no curl needed), bounded.
  http() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3
      cat <&3' "$http_port" "$1" 2>/dev/null | tr -d '\r'
  }
  health() { http /health | sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p'; }
  wait_health() {  # wait_health CODE SECS
    local deadline=$((SECONDS + $2))
    until [ "$(health)" = "$1" ]; do
      ((SECONDS < deadline)) || return 1
      sleep 0.5
    done
  }
  events() {  # events NAME: how many events of that name /events holds
    http "/events?limit=1000" | grep -o "\"event\": *\"$1\"" | wc -l
  }
  wait_events() {  # wait_events NAME COUNT SECS: until at least COUNT of them
    local deadline=$((SECONDS + $3))
    until [ "$(events "$1")" -ge "$2" ] 2>/dev/null; do
      ((SECONDS < deadline)) || return 1
      sleep 0.5
    done
  }

  check "pgvigil.exe service install" w 30 "$exe" service install -c "$(winpath "$conf")"
  w 30 sc start pgvigil >/dev/null
  q=$(wait_state pgvigil 4 30)
  check "sc start pgvigil: RUNNING ($q)" test "${q%% *}" = 4
  check "/health answers 200 from the Windows agent" wait_health 200 30

  # A crash: the agent restarts the service through the SCM.
  winpid=$(head -1 "$data/postmaster.pid" | tr -d '\r')
  w 20 taskkill /F /PID "$winpid" >/dev/null
  check "taskkill /F of the postmaster: /health 503" wait_health 503 20
  check "pgvigil restarted the service: restart_succeeded" wait_events restart_succeeded 1 60
  check "/health 200 again" wait_health 200 40
  q=$(sc_query "$svc")
  check "the service RUNNING ($q)" test "${q%% *}" = 4

  # An operator's stop through the SCM is respected (docs/windows.md "Telling an operator's stop
  # from a crash"): no restart within three times what the crash took.
  before=$(events restart_requested)
  w 60 net stop "$svc" >/dev/null
  q=$(wait_state "$svc" 1 30)
  check "net stop $svc: STOPPED ($q)" test "${q%% *}" = 1
  check "/health 503" wait_health 503 20
  sleep 20
  q=$(sc_query "$svc")
  check "pgvigil did not start it again ($q)" test "${q%% *}" = 1
  check "... and requested no restart" test "$(events restart_requested)" = "$before"
  w 60 net start "$svc" >/dev/null
  wait_state "$svc" 4 30 >/dev/null
  check "the operator's start: /health 200" wait_health 200 40

  # A hung postmaster: the health model's hang_after, then one restart whose STOP stays
  # STOP_PENDING until restart.timeout; backoff before the next: no restart storm.
  pm=$(pg_pids postmaster)
  before=$(events restart_requested)
  if [ -n "$pm" ] && [ "$(wc -w <<<"$pm")" = 1 ]; then
    kill -STOP "$pm" && stopped_pid=$pm
    check "SIGSTOP: /health 503" wait_health 503 20
    sleep 30
    n=$(($(events restart_requested) - before))
    check "at most 2 restarts requested in 30 s of hang ($n)" test "$n" -ge 1 -a "$n" -le 2
    kill -CONT "$pm" && stopped_pid=""
    check "kill -CONT: /health 200 again" wait_health 200 90
  else
    check "the postmaster's Linux process found" false
  fi

  w 30 sc stop pgvigil >/dev/null
  q=$(wait_state pgvigil 1 30)
  read -r st ex _ <<<"$q"
  check "sc stop pgvigil: STOPPED ($q)" test "$st" = 1
  check "... with exit code 0" test "$ex" = 0
  check "pgvigil.exe service uninstall" w 30 "$exe" service uninstall
  q=$(sc_query pgvigil)
  check "the service pgvigil is gone ($q)" test "$q" = "0 - -"
  echo "wine_e2e: pgvigil.exe scenario done ($(elapsed)); its log:"
  tail -5 "$tmp/pgvigil.log" 2>/dev/null
fi

# --- cleanup: the service stopped and unregistered ---------------------------------------------
w 60 net stop "$svc" >/dev/null
wait_state "$svc" 1 30 >/dev/null
check "pg_ctl unregister" w 30 "$bin\\pg_ctl.exe" unregister -N "$svc"
q=$(sc_query "$svc")
check "the service $svc is gone ($q)" test "$q" = "0 - -"
echo "wine_e2e: done in $(elapsed)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

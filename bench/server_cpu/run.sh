#!/usr/bin/env bash
# The PostgreSQL server CPU a watcher costs at a 1 s cycle (docs/benchmarks.md §6, issue 10):
#   sudo [ROUNDS=3] bash bench/server_cpu/run.sh build/src/app/pgvigil [SECONDS]
# One PostgreSQL 15 cluster (trust auth on 127.0.0.1) on a free port, watched in turn by nobody
# (the baseline), pgvigil (`run`, interval 1s, default checks), monit (`set daemon 1`,
# `if failed host 127.0.0.1 port N protocol pgsql`, then the same logging in as postgres) and
# postgres_exporter scraped once a second, each for a window of SECONDS (default 60) after 5 s
# to settle; ROUNDS rounds of that, interleaved, and the median window of each is reported. The server's CPU is the postmaster's
# utime+stime+cutime+cstime (backends that exit are reaped by it, so their time lands in
# cutime/cstime) plus every live child's own, from /proc, at the start and the end of the
# window. Prints ms of server CPU per minute for each, the watcher's part (minus the baseline)
# and the ratios. Everything it starts is stopped on exit. monit and postgres_exporter are used
# when installed (apt-get install -y monit prometheus-postgres-exporter). PGVIGIL_EXTRA is appended
# to pgvigil's target (e.g. "    checks: { connections: false }" to measure a part); ONLY=pgvigil
# skips the others; PGVIGIL_OLD=path measures an older build the same way; ROUNDS=0 measures
# only the parts. After the rounds, parts.c measures each part alone (PARTS_N of each, default
# 1000; PARTS_REPEATS, default 5). The cluster keeps 16 KB of each session's query text
# (track_activity_query_size), so that the holders statement read back from pg_stat_activity is
# whole (the default 1 KB cuts it).
set -euo pipefail
bin=$(readlink -f "$1")
secs=${2:-60}
BIN=/usr/lib/postgresql/15/bin
dir=$(mktemp -d /tmp/pgvigil-servercpu.XXXXXX)
chown postgres "$dir"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) http=$(free_port) eport=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -N >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -w -l "$dir/pg.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=50 -c track_activity_query_size=16384" start >/dev/null
pm=$(head -1 "$dir/data/postmaster.pid")
hz=$(getconf CLK_TCK)

# Server CPU so far, in clock ticks: the postmaster with its reaped children, plus live children.
server_ticks() {
  local total
  total=$(awk '{print $14+$15+$16+$17}' "/proc/$pm/stat")
  # shellcheck disable=SC2013  # pids, one word each
  for c in $(cat /proc/"$pm"/task/*/children 2>/dev/null); do
    local t
    t=$(awk '{print $14+$15+$16+$17}' "/proc/$c/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

measure() {  # name: settles 5 s, then prints ms of server CPU per minute over the window
  sleep 5
  local a b l
  a=$(server_ticks)
  sleep "$secs"
  b=$(server_ticks)
  l=$(cut -d' ' -f1 /proc/loadavg)
  python3 -c "print(f'$1 {($b-$a)*1000/$hz*60/$secs:.0f} load1=$l')"
}

cat >"$dir/pgvigil.yaml" <<YAML
agent:
  listen: "127.0.0.1:$http"
  state_dir: $dir/state
  log: { output: stdout }
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=$port dbname=postgres user=postgres"
    interval: 1s
    timeout: 800ms
${PGVIGIL_EXTRA:-}
YAML
cat >"$dir/monitrc" <<MONIT
set daemon 1
set logfile $dir/monit.log
set pidfile $dir/monit.pid
set idfile $dir/monit.id
set statefile $dir/monit.state
check host pg with address 127.0.0.1
  if failed port $port protocol pgsql then alert
MONIT
chmod 600 "$dir/monitrc"
# The same test logging in for real (a role that exists), as pgvigil's fresh session does: by
# default monit sends user "root", which PostgreSQL refuses before it opens the database.
sed "s/protocol pgsql then alert/protocol pgsql username \"postgres\" database \"postgres\" then alert/" \
  "$dir/monitrc" >"$dir/monitrc-login"
chmod 600 "$dir/monitrc-login"
exporter=$(command -v prometheus-postgres-exporter || true)

start_watcher() {  # name: starts it in the background, its pids in $wpids
  wpids=()
  case $1 in
    baseline) ;;
    pgvigil) "$bin" run -c "$dir/pgvigil.yaml" >>"$dir/pgvigil.log" 2>&1 & wpids+=($!) ;;
    pgvigil_old) "$PGVIGIL_OLD" run -c "$dir/pgvigil.yaml" >>"$dir/pgvigil-old.log" 2>&1 & wpids+=($!) ;;
    monit) monit -I -c "$dir/monitrc" >>"$dir/monit.out" 2>&1 & wpids+=($!) ;;
    monit_login) monit -I -c "$dir/monitrc-login" >>"$dir/monit.out" 2>&1 & wpids+=($!) ;;
    postgres_exporter_1s_scrape)
      DATA_SOURCE_NAME="host=127.0.0.1 port=$port dbname=postgres user=postgres sslmode=disable" \
        "$exporter" --web.listen-address="127.0.0.1:$eport" >>"$dir/exporter.log" 2>&1 &
      wpids+=($!)
      ( while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$eport/metrics" || true; done ) &
      wpids+=($!) ;;
  esac
  pids+=("${wpids[@]}")
}
stop_watcher() {
  for p in "${wpids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  sleep 1
}

watchers=(baseline pgvigil)
[ -n "${PGVIGIL_OLD:-}" ] && watchers+=(pgvigil_old)
if [ "${ONLY:-}" != pgvigil ]; then
  command -v monit >/dev/null && watchers+=(monit monit_login)
  [ -n "$exporter" ] && watchers+=(postgres_exporter_1s_scrape)
fi
read_holders() {  # the statement pgvigil prepares, from pg_stat_activity while it runs
  [ -s "$dir/holders.sql" ] && return 0
  "$BIN/psql" -XAt -h 127.0.0.1 -p "$port" -U postgres -d postgres -c \
    "SELECT query FROM pg_stat_activity WHERE query LIKE 'WITH a AS%' AND pid <> pg_backend_pid() LIMIT 1" \
    >"$dir/holders.sql" || true
}
# Interleaved: every watcher once per round, ROUNDS rounds, so that a change in the machine's
# load during the run touches every watcher alike; the median of the rounds is reported.
results=()
for ((r = 1; r <= ${ROUNDS:-3}; r++)); do
  for w in "${watchers[@]}"; do
    start_watcher "$w"
    results+=("$(measure "$w")")
    echo "round $r: ${results[-1]}" >&2
    [ "$w" = pgvigil ] && read_holders
    stop_watcher
  done
done
if [ ! -s "$dir/holders.sql" ]; then  # no pgvigil round ran (ROUNDS=0): run it to read the text
  start_watcher pgvigil
  sleep 4
  read_holders
  stop_watcher
fi

printf '%s\n' "${results[@]}"
# The parts of a watcher's work, each repeated on the same cluster (bench/server_cpu/parts.c).
if [ -s "$dir/holders.sql" ] && command -v gcc >/dev/null; then
  gcc -O2 -o "$dir/parts" "$(dirname "$0")/parts.c" -I"$(pg_config --includedir)" -lpq
  echo; echo "server CPU per operation (us), ${PARTS_REPEATS:-5} interleaved repeats of ${PARTS_N:-1000}:"
  "$dir/parts" "$pm" "host=127.0.0.1 port=$port dbname=postgres user=postgres" "$dir/holders.sql" \
    "${PARTS_N:-1000}" "${PARTS_REPEATS:-5}"
fi
[ "${#results[@]}" -gt 0 ] || exit 0
python3 - "${results[@]}" <<'PY'
import statistics, sys
runs = {}
for l in sys.argv[1:]:
    runs.setdefault(l.split()[0], []).append(float(l.split()[1]))
r = {k: statistics.median(v) for k, v in runs.items()}
print("medians of", max(len(v) for v in runs.values()), "interleaved windows")
base = r["baseline"]
print(f"\nserver CPU per minute (ms), the watcher's part = total - baseline ({base:.0f} ms):")
for k, v in r.items():
    if k != "baseline":
        print(f"  {k:30s} total {v:6.0f}  watcher {v - base:6.0f}")
for other in ("pgvigil_old", "monit", "monit_login", "postgres_exporter_1s_scrape"):
    if other in r:
        print(f"  pgvigil / {other} (watcher's part): {(r['pgvigil'] - base) / max(1e-9, r[other] - base):.2f}")
PY

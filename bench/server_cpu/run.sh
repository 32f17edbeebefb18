#!/usr/bin/env bash
# The PostgreSQL server CPU a watcher costs at a 1 s cycle (docs/benchmarks.md §5, issue 10):
#   sudo bash bench/server_cpu/run.sh build/src/app/pgvigil [SECONDS]
# One PostgreSQL 15 cluster (trust auth on 127.0.0.1) on a free port, watched in turn by nobody
# (the baseline), pgvigil (`run`, interval 1s, default checks), monit (`set daemon 1`,
# `if failed host 127.0.0.1 port N protocol pgsql`) and postgres_exporter scraped once a second,
# each for SECONDS (default 60) after 10 s to settle. The server's CPU is the postmaster's
# utime+stime+cutime+cstime (backends that exit are reaped by it, so their time lands in
# cutime/cstime) plus every live child's own, from /proc, at the start and the end of the
# window. Prints ms of server CPU per minute for each, the watcher's part (minus the baseline)
# and the ratios. Everything it starts is stopped on exit. monit and postgres_exporter are used
# when installed (apt-get install -y monit prometheus-postgres-exporter). PGVIGIL_EXTRA is appended
# to pgvigil's target (e.g. "    checks: { connections: false }" to measure a part); ONLY=pgvigil
# skips the others; PGVIGIL_OLD=path measures an older build the same way.
set -euo pipefail
bin=$(readlink -f "$1")
secs=${2:-60}
BIN=/usr/lib/postgresql/15/bin
dir=$(mktemp -d /tmp/pgvigil-servercpu.XXXXXX)
chown postgres "$dir"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) http=$(free_port) mport=$(free_port) eport=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -N >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -w -l "$dir/pg.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=50" start >/dev/null
pm=$(head -1 "$dir/data/postmaster.pid")
hz=$(getconf CLK_TCK)

# Server CPU so far, in clock ticks: the postmaster with its reaped children, plus live children.
server_ticks() {
  local total
  total=$(awk '{print $14+$15+$16+$17}' "/proc/$pm/stat")
  for c in $(cat /proc/$pm/task/*/children 2>/dev/null); do
    local t
    t=$(awk '{print $14+$15+$16+$17}' "/proc/$c/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

measure() {  # name: sleeps 10 s to settle, then prints ms of server CPU per minute
  sleep 10
  local a b l
  a=$(server_ticks)
  sleep "$secs"
  b=$(server_ticks)
  l=$(cut -d' ' -f1 /proc/loadavg)
  python3 -c "print(f'$1 {($b-$a)*1000/$hz*60/$secs:.0f} load1=$l')"
}

results=()
results+=("$(measure baseline)")

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
"$bin" run -c "$dir/pgvigil.yaml" >"$dir/pgvigil.log" 2>&1 &
pids+=($!)
results+=("$(measure pgvigil)")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
sleep 2

if [ -n "${PGVIGIL_OLD:-}" ]; then  # an older build, same config (e.g. before issue 10)
  "$PGVIGIL_OLD" run -c "$dir/pgvigil.yaml" >"$dir/pgvigil-old.log" 2>&1 &
  pids+=($!)
  results+=("$(measure pgvigil_old)")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  sleep 2
fi

if [ "${ONLY:-}" != pgvigil ] && command -v monit >/dev/null; then
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
  monit -I -c "$dir/monitrc" >"$dir/monit.out" 2>&1 &
  pids+=($!)
  results+=("$(measure monit)")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  sleep 2
  # The same test logging in for real (a role that exists), as pgvigil's fresh session does:
  # by default monit sends user "root", which PostgreSQL refuses before it opens the database.
  sed -i "s/protocol pgsql then alert/protocol pgsql username \"postgres\" database \"postgres\" then alert/" "$dir/monitrc"
  monit -I -c "$dir/monitrc" >"$dir/monit.out" 2>&1 &
  pids+=($!)
  results+=("$(measure monit_login)")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  sleep 2
fi

exporter=$(command -v prometheus-postgres-exporter || true)
if [ "${ONLY:-}" != pgvigil ] && [ -n "$exporter" ]; then
  DATA_SOURCE_NAME="host=127.0.0.1 port=$port dbname=postgres user=postgres sslmode=disable" \
    "$exporter" --web.listen-address="127.0.0.1:$eport" >"$dir/exporter.log" 2>&1 &
  pids+=($!)
  ( while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$eport/metrics" || true; done ) &
  pids+=($!)
  results+=("$(measure postgres_exporter_1s_scrape)")
fi

printf '%s\n' "${results[@]}"
python3 - "${results[@]}" <<'PY'
import sys
r = {l.split()[0]: float(l.split()[1]) for l in sys.argv[1:]}
base = r["baseline"]
print(f"\nserver CPU per minute (ms), the watcher's part = total - baseline ({base:.0f} ms):")
for k, v in r.items():
    if k != "baseline":
        print(f"  {k:30s} total {v:6.0f}  watcher {v - base:6.0f}")
for other in ("pgvigil_old", "monit", "monit_login", "postgres_exporter_1s_scrape"):
    if other in r:
        print(f"  pgvigil / {other} (watcher's part): {(r['pgvigil'] - base) / max(1e-9, r[other] - base):.2f}")
PY

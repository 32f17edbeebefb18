#!/usr/bin/env bash
# CPU of a 1,000-target agent, two builds side by side (docs/benchmarks.md §4, follow-up):
#   sudo bash bench/agent/cpu_abba.sh OLD_PGVIGIL NEW_PGVIGIL [ORDER...]   (default order: old new new old)
# One PostgreSQL 15 cluster (max_connections 1200) on a free port; each agent gets a fresh state
# directory, 25 s to open its sessions, then its CPU (utime+stime from /proc/PID/stat) over 40 s.
# Prints one line per run; everything it started is stopped on exit.
set -euo pipefail
old=$(readlink -f "$1") new=$(readlink -f "$2")
shift 2
order=("$@")
[ ${#order[@]} -gt 0 ] || order=(old new new old)
BIN=/usr/lib/postgresql/15/bin
dir=$(mktemp -d /tmp/pgvigil-abba.XXXXXX)
chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -N >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -w -l "$dir/pg.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=1200 -c shared_buffers=64MB" \
  start >/dev/null
python3 - "$dir" "$port" "$http" <<'PY'
import sys
d, port, http = sys.argv[1:]
t = "".join(f'  - name: t{i}\n    conninfo: "host=127.0.0.1 port={port} dbname=postgres user=postgres"\n'
            f'    interval: 10s\n    timeout: 3s\n' for i in range(1000))
open(f"{d}/pgvigil.yaml", "w").write(
    f'agent:\n  listen: "127.0.0.1:{http}"\n  state_dir: {d}/state\n  log: {{ output: stdout }}\ntargets:\n{t}')
PY
hz=$(getconf CLK_TCK)
for who in "${order[@]}"; do
  bin=$old
  [ "$who" = new ] && bin=$new
  rm -rf "$dir/state" && mkdir -p "$dir/state"
  "$bin" run -c "$dir/pgvigil.yaml" >"$dir/agent-$who.log" 2>&1 &
  pid=$!
  sleep 25
  a=$(awk '{print $14+$15}' /proc/$pid/stat) l0=$(cut -d' ' -f1 /proc/loadavg)
  sleep 40
  b=$(awk '{print $14+$15}' /proc/$pid/stat) l1=$(cut -d' ' -f1 /proc/loadavg)
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  echo "$who cpu_pct=$(python3 -c "print(round(($b-$a)/$hz/40*100,2))") rss_mb=$((rss / 1024)) load1=$l0..$l1"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  sleep 3
done

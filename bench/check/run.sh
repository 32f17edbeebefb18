#!/usr/bin/env bash
# Side-by-side cost of one health check: `pgvigil check` (tcp + query + connections) against
# pg_isready, psql counting pg_stat_activity, and check_postgres --action=backends, all on the same
# throwaway cluster that this script starts on a free loopback port and removes again (trap).
# Also records whether any of them leaves a line in the server log.
#
#   bench/check/run.sh [RUNS]        (default 50 runs per command)
#   PGVIGIL_BIN=/path/to/pgvigil      (default: build/pgvigil, else the first build-*/pgvigil)
#
# Needs: hyperfine, check_postgres, postgresql-15 (bash scripts/setup.sh bench).
# The peers run from the server's bin directory: Debian's /usr/bin/pg_isready and psql are
# pg_wrapper (a Perl script that picks the cluster's version), whose start-up would dominate; the
# wrapped pg_isready is measured too, to show that cost, and so is `pgvigil --version`: the
# process start-up (dynamic loading of libpq, Poco, yaml-cpp) that every `check` pays.
# Writes bench/check/results/{hyperfine.json,hyperfine.md,summary.txt,postgres.log}.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-50}
bin=${PGVIGIL_BIN:-}
if [ -z "$bin" ]; then
  for b in "$root/build/pgvigil" "$root"/build-*/pgvigil; do
    [ -x "$b" ] && { bin=$b; break; }
  done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "pgvigil binary not found; set PGVIGIL_BIN" >&2; exit 1; }
for tool in hyperfine check_postgres pg_isready psql; do
  command -v "$tool" >/dev/null || { echo "missing $tool: bash scripts/setup.sh bench" >&2; exit 1; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }

out="$here/results"
mkdir -p "$out"
dir=$(mktemp -d /tmp/pgvigil-bench-check.XXXXXX)
pgpid=""
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# Like as_pg, but execs (no runuser in between), so that $! is the postmaster itself.
exec_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    exec "$@"
  fi
}
cleanup() {
  if [ -n "$pgpid" ] && kill -0 "$pgpid" 2>/dev/null; then
    as_pg "$pgbin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 >/dev/null 2>&1 || kill "$pgpid" 2>/dev/null || true
    wait "$pgpid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
# Started as our own child (not daemonized), so this script reaps it.
(exec_as_pg "$pgbin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1) \
  </dev/null >"$dir/postgres.log" 2>&1 &
pgpid=$!
for _ in $(seq 100); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$port" || { cat "$dir/postgres.log" >&2; exit 1; }

cat >"$dir/pgvigil.yaml" <<YAML
agent:
  listen: ""
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=$port dbname=postgres user=postgres"
    timeout: 3s
    checks:
      tcp: true
      query: "SELECT 1"
      connections: { warn: 80%, critical: 95% }
YAML
# Each command must work before it is timed.
"$bin" check -c "$dir/pgvigil.yaml" >/dev/null || { "$bin" check -c "$dir/pgvigil.yaml"; exit 1; }
conn="-h 127.0.0.1 -p $port -U postgres -d postgres"
# check_postgres runs the first psql on PATH: the server's own, not the wrapper.
export PATH="$pgbin:$PATH"
check_postgres --action=backends -H 127.0.0.1 -p "$port" -u postgres --dbname=postgres >/dev/null
log_before=$(wc -l <"$dir/postgres.log")

# -N: no shell in between, so hyperfine measures the commands themselves.
hyperfine -N --warmup 5 --runs "$runs" \
  --export-json "$out/hyperfine.json" --export-markdown "$out/hyperfine.md" \
  -n "pgvigil check" "$bin check -c $dir/pgvigil.yaml" \
  -n "pg_isready" "$pgbin/pg_isready $conn" \
  -n "psql count(*)" "$pgbin/psql $conn -Atc 'select count(*) from pg_stat_activity'" \
  -n "check_postgres backends" "check_postgres --action=backends -H 127.0.0.1 -p $port -u postgres --dbname=postgres" \
  -n "pg_isready via /usr/bin wrapper" "/usr/bin/pg_isready $conn" \
  -n "pgvigil --version (start-up only)" "$bin --version"

log_after=$(wc -l <"$dir/postgres.log")
cp "$dir/postgres.log" "$out/postgres.log"
{
  echo "date: $(date -u +%FT%TZ)  host: $(uname -srm)  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "pgvigil: $bin ($("$bin" --version 2>/dev/null || echo '?'))"
  echo "postgres: $("$pgbin/postgres" --version)  runs per command: $runs"
  python3 - "$out/hyperfine.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
base = next(r for r in res if r["command"] == "pgvigil check")["median"]
print(f"{'command':34} {'median ms':>10} {'mean ms':>9} {'stddev':>8} {'x pgvigil':>10}")
for r in res:
    print(f"{r['command']:34} {r['median']*1e3:10.2f} {r['mean']*1e3:9.2f} "
          f"{r['stddev']*1e3:8.2f} {r['median']/base:10.2f}")
PY
  echo "server log lines added while benchmarking: $((log_after - log_before))"
  if [ "$log_after" -gt "$log_before" ]; then
    tail -n +"$((log_before + 1))" "$dir/postgres.log" | sort | uniq -c | sort -rn | head -10
  fi
} | tee "$out/summary.txt"

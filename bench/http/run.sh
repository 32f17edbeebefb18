#!/usr/bin/env bash
# Load test of the status endpoint: wrk -t2 -c10 -d5s against /health and /metrics of a server
# with a fake provider of one target (no PostgreSQL). Goals: /health >= 20,000 req/s with
# p99 <= 2 ms; /metrics >= 5,000 req/s.
#   bench/http/run.sh [BUILD_DIR]      (default: build; needs pgvigil_http built there, and wrk)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
command -v wrk >/dev/null || { echo "wrk is missing: scripts/setup.sh bench" >&2; exit 1; }
for lib in http core events; do
  [ -f "$build/src/$lib/libpgvigil_$lib.a" ] || [ "$lib" = events ] ||
    { echo "build pgvigil_$lib in $build first" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=""
floor_pid=""
cleanup() {
  for pid in $server_pid $floor_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

events_lib=""
[ -f "$build/src/events/libpgvigil_events.a" ] && events_lib="$build/src/events/libpgvigil_events.a"
g++ -std=c++20 -O2 -I"$root/src" -I"$build/generated" "$here/http_bench_server.cpp" -o "$work/server" \
  "$build/src/http/libpgvigil_http.a" $events_lib "$build/src/core/libpgvigil_core.a" \
  -lPocoNet -lPocoJSON -lPocoFoundation -lssl -lcrypto -lpthread

"$work/server" 127.0.0.1:0 >"$work/out" &
server_pid=$!
for _ in $(seq 50); do grep -q '^port ' "$work/out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/^port /{print $2}' "$work/out")
[ -n "$port" ] || { echo "the bench server did not start" >&2; exit 1; }

echo "pgvigil status endpoint, one target, $(nproc) cores, $(date -u +%FT%TZ)"
for path in /health /metrics; do
  echo "== GET $path"
  wrk -t2 -c10 -d5s --latency "http://127.0.0.1:$port$path" | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
done

# The floor: a minimal epoll server with a constant answer (bench/floor/http_floor.c), measured
# the same way. On a 2-core machine wrk's two threads and the server share the cores, and the
# p99 it reports is mostly that sharing.
cc -O2 "$root/bench/floor/http_floor.c" -o "$work/http_floor"
floor_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/http_floor" "$floor_port" &
floor_pid=$!
sleep 0.3
echo "== floor: minimal epoll server, constant answer"
wrk -t2 -c10 -d5s --latency "http://127.0.0.1:$floor_port/livez" | grep -E 'Requests/sec|Latency|50%|90%|99%'

#!/usr/bin/env bash
# The one command that sets everything up and runs `pgvigil demo`: a throwaway PostgreSQL on
# loopback, watched and restarted, with the dashboard. Ctrl-C removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh demo
build=${PGVIGIL_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target pgvigil
exec "$build/src/app/pgvigil" demo "$@"

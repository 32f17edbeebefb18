#!/usr/bin/env bash
# The one command that sets everything up and runs the whole test suite (README, .ci/run).
#   bash scripts/test.sh               everything: unit, integration, fault, docker, systemd
#   bash scripts/test.sh -L unit       any extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test
build=${PGVIGIL_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGVIGIL_WERROR=ON >/dev/null
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"

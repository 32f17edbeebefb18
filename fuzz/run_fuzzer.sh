#!/usr/bin/env bash
# Runs one libFuzzer harness for a bounded time on a temporary copy of its corpus (ctest, label
# "fuzz"). Fails when the harness finds a crash, leak, UB or timeout; the input is printed (hex)
# and kept under $PGVIGIL_FUZZ_ARTIFACTS (default: the build's fuzz-artifacts/) to add to the
# corpus as a regression input.
#   run_fuzzer.sh FUZZER CORPUS_DIR [DICT]
# Environment: PGVIGIL_FUZZ_SECONDS (default 20); PGVIGIL_FUZZ_SEED (default 1: the same
# mutations in every run, so that CI is not a lottery and what it finds reproduces; 0 = a random
# seed each run, for exploring by hand).
set -euo pipefail
fuzzer=$1 corpus=$2 dict=${3:-}
seconds=${PGVIGIL_FUZZ_SECONDS:-20}
seed=${PGVIGIL_FUZZ_SEED:-1}
name=$(basename "$fuzzer")
artifacts=${PGVIGIL_FUZZ_ARTIFACTS:-$(dirname "$fuzzer")/fuzz-artifacts}/$name
rm -rf "$artifacts"  # only this run's findings
mkdir -p "$artifacts"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$corpus" "$work/corpus"  # the fuzzer adds what it finds; never into the source tree

args=(-max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -max_len=8192
      -print_final_stats=1 -artifact_prefix="$artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
"$fuzzer" "${args[@]}" "$work/corpus" || rc=$?
if [ "$rc" -ne 0 ]; then
  for f in "$artifacts"/*; do
    [ -f "$f" ] || continue
    echo "run_fuzzer: $name failed on $f:"
    od -A x -t x1z -v "$f" | head -40
  done
fi
exit "$rc"

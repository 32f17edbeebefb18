#!/usr/bin/env bash
# A fast clang pass over the C++ files changed since a git ref (default: origin of the branch,
# else HEAD~1), with the flags CMake uses for the gcc build plus -Werror: clang-only warnings
# (-Wstring-concatenation, -Wunused-lambda-capture, ...) otherwise surface only in the sanitizer
# builds, 20-30 minutes into scripts/test.sh.
#   bash scripts/clang-check.sh [BASE_REF] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
build=${2:-build}
[ -f "$build/compile_commands.json" ] || { echo "clang-check: no $build/compile_commands.json (configure first)" >&2; exit 2; }
mapfile -t files < <(git diff --name-only --diff-filter=d "$base" -- '*.cpp' ; git ls-files --others --exclude-standard -- '*.cpp')
[ ${#files[@]} -gt 0 ] || { echo "clang-check: no changed .cpp files"; exit 0; }
python3 - "$build/compile_commands.json" "$PWD" "${files[@]}" <<'PY'
import json, os, shlex, subprocess, sys
db, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
entries = {os.path.realpath(e["file"]): e for e in json.load(open(db))}
failed = 0
for f in files:
    e = entries.get(os.path.realpath(os.path.join(root, f)))
    if not e:
        print(f"clang-check: {f} is not in the compile database (skipped)")
        continue
    args = shlex.split(e["command"]) if "command" in e else e["arguments"]
    out = []
    skip = False
    for a in args[1:]:
        if skip: skip = False; continue
        if a == "-o": skip = True; continue
        if a in ("-c",) or a.startswith("-fdiagnostics") : continue
        out.append(a)
    cmd = ["clang++", "-fsyntax-only", "-Werror", "-Wno-unknown-warning-option"] + out
    r = subprocess.run(cmd, cwd=e["directory"], capture_output=True, text=True)
    if r.returncode != 0:
        failed += 1
        sys.stderr.write(r.stderr)
print(f"clang-check: {len(files)} file(s), {failed} failed")
sys.exit(1 if failed else 0)
PY

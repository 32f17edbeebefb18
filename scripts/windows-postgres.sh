#!/usr/bin/env bash
# PostgreSQL 15 for Windows, for the end-to-end test under Wine only (tests/windows/
# run_wine_e2e.sh; docs/windows.md "The Windows PostgreSQL"): cross-built from Debian 12's own
# `postgresql-15` source package, at the version pinned in packaging/windows/windeps.lock, and
# cached outside the source tree like scripts/windows-deps.sh's prefix.
#   scripts/windows-postgres.sh [--jobs N]   make sure it exists (build it on a miss) and print
#                                            its directory (bin/, lib/, share/) as the last line
#   scripts/windows-postgres.sh --check      print it and exit 0 if it is built, else exit 1
#   scripts/windows-postgres.sh --key        print the cache key only
# Only what the test runs is built: postgres.exe, initdb.exe, pg_ctl.exe (+ libpq.dll, which
# pg_ctl loads) and what initdb needs (plpgsql, the conversion procedures, the snowball
# dictionaries, the timezone data compiled by the host's zic, the share files). Test-only: -O1,
# no OpenSSL, no zlib, no readline, no NLS. pgvigil.exe's own libpq comes from windows-deps.sh.
# The compilers are the ones cmake/mingw-w64-x86_64.cmake names (read from it, not repeated).
# The key hashes the postgresql-15 pin, this script, the tool names and the compiler's and mingw
# runtime's versions; the lock file's other pins do not matter here. The result is
# $PGVIGIL_WINPG_CACHE/<key> (default ~/.cache/pgvigil-winpg), built in a staging directory and
# renamed into place only when complete, under a lock: an interrupted or concurrent run never
# leaves or uses half a build. A hit only hashes a few files.
# Needs: g++-mingw-w64-x86-64-posix make perl dpkg-dev and /usr/sbin/zic (libc-bin).
# The `apt-get source` part (private APT_CONFIG with deb-src lines made from the machine's own
# sources) is the same as windows-deps.sh's `fetch`, copied: that script runs when sourced, and
# changing it would change its own cache key.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
lock=$here/packaging/windows/windeps.lock
toolchain=$here/cmake/mingw-w64-x86_64.cmake
jobs=$(nproc)
mode=build
while (($#)); do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --check) mode=check; shift ;;
    --key) mode=key; shift ;;
    *) echo "usage: $0 [--jobs N] [--check|--key]" >&2; exit 64 ;;
  esac
done

# The tools, as the toolchain file names them: set(CMAKE_C_COMPILER ${PGVIGIL_MINGW_HOST}-gcc-posix)
host=$(sed -n 's/^set(PGVIGIL_MINGW_HOST \([^ )]*\))$/\1/p' "$toolchain")
tool() {  # tool CMAKE_VARIABLE: its value in the toolchain file, with the host substituted
  local v
  v=$(sed -n "s/^set($1 \([^ )]*\).*\$/\1/p" "$toolchain" | head -1)
  echo "${v//\$\{PGVIGIL_MINGW_HOST\}/$host}"
}
cc=$(tool CMAKE_C_COMPILER)
ar=$(tool CMAKE_AR)
ranlib=$(tool CMAKE_RANLIB)
windres=$(tool CMAKE_RC_COMPILER)
if [ -z "$host" ] || [ -z "$cc" ] || ! command -v "$cc" >/dev/null; then
  echo "windows-postgres: the C compiler of $toolchain (${cc:-none}) not found (scripts/setup.sh test)" >&2
  exit 69
fi
pin=$(grep -E '^postgresql-15=' "$lock")

key=$( {
  echo "$pin"
  cat "$0"
  echo "$host $cc $ar $ranlib $windres"
  "$cc" --version | head -1
  dpkg-query -W -f='${Version}\n' mingw-w64-x86-64-dev 2>/dev/null || true
} | sha256sum | cut -c1-16)
[ "$mode" != key ] || { echo "$key"; exit 0; }

cache=${PGVIGIL_WINPG_CACHE:-$HOME/.cache/pgvigil-winpg}
prefix=$cache/$key
if [ -f "$prefix/winpg.pin" ]; then
  echo "$prefix"
  exit 0
fi
[ "$mode" != check ] || exit 1

mkdir -p "$cache"
exec 9>"$cache/.lock-$key"
flock 9  # a concurrent run builds the same key: wait for it, then use its result
if [ -f "$prefix/winpg.pin" ]; then
  echo "$prefix"
  exit 0
fi

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pgvigil-winpg.XXXXXX")
stage=$cache/.stage-$key-$$  # same file system as the result: the final rename is atomic
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -d "$work/logs" ]; then  # keep the logs of a failed build
    mv "$work/logs" "$work.logs" && echo "windows-postgres: logs kept in $work.logs" >&2
  fi
  rm -rf "$work" "$stage"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Installed as /pgsql under DESTDIR=$stage. The name matters: Debian's 50-per-version-dirs.patch
# moves pkglibdir to /usr/lib/postgresql/15/lib (and datadir to .../postgresql) unless the path
# contains "pgsql" or "postgres". With bin, lib and share side by side under one prefix, the
# Windows binaries find lib and share relative to their own location wherever the tree is.
inst=/pgsql
mkdir -p "$work/src" "$work/build" "$work/logs" "$stage"
echo "windows-postgres: cache miss ($key): building $pin into $prefix with -j$jobs (logs: $work/logs)" >&2

times=()
step() {  # step NAME CMD...: runs CMD with its output in logs/NAME.log, records its wall time
  local name=$1 t0=$SECONDS
  shift
  echo "windows-postgres: $name" >&2
  "$@" >"$work/logs/$name.log" 2>&1 &
  if ! wait $!; then
    echo "windows-postgres: $name FAILED; the end of its log:" >&2
    tail -40 "$work/logs/$name.log" >&2
    exit 1
  fi
  times+=("$name $((SECONDS - t0)) s")
}

fetch() {  # as windows-deps.sh's fetch, for the one package
  local apt=$work/apt f
  mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    sed 's/^Types:.*$/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
  done
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >"$apt/sources.list"
  fi
  cat >"$apt/apt.conf" <<CONF
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/parts";
Dir::State::Lists "$apt/lists";
Dir::Cache "$apt/cache";
APT::Sandbox::User "root";
CONF
  touch "$apt/sources.list"
  APT_CONFIG=$apt/apt.conf apt-get update -q
  (cd "$work/src" && APT_CONFIG=$apt/apt.conf apt-get source -q --only-source "$pin")
}
step apt-source fetch
pg=$(find "$work/src" -maxdepth 1 -mindepth 1 -type d -name 'postgresql-15-*' | head -1)

b=$work/build
configure() {
  cd "$b"
  "$pg/configure" --host="$host" --prefix="$inst" --without-readline --without-zlib \
    --without-icu --without-openssl --without-ldap --without-llvm --disable-nls \
    CC="$cc" AR="$ar" RANLIB="$ranlib" WINDRES="$windres" CFLAGS="-O1"
}
step configure configure

# The parts, in dependency order, as the top-level makefile would: src/port and src/common first
# (src/backend's own submake of them races its link under -j), then postgres.exe (it makes
# libpostgres.a, the import library the loadable modules link against). src/timezone adds only
# zic.exe, which cannot run here: the data is compiled by the host's zic at install time.
parts=(src/port src/common src/backend src/backend/utils/mb/conversion_procs src/backend/snowball
       src/pl/plpgsql/src src/timezone src/interfaces/libpq src/fe_utils src/bin/initdb
       src/bin/pg_ctl)
build() {
  local d
  for d in "${parts[@]}"; do make -C "$b/$d" -j"$jobs" all; done
}
step build build
install_parts() {
  local d
  for d in "${parts[@]:2}"; do make -C "$b/$d" DESTDIR="$stage" ZIC=/usr/sbin/zic install; done
}
step install install_parts

# The test needs neither the static libraries nor the headers some parts install.
out=$stage$inst
find "$out" -name '*.a' -delete
rm -rf "$out/include"
for exe in postgres initdb pg_ctl; do
  [ -f "$out/bin/$exe.exe" ] || { echo "windows-postgres: no bin/$exe.exe after install" >&2; exit 1; }
done
[ -f "$out/lib/plpgsql.dll" ] && [ -f "$out/bin/libpq.dll" ] && [ -d "$out/share/timezone" ] \
  || { echo "windows-postgres: plpgsql.dll, libpq.dll or the timezone data is missing" >&2; exit 1; }
{
  "$cc" --version | head -1
  echo "mingw-w64-x86-64-dev $(dpkg-query -W -f='${Version}' mingw-w64-x86-64-dev 2>/dev/null)"
  echo "jobs $jobs, total $(($(date +%s) - t_start)) s"
  printf '%s\n' "${times[@]}"
} >"$out/build-info.txt"
echo "$pin" >"$out/winpg.pin"
mv "$out" "$prefix"
echo "windows-postgres: built in $(($(date +%s) - t_start)) s: $prefix" >&2
printf '  %s\n' "${times[@]}" >&2
echo "$prefix"

#!/usr/bin/env bash
# pgvigil's Windows dependencies, cross-built from Debian 12's own source packages with the
# mingw-w64 posix toolchain, cached outside the source tree (docs/windows.md "Building").
#   scripts/windows-deps.sh [--jobs N]   make sure the prefix exists (build it on a miss) and
#                                        print its path as the last line of stdout
#   scripts/windows-deps.sh --check      print the prefix and exit 0 if it is built, else exit 1
#   scripts/windows-deps.sh --key        print the cache key only
# What it builds, all static, into one prefix: OpenSSL (libssl, libcrypto), libpq 15 (a real
# static archive, libpq_static.a, with libpq's own pthread emulation renamed so it cannot clash
# with winpthreads; libpq.a is only the DLL's import library), yaml-cpp, c-ares, Poco Foundation,
# Net and JSON. Versions: packaging/windows/windeps.lock; patches: packaging/windows/patches/.
# The cache key hashes the lock file, the patches, this script, the toolchain file and the
# compiler and mingw runtime versions: any change there is a miss and a rebuild. The prefix is
# $PGVIGIL_WINDEPS_CACHE/<key> (default ~/.cache/pgvigil-windeps); it is built in a staging
# directory and renamed into place only when complete, under a lock, so an interrupted or
# concurrent run never leaves or uses half a prefix. A hit does nothing but hash a few files.
# Sources come from Debian's archive only (`apt-get source` through a private APT_CONFIG with
# deb-src lines made from the machine's own debian.sources; /etc/apt is not changed).
# Needs: g++-mingw-w64-x86-64-posix cmake ninja-build make perl dpkg-dev (scripts/setup.sh test).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
win=$here/packaging/windows
toolchain=$here/cmake/mingw-w64-x86_64.cmake
host=x86_64-w64-mingw32
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

cxx=$(command -v $host-g++-posix || true)
if [ -z "$cxx" ]; then
  echo "windows-deps: $host-g++-posix not found (scripts/setup.sh test installs it)" >&2
  exit 69
fi

# The key: everything that decides what lands in the prefix.
key=$( {
  cat "$win/windeps.lock" "$0" "$toolchain"
  for p in "$win"/patches/*.patch; do sha256sum <"$p"; done
  "$cxx" --version | head -1
  dpkg-query -W -f='${Version}\n' mingw-w64-x86-64-dev 2>/dev/null || true
} | sha256sum | cut -c1-16)
[ "$mode" != key ] || { echo "$key"; exit 0; }

cache=${PGVIGIL_WINDEPS_CACHE:-$HOME/.cache/pgvigil-windeps}
prefix=$cache/$key
if [ -f "$prefix/windeps.lock" ]; then
  echo "$prefix"
  exit 0
fi
[ "$mode" != check ] || exit 1

mkdir -p "$cache"
exec 9>"$cache/.lock-$key"
flock 9  # a concurrent run builds the same key: wait for it, then use its result
if [ -f "$prefix/windeps.lock" ]; then
  echo "$prefix"
  exit 0
fi

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pgvigil-windeps.XXXXXX")
stage=$cache/.stage-$key-$$  # same file system as the prefix: the final rename is atomic
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
dest=$stage$prefix  # everything installs with DESTDIR=$stage, configured for the final prefix
mkdir -p "$work/src" "$work/build" "$work/logs" "$dest"
echo "windows-deps: cache miss ($key): building into $prefix with -j$jobs (logs: $work/logs)" >&2

times=()
step() {  # step NAME CMD...: runs CMD with its output in logs/NAME.log, records its wall time
  local name=$1 t0=$SECONDS
  shift
  echo "windows-deps: $name" >&2
  # In the background, so that errexit holds inside CMD (bash ignores it in an `if` condition).
  "$@" >"$work/logs/$name.log" 2>&1 &
  if ! wait $!; then
    echo "windows-deps: $name FAILED; the end of its log:" >&2
    tail -40 "$work/logs/$name.log" >&2
    exit 1
  fi
  times+=("$name $((SECONDS - t0)) s")
}

# --- sources: apt-get source with deb-src lines next to the machine's own deb lines -----------
fetch() {
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
  local pins
  mapfile -t pins < <(grep -vE '^\s*(#|$)' "$win/windeps.lock")
  APT_CONFIG=$apt/apt.conf apt-get update -q
  (cd "$work/src" && APT_CONFIG=$apt/apt.conf apt-get source -q --only-source "${pins[@]}")
}
step apt-source fetch
src_of() { find "$work/src" -maxdepth 1 -mindepth 1 -type d -name "$1" | head -1; }
ossl=$(src_of 'openssl-*')
pg=$(src_of 'postgresql-15-*')
yaml=$(src_of 'yaml-cpp-*')
poco=$(src_of 'poco-*')
cares=$(src_of 'c-ares-*')
# patches/<source package>-<version>-*.patch applies to that package's source tree (-p1).
apply_patches() {
  local p
  for p in "$win"/patches/*.patch; do
    patch -d "$(src_of "$(basename "$p" | sed -E 's/-[0-9][^-]*-.*$//')-*")" -p1 --forward <"$p"
  done
}
step patches apply_patches

# The CMake-built libraries go in parallel with OpenSSL, which libpq needs first; each step uses
# -j$jobs, so the machine stays busy while a step is in its serial part (configure, linking).
tc=(-G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF)
cmake_lib() {  # cmake_lib NAME SOURCE_DIR [cmake args...]
  local name=$1 src=$2
  shift 2
  cmake -S "$src" -B "$work/build/$name" "${tc[@]}" "$@"
  cmake --build "$work/build/$name" --parallel "$jobs"
  DESTDIR=$stage cmake --install "$work/build/$name"
}

# --- OpenSSL 3.0: static libssl/libcrypto; no patch --------------------------------------------
build_openssl() {
  mkdir -p "$work/build/openssl" && cd "$work/build/openssl"
  perl "$ossl/Configure" mingw64 --cross-compile-prefix=$host- --prefix="$prefix" --libdir=lib \
    no-shared no-tests
  make -j"$jobs" build_libs
  make DESTDIR="$stage" install_dev
}

# --- libpq 15: only what libpq needs; a static archive; no patch ------------------------------
build_libpq() {
  mkdir -p "$work/build/pg" && cd "$work/build/pg"
  "$pg/configure" --host=$host --prefix="$prefix" --with-ssl=openssl --without-readline \
    --without-icu --without-zlib CPPFLAGS="-I$dest/include" LDFLAGS="-L$dest/lib" \
    LIBS="-lws2_32 -lgdi32 -lcrypt32"
  local pqlibs="-lssl -lcrypto -lm -lws2_32 -lgdi32 -lcrypt32"  # no -lpgcommon/-lpgport: not built
  make -C src/backend generated-headers
  make -j"$jobs" -C src/port libpgport_shlib.a
  make -j"$jobs" -C src/common libpgcommon_shlib.a
  make -j"$jobs" -C src/interfaces/libpq SHLIB_PREREQS= LIBS="$pqlibs" all
  make -C src/interfaces/libpq SHLIB_PREREQS= LIBS="$pqlibs" DESTDIR="$stage" install
  make -C src/include DESTDIR="$stage" install
  # libpq's pthread-win32.o defines pthread_mutex_lock & co. over its own mutex type; the
  # posix g++ links winpthreads for std::thread. Rename libpq's to pq_* in every libpq object.
  local o map=$work/build/pq-pthread.map
  mkdir -p "$work/build/pq-static"
  $host-nm --defined-only src/interfaces/libpq/pthread-win32.o | awk '$2=="T"{print $3" pq_"$3}' >"$map"
  [ -s "$map" ]
  for o in src/interfaces/libpq/*.o; do
    $host-objcopy --redefine-syms="$map" "$o" "$work/build/pq-static/$(basename "$o")"
  done
  $host-ar rcs "$dest/lib/libpq_static.a" "$work/build/pq-static"/*.o
  cp src/common/libpgcommon_shlib.a src/port/libpgport_shlib.a "$dest/lib/"
}

build_yaml() {
  cmake_lib yaml-cpp "$yaml" -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF \
    -DYAML_BUILD_SHARED_LIBS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF
}
# --- c-ares 1.18 (the probes' resolver): static; patched (patches/) -----------------------------
build_cares() {
  cmake_lib c-ares "$cares" -DCARES_STATIC=ON -DCARES_SHARED=OFF -DCARES_BUILD_TOOLS=OFF \
    -DCARES_BUILD_TESTS=OFF -DCARES_STATIC_PIC=OFF
}
# --- Poco 1.11: Foundation, Net, JSON with its bundled PCRE and zlib; patched (patches/) -------
build_poco() {
  local off=(XML ENCODINGS MONGODB DATA DATA_SQLITE DATA_MYSQL DATA_POSTGRESQL DATA_ODBC REDIS PDF
             UTIL NETSSL NETSSL_WIN CRYPTO JWT SEVENZIP ZIP PAGECOMPILER PAGECOMPILER_FILE2PAGE
             ACTIVERECORD ACTIVERECORD_COMPILER APACHECONNECTOR ENCODINGS_COMPILER)
  local args=() o
  for o in "${off[@]}"; do args+=("-DENABLE_$o=OFF"); done
  cmake_lib poco "$poco" -DENABLE_TESTS=OFF -DPOCO_UNBUNDLED=OFF -DENABLE_FOUNDATION=ON \
    -DENABLE_NET=ON -DENABLE_JSON=ON "${args[@]}"
}

# Steps run as background jobs write their own times; `step` exits the subshell on failure.
parallel_step() {  # parallel_step NAME FN: step in a subshell, its time line in logs/NAME.time
  ( times=(); step "$1" "$2"; printf '%s\n' "${times[@]}" >"$work/logs/$1.time" ) &
}
parallel_step openssl build_openssl; p_ossl=$!
parallel_step poco build_poco; p_poco=$!
if ! wait "$p_ossl"; then
  wait "$p_poco"
  exit 1
fi
parallel_step libpq build_libpq; p_pq=$!
parallel_step yaml-cpp build_yaml; p_yaml=$!
parallel_step c-ares build_cares; p_cares=$!
failed=0  # a failed step still lets the others end before the work directory goes
for p in "$p_pq" "$p_yaml" "$p_cares" "$p_poco"; do wait "$p" || failed=1; done
((failed == 0)) || exit 1
for f in "$work"/logs/*.time; do mapfile -t -O "${#times[@]}" times <"$f"; done

# The prefix says what it was made from, then becomes visible in one rename.
cp "$win/windeps.lock" "$dest/windeps.lock.tmp"
{
  "$cxx" --version | head -1
  echo "mingw-w64-x86-64-dev $(dpkg-query -W -f='${Version}' mingw-w64-x86-64-dev 2>/dev/null)"
  echo "jobs $jobs, total $(($(date +%s) - t_start)) s"
  printf '%s\n' "${times[@]}"
} >"$dest/build-info.txt"
mv "$dest/windeps.lock.tmp" "$dest/windeps.lock"
mv "$dest" "$prefix"
echo "windows-deps: built in $(($(date +%s) - t_start)) s: $prefix" >&2
printf '  %s\n' "${times[@]}" >&2
echo "$prefix"

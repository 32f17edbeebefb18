#!/usr/bin/env bash
# Builds the Debian package pgvigil_<version>_<arch>.deb from this source tree (docs/packaging.md).
#   bash scripts/package.sh              -> dist/pgvigil_<version>_<arch>.deb (its path is printed last)
# Environment:
#   PGVIGIL_DEB_BUILD_DIR=DIR   the build dir (default build-deb; kept: a second run is incremental)
#   PGVIGIL_DEB_OUT=DIR         where the .deb goes (default dist)
#   PGVIGIL_LINTIAN=1           also run lintian on it (fails on any error or warning)
# Needs: cmake, ninja, g++, dpkg-dev (dpkg-shlibdeps) and the build dependencies
# (bash scripts/setup.sh build). The package is built with CMAKE_INSTALL_PREFIX=/usr, stripped,
# without the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${PGVIGIL_DEB_BUILD_DIR:-build-deb}
out=${PGVIGIL_DEB_OUT:-dist}

for tool in cmake ninja dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (apt-get install cmake ninja-build dpkg-dev)" >&2; exit 1; }
done

launcher=()
if [ "${PGVIGIL_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/pgvigil-ccache}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$src}
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}  # reuse the objects of the developer build dir
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGVIGIL_WERROR=ON \
  -DCMAKE_INSTALL_PREFIX=/usr -DPGVIGIL_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --parallel "${PGVIGIL_JOBS:-$(nproc)}"
rm -f "$build"/pgvigil_*.deb
(cd "$build" && cpack -G DEB >/dev/null) || { echo "package.sh: cpack failed (see $build/_CPack_Packages)" >&2; exit 1; }
mkdir -p "$out"
deb=$(ls "$build"/pgvigil_*.deb)
cp "$deb" "$out/"
deb="$out/$(basename "$deb")"

if [ "${PGVIGIL_LINTIAN:-0}" = 1 ]; then
  command -v lintian >/dev/null || { echo "package.sh: lintian is missing (apt-get install lintian)" >&2; exit 1; }
  # --fail-on error,warning: every finding is fixed or overridden with a reason
  # (packaging/debian/lintian-overrides, installed as /usr/share/lintian/overrides/pgvigil).
  lintian --fail-on error,warning --info --display-info "$deb" >&2
fi
echo "$deb"

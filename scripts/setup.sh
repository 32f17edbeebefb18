#!/usr/bin/env bash
# Installs what pgvigil needs on Debian 12, only what is missing. Idempotent; safe without a TTY.
#   scripts/setup.sh build   compilers and libraries
#   scripts/setup.sh test    build + the real servers the tests start (PostgreSQL, Docker, ...)
#   scripts/setup.sh demo    build + PostgreSQL
#   scripts/setup.sh bench   test + the peers measured side by side (monit, exporters, wrk, ...)
set -euo pipefail

profile=${1:-build}
build_pkgs=(g++ cmake ninja-build pkg-config libpq-dev libpoco-dev libyaml-cpp-dev
            libboost-test-dev libsystemd-dev libc-ares-dev
            scdoc)                                  # the man pages (man/), made at build time
pg_pkgs=(postgresql-15 postgresql-client-15)
test_pkgs=(docker.io prometheus chromium procps iproute2 dbus systemd polkitd
           g++-mingw-w64-x86-64-posix wine64 wine   # the Windows build, run under Wine
           make patch                               # + dpkg-dev: scripts/windows-deps.sh
           clang libclang-rt-14-dev llvm-14 ccache  # sanitizer + fuzz builds; llvm-symbolizer
           clang-format                             # the formatting check of scripts/test.sh
           zsh                                      # the zsh completion's test
           dpkg-dev mmdebstrap lintian              # scripts/package.sh and its install test
           docker-compose busybox)                  # config/docker-compose.yaml run for real
                                                    # (Compose v1; busybox: the app stand-in)
bench_pkgs=(hyperfine wrk monit prometheus-postgres-exporter check-postgres time valgrind)

want=("${build_pkgs[@]}")
case "$profile" in
  build) ;;
  demo) want+=("${pg_pkgs[@]}") ;;
  test) want+=("${pg_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want+=("${pg_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|demo|bench" >&2; exit 64 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start services on the host (Docker, PostgreSQL, Prometheus): tests
  # start their own, on loopback, and stop them.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

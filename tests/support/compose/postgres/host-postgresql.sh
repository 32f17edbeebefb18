#!/usr/bin/env bash
# The host's PostgreSQL server as a tarball for the stand-in postgres image (Dockerfile beside
# this): /usr/lib/postgresql/VERSION, /usr/share/postgresql/VERSION and every shared library its
# programs load but glibc's own (the base has the same), under /usr/lib (the base is merged-/usr:
# its /lib is a symlink).
#   bash host-postgresql.sh OUT.tar [VERSION]      (VERSION: 15 unless given)
set -euo pipefail
out=${1:?usage: host-postgresql.sh OUT.tar [VERSION]}
version=${2:-15}
root=/usr/lib/postgresql/$version
[ -x "$root/bin/postgres" ] || { echo "host-postgresql.sh: no $root/bin/postgres" >&2; exit 1; }
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{
  echo "${root#/}"
  echo "usr/share/postgresql/$version"
  for f in "$root"/bin/*; do ldd "$f" 2>/dev/null || true; done |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
    grep -Ev '/(libc|libm|libresolv|libpthread|libdl|librt)\.so' |
    while read -r lib; do
      dir=$(readlink -f "$(dirname "$lib")")
      case "$dir" in /usr/*) ;; *) dir=/usr$dir ;; esac
      echo "${dir#/}/$(basename "$lib")"
    done
} >"$list"
tar -C / --dereference -cf "$out" --exclude='*/llvmjit*' -T "$list"

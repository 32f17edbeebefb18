#!/usr/bin/env bash
# A genuine Debian 12 root, made from Debian's archive with mmdebstrap (../shared/TESTING.md), as a
# tarball for `docker import`: the base of the container image (packaging/docker/Dockerfile) and
# of the package's install test, where no registry is reachable.
#   bash scripts/debian-root.sh OUT.tar [PACKAGE...]
# The root is minbase plus ca-certificates and the given packages; its apt lists are kept, so apt
# in it works without an `apt-get update`. The mirror list is the machine's own apt sources.
# Cached: when OUT.tar exists and OUT.tar.packages lists the same packages, nothing is done.
# Service starts are off while it is built (policy-rc.d), and a PostgreSQL cluster that a
# postgresql-NN package creates is set to start.conf `manual` (its user decides when it starts).
set -euo pipefail
out=${1:?usage: debian-root.sh OUT.tar [PACKAGE...]}
shift
packages=$(printf '%s\n' ca-certificates "$@" | sort -u | paste -sd, -)
if [ -s "$out" ] && [ "$(cat "$out.packages" 2>/dev/null)" = "$packages" ]; then
  echo "$out"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "debian-root.sh: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
sources=/etc/apt/sources.list.d/debian.sources
[ -r "$sources" ] || sources=/etc/apt/sources.list
mkdir -p "$(dirname "$out")"
tmp="${out%.tar}.tmp.$$.tar"  # mmdebstrap picks the format by the extension
trap 'rm -f "$tmp"' EXIT
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --skip=cleanup/apt/lists \
  --essential-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 0755 "$1/usr/sbin/policy-rc.d"' \
  --customize-hook='for f in "$1"/etc/postgresql/*/*/start.conf; do [ -e "$f" ] && echo manual > "$f"; done; true' \
  --customize-hook='rm -f "$1/usr/sbin/policy-rc.d"' \
  bookworm "$tmp" - <"$sources" >&2
mv "$tmp" "$out"
echo "$packages" >"$out.packages"
echo "$out"

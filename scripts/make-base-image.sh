#!/usr/bin/env bash
# Builds a local Debian bookworm + Python 3.11 base image with debootstrap, for image builds without a registry (CI).
#
# Usage: scripts/make-base-image.sh [TAG]        (default localhost/dws-base:bookworm; needs root)
# Reuses TAG when it already exists. DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

tag=${1:-localhost/dws-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if podman image exists "$tag"; then
    echo "base image $tag already present"
    exit 0
fi
for tool in debootstrap podman; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "error: debootstrap needs root" >&2; exit 2; }

rootfs=$(mktemp -d /var/tmp/dws-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2
    echo "error: debootstrap failed (mirror $mirror); full log: $rootfs.log" >&2
    exit 1
}
rm -f "$rootfs.log"
# The python:*-slim images ship no package caches, documentation or apt lists either.
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

tar -C "$rootfs" -c . | podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "built base image $tag"

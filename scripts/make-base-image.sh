#!/usr/bin/env bash
# Builds a local Debian bookworm + Python 3.11 base image with debootstrap, for image builds without a registry (CI).
#
# Usage: scripts/make-base-image.sh [TAG] [--record FILE]   (default localhost/dws-base:bookworm; needs root)
# Reuses TAG when it already exists. DEBIAN_MIRROR overrides the mirror.
# Prints the image pinned by digest (REPOSITORY@sha256:…) on stdout, and with --record writes it
# to FILE too: that is the --base that scripts/build-image.sh and scripts/release.sh accept.
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

tag=""
record=""
while [ $# -gt 0 ]; do
    case "$1" in
        --record) [ $# -ge 2 ] || die "--record needs a file"; record=$2; shift 2 ;;
        -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$tag" ] || die "one TAG only"; tag=$1; shift ;;
    esac
done
tag=${tag:-localhost/dws-base:bookworm}
[[ "$tag" =~ :[A-Za-z0-9_][A-Za-z0-9_.-]*$ && "$tag" != *@* ]] || die "TAG $tag needs a :tag and no digest"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The digest of the image's manifest, which names exactly this image wherever it is pushed.
pinned() {
    local digest
    digest=$(podman image inspect --format '{{.Digest}}' "$tag") || die "cannot inspect $tag"
    [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "$tag has no manifest digest ($digest)"
    echo "${tag%:*}@$digest"
}

finish() {
    local reference
    reference=$(pinned)
    [ -z "$record" ] || echo "$reference" >"$record"
    echo "$reference"
}

if podman image exists "$tag"; then
    echo "base image $tag already present" >&2
    finish
    exit 0
fi
for tool in debootstrap podman; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

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
echo "built base image $tag" >&2
finish

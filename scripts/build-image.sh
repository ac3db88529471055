#!/usr/bin/env bash
# Builds the dws-rebalancer container image from the repository's Dockerfile, with its OCI labels filled in.
#
# Usage: scripts/build-image.sh [--tag IMAGE] [--base IMAGE] [--wheelhouse DIR] [-- BUILD-ARGS...]
#   --tag IMAGE       name of the built image (default localhost/dws-rebalancer:<version>)
#   --base IMAGE      base image for both stages (default: the Dockerfile's python:3.11-slim-bookworm)
#   --wheelhouse DIR  install offline from the wheels in DIR (`pip wheel . setuptools -w DIR`);
#                     needs podman/buildah, which can mount DIR into the build
#   BUILD-ARGS        passed on, e.g. --isolation=chroot or --platform=linux/arm64
# CONTAINER_ENGINE picks the builder (default podman, else docker).
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/controller/__init__.py")
[ -n "$version" ] || die "cannot read __version__ from controller/__init__.py"
tag="localhost/dws-rebalancer:$version"
base=""
wheelhouse=""

while [ $# -gt 0 ]; do
    case "$1" in
        --tag) [ $# -ge 2 ] || die "--tag needs a value"; tag=$2; shift 2 ;;
        --base) [ $# -ge 2 ] || die "--base needs a value"; base=$2; shift 2 ;;
        --wheelhouse) [ $# -ge 2 ] || die "--wheelhouse needs a value"; wheelhouse=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || die "neither podman nor docker is installed"

args=(--tag "$tag"
      --build-arg "VERSION=$version"
      --build-arg "REVISION=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
      --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
[ -z "$base" ] || args+=(--build-arg "PYTHON_IMAGE=$base")
if [ -n "$wheelhouse" ]; then
    [ -d "$wheelhouse" ] || die "wheelhouse $wheelhouse is not a directory"
    wheelhouse=$(cd "$wheelhouse" && pwd)
    # /mnt exists in every Debian image: mounting there leaves no empty mount point in the image.
    printf '[global]\nno-index = true\nfind-links = /mnt\n' >"$wheelhouse/pip.conf"
    args+=(--volume "$wheelhouse:/mnt:ro" --build-arg "PIP_CONFIG_FILE=/mnt/pip.conf")
fi

"$engine" build "${args[@]}" "$@" "$repo"
echo "built $tag"

#!/usr/bin/env bash
# Builds the dws-rebalancer container image from the repository's Dockerfile, with its OCI labels filled in.
#
# Usage: scripts/build-image.sh [--tag IMAGE] [--base IMAGE@sha256:…] [--source URL] [--wheelhouse DIR] [-- BUILD-ARGS...]
#   --tag IMAGE       name of the built image (default localhost/dws-rebalancer:<version>)
#   --base IMAGE      base image for both stages, pinned by digest (default: the Dockerfile's)
#   --source URL      the org.opencontainers.image.source label (default: the Dockerfile's)
#   --wheelhouse DIR  install offline from the files in DIR
#                     (`pip download --require-hashes --no-deps -r requirements.lock -d DIR`);
#                     needs podman/buildah, which can mount DIR into the build
#   BUILD-ARGS        passed on, e.g. --isolation=chroot or --platform=linux/arm64
# CONTAINER_ENGINE picks the builder (default podman, else docker). The revision label is the
# commit, with -dirty when the image's inputs differ from it; the created label is the commit's time.
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/controller/__init__.py")
[ -n "$version" ] || die "cannot read __version__ from controller/__init__.py"
tag="localhost/dws-rebalancer:$version"
base=""
source=""
wheelhouse=""

while [ $# -gt 0 ]; do
    case "$1" in
        --tag) [ $# -ge 2 ] || die "--tag needs a value"; tag=$2; shift 2 ;;
        --base) [ $# -ge 2 ] || die "--base needs a value"; base=$2; shift 2 ;;
        --source) [ $# -ge 2 ] || die "--source needs a value"; source=$2; shift 2 ;;
        --wheelhouse) [ $# -ge 2 ] || die "--wheelhouse needs a value"; wheelhouse=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

# A tag can move; a digest names one image for good.
[ -z "$base" ] || [[ "$base" =~ @sha256:[0-9a-f]{64}$ ]] ||
    die "--base $base is not pinned by digest (IMAGE@sha256:…; scripts/make-base-image.sh prints one)"

engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || die "neither podman nor docker is installed"

# The files the image is built from (the rest of the tree does not reach it: .dockerignore).
inputs=(Dockerfile .dockerignore requirements.lock pyproject.toml README.md controller)
if revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null); then
    [ -z "$(git -C "$repo" status --porcelain -- "${inputs[@]}")" ] || revision="$revision-dirty"
    created=$(TZ=UTC git -C "$repo" log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
else
    revision=unknown
    created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi

args=(--tag "$tag"
      --build-arg "VERSION=$version"
      --build-arg "REVISION=$revision"
      --build-arg "CREATED=$created")
[ -z "$base" ] || args+=(--build-arg "PYTHON_IMAGE=$base")
[ -z "$source" ] || args+=(--build-arg "SOURCE=$source")
if [ -n "$wheelhouse" ]; then
    [ -d "$wheelhouse" ] || die "wheelhouse $wheelhouse is not a directory"
    wheelhouse=$(cd "$wheelhouse" && pwd)
    # /mnt exists in every Debian image: mounting there leaves no empty mount point in the image.
    printf '[global]\nno-index = true\nfind-links = /mnt\n' >"$wheelhouse/pip.conf"
    args+=(--volume "$wheelhouse:/mnt:ro" --build-arg "PIP_CONFIG_FILE=/mnt/pip.conf")
fi

"$engine" build "${args[@]}" "$@" "$repo"
echo "built $tag"

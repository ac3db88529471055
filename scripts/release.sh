#!/usr/bin/env bash
# Builds a release: the image with its OCI labels and the Helm chart with the same appVersion, checks both, and prints how to push them.
#
# Usage: scripts/release.sh [OPTIONS] [-- BUILD-ARGS...]
#   --image-repository REPO  where the image goes (env IMAGE_REPOSITORY;
#                            default ghcr.io/dws-rebalancer/dws-rebalancer); tagged REPO:<version>
#   --chart-name NAME        the packaged chart's name (env CHART_NAME; default dws-rebalancer)
#   --chart-registry OCI     where the chart goes (env CHART_REGISTRY;
#                            default oci://ghcr.io/dws-rebalancer/charts)
#   --source URL             org.opencontainers.image.source (env SOURCE_URL; default the Dockerfile's)
#   --base IMAGE@sha256:…    base image pinned by digest (default the Dockerfile's);
#                            scripts/make-base-image.sh prints one for builds without a registry
#   --wheelhouse DIR         install the locked dependencies from DIR (see scripts/build-image.sh)
#   --output DIR             where the chart archive goes (default dist/)
#   BUILD-ARGS               passed to the builder, e.g. --isolation=chroot
# Nothing is pushed: the last lines are the two push commands, for whoever holds the credentials.
# The packaged chart's default image is REPO (registry and repository in values.yaml).
# Needs podman (or docker: CONTAINER_ENGINE) and python3 with the dev extras (helm-python-sdk).
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
image_repository=${IMAGE_REPOSITORY:-ghcr.io/dws-rebalancer/dws-rebalancer}
chart_name=${CHART_NAME:-dws-rebalancer}
chart_registry=${CHART_REGISTRY:-oci://ghcr.io/dws-rebalancer/charts}
source=${SOURCE_URL:-}
base=""
wheelhouse=""
output="$repo/dist"

value() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --image-repository) value "$@"; image_repository=$2; shift 2 ;;
        --chart-name) value "$@"; chart_name=$2; shift 2 ;;
        --chart-registry) value "$@"; chart_registry=$2; shift 2 ;;
        --source) value "$@"; source=$2; shift 2 ;;
        --base) value "$@"; base=$2; shift 2 ;;
        --wheelhouse) value "$@"; wheelhouse=$2; shift 2 ;;
        --output) value "$@"; output=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[[ "$image_repository" =~ ^[a-z0-9]+([._/:-][a-z0-9]+)*$ && "${image_repository##*/}" != *:* ]] ||
    die "image repository $image_repository is not a repository reference (no tag: the version is the tag)"
[[ "$chart_name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
    die "chart name $chart_name: lower-case letters, digits and dashes only"
[[ "$chart_registry" == oci://?* ]] || die "chart registry $chart_registry must start with oci://"
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/controller/__init__.py")
[ -n "$version" ] || die "cannot read __version__ from controller/__init__.py"
engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || die "neither podman nor docker is installed"
image="$image_repository:$version"

build=(--tag "$image")
[ -z "$base" ] || build+=(--base "$base")
[ -z "$source" ] || build+=(--source "$source")
[ -z "$wheelhouse" ] || build+=(--wheelhouse "$wheelhouse")
CONTAINER_ENGINE=$engine "$repo/scripts/build-image.sh" "${build[@]}" -- "$@" >&2

# The labels a registry and a scanner read: each must be there, and say this release.
label() { "$engine" image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$image"; }
[ "$(label version)" = "$version" ] || die "image $image: version label $(label version), not $version"
[ "$(label licenses)" = "Apache-2.0" ] || die "image $image: licenses label is $(label licenses)"
for name in source revision; do
    case "$(label "$name")" in ""|unknown|"<no value>") die "image $image has no $name label" ;; esac
done

archive=$(python3 "$repo/scripts/package_chart.py" --version "$version" \
    --image-repository "$image_repository" --chart-name "$chart_name" --output "$output")

cat <<EOF
release $version
  image  $image  (revision $(label revision), source $(label source))
  chart  $archive  (appVersion $version, image $image)
push both (after podman login / helm registry login):
  $engine push $image
  helm push $archive $chart_registry
EOF

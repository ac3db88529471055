#!/usr/bin/env bash
# Regenerates the hashed lock files from pyproject.toml: run it after changing a dependency.
#
# Usage: scripts/lock.sh [--upgrade]
#   requirements.lock      what the image installs: the runtime dependencies and the build backend
#   requirements-dev.lock  what CI and developers install: runtime + test, dev and docs extras
# Both resolve for every platform and for Python 3.11 and later (`uv pip compile --universal`), so
# a lock written on a developer's machine installs in the Debian bookworm image and on arm64 alike.
# Both carry the build backend from [build-system] too: `pip install --require-hashes` then builds
# the package itself without fetching an unhashed setuptools.
# --upgrade resolves the newest allowed versions; without it the current pins are kept when possible.
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
upgrade=()
case "${1:-}" in
    "") ;;
    --upgrade) upgrade=(--upgrade) ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
esac
command -v uv >/dev/null || die "uv is not installed (pip install -e '.[dev]')"

cd "$repo"
# [build-system].requires as an input file of its own; its temporary folder is cut from the
# "# via" comments so they read `-r build-system.in`.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))
' >"$work/build-system.in" || die "cannot read [build-system] from pyproject.toml"

lock() {
    local output=$1
    shift
    uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
        --custom-compile-command "scripts/lock.sh" "${upgrade[@]}" \
        pyproject.toml "$work/build-system.in" "$@" --output-file "$output"
    sed -i "s#$work/##" "$output"
    echo "wrote $output"
}

lock requirements.lock
lock requirements-dev.lock --extra dev

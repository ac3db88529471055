"""Packages the Helm chart for a release: its name, appVersion and default image set, then checked.

Usage: python3 scripts/package_chart.py --version V --image-repository REPO --chart-name NAME --output DIR

The chart in charts/dws-rebalancer is copied, not edited: the copy gets `name: NAME` and
`appVersion: V` in Chart.yaml and, in values.yaml, the image registry and repository of REPO, so
the packaged chart pulls the image built by the same release. `helm package` (helm-python-sdk)
writes NAME-<chart version>.tgz into DIR; the archive is then loaded and rendered again to check
that it says what was asked. Prints the archive's path. Bad arguments exit 2 with one line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[1] / "charts" / "dws-rebalancer"
#: A chart name as Helm accepts it (lower case, digits and dashes).
CHART_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class ReleaseError(Exception):
    """A bad argument, or a packaged chart that does not say what was asked."""


def split_repository(reference: str) -> tuple[str, str]:
    """`host/org/name` → (`host`, `org/name`); a first part without `.`, `:` or `localhost` is no host."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", reference


def _set_line(text: str, block: str, key: str, value: str) -> str:
    """Set `key:` inside the top-level `block:` of a YAML file, keeping its comments."""
    pattern = re.compile(rf"(^{block}:\n(?:(?:[ ]+.*|[ ]*#.*)?\n)*?[ ]+{key}:)[ ]*.*$", re.M)
    text, count = pattern.subn(lambda m: f"{m.group(1)} {value}", text, count=1)
    if count != 1:
        raise ReleaseError(f"values.yaml has no {block}.{key} to set")
    return text


def prepare(copy: Path, *, version: str, repository: str, name: str) -> None:
    chart_yaml = copy / "Chart.yaml"
    text = chart_yaml.read_text(encoding="utf-8")
    text = re.sub(r"^name: .*$", f"name: {name}", text, count=1, flags=re.M)
    text = re.sub(r"^appVersion: .*$", f'appVersion: "{version}"', text, count=1, flags=re.M)
    # Artifact Hub lists the image a chart deploys: the one this release built.
    text = re.sub(r"(^\s+image: ).*$", rf"\g<1>{repository}:{version}", text, flags=re.M)
    chart_yaml.write_text(text, encoding="utf-8")
    registry, path = split_repository(repository)
    values = copy / "values.yaml"
    text = _set_line(values.read_text(encoding="utf-8"), "image", "registry", registry)
    values.write_text(_set_line(text, "image", "repository", path), encoding="utf-8")


def packaged_metadata(archive: Path, name: str) -> tuple[dict[str, object], dict[str, object]]:
    """Chart.yaml and values.yaml as they are inside the archive."""
    with tarfile.open(archive) as tar:
        chart = yaml.safe_load(tar.extractfile(f"{name}/Chart.yaml").read())  # type: ignore[union-attr]
        values = yaml.safe_load(tar.extractfile(f"{name}/values.yaml").read())  # type: ignore[union-attr]
    return chart, values


def check(archive: Path, *, version: str, repository: str, name: str) -> None:
    chart, values = packaged_metadata(archive, name)
    image = values["image"]
    assert isinstance(image, dict)
    found = {
        "name": chart["name"],
        "appVersion": chart["appVersion"],
        "image": "/".join((image["registry"], image["repository"])),
    }
    wanted = {"name": name, "appVersion": version, "image": "/".join(split_repository(repository))}
    if found != wanted:
        raise ReleaseError(f"the packaged chart says {found}, not {wanted}")


def package(*, version: str, repository: str, name: str, output: Path) -> Path:
    import helm_python  # the test extra's helm-python-sdk: a release is built from a dev set-up

    helm_python.disable_logging()
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / name  # helm wants the folder named like the chart
        shutil.copytree(CHART, copy)
        prepare(copy, version=version, repository=repository, name=name)
        archive = Path(helm_python.package(copy, destination=output, app_version=version))
    check(archive, version=version, repository=repository, name=name)
    return archive


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="package_chart.py", description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True)
    parser.add_argument("--image-repository", required=True)
    parser.add_argument("--chart-name", required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if not CHART_NAME.fullmatch(args.chart_name):
        parser.error(f"chart name {args.chart_name!r}: lower-case letters, digits and dashes only")
    if not re.fullmatch(r"[a-z0-9]+([._/:-][a-z0-9]+)*", args.image_repository):
        parser.error(f"image repository {args.image_repository!r} is not a repository reference")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        archive = package(
            version=args.version,
            repository=args.image_repository,
            name=args.chart_name,
            output=args.output,
        )
    except ReleaseError as exc:
        print(f"package_chart.py: {exc}", file=sys.stderr)
        return 2
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

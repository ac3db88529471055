"""Benchmark: one controller pod serving a fleet, 200 targets x 50 clusters, in a 60 s poll.

Against the emulator in its own process (one listener, one project per target, AK/SK signing):

- ours: one fleet cycle, every target's `reconcile_once` at most `max_concurrent_targets` at a
  time (as `run` does), CPU and wall per fleet cycle;
- sdk: the vendor-SDK script a user would otherwise run per project, one project after another
  (`ListClusters`, then `ListClusterDetails` for each unbalanced cluster), CPU and wall;
- `run` itself in a subprocess with the whole fleet: RSS after 3 fleet cycles, after
  `--run-cycles`, and its peak (from a venv of `requirements.lock`, as the image runs it).

Each target has one unbalanced cluster held by a window opening hours from now (every guard and
the next-eligible projection run, nothing is sent); the others are balanced.
Run: python bench/bench_fleet.py [--targets 200] [--clusters 50] [--cycles 5] [--run-cycles 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from bench_cycle import (
    AK,
    SK,
    closed_window,
    free_port,
    machine,
    measure_run,
    process,
    runtime_python,
)

from controller.app.bootstrap import assemble_fleet
from controller.logs import configure_logging
from controller.settings import Settings


def project_scenario(index: int, clusters: int) -> dict[str, object]:
    entries = [
        {
            "name": f"dw-{i:03d}",
            "version": "8.2.1.230",
            "sub_status": "UNBALANCED" if i == 0 else "NORMAL",
        }
        for i in range(clusters)
    ]
    return {"project_id": project(index), "credentials": {"ak": AK, "sk": SK}, "clusters": entries}


def project(index: int) -> str:
    return f"bench-project-{index:03d}"


def fleet_config(url: str, journal: Path, targets: int) -> dict[str, Any]:
    return {
        "endpoint": url,
        "auth": {"ak": AK, "sk": SK},
        "journal_path": str(journal),
        "poll_interval": "60s",
        "log_level": "error",
        "log_format": "json",
        "policy": {"windows": [closed_window()], "min_unbalanced_duration": "0s"},
        "targets": [{"name": f"t{i:03d}", "project_id": project(i)} for i in range(targets)],
    }


@contextlib.contextmanager
def emulator(targets: int, clusters: int, workdir: Path) -> Iterator[str]:
    args = ["simulator", "--port", str(port := free_port())]
    for index in range(targets):
        path = workdir / f"scenario-{index:03d}.yaml"
        path.write_text(yaml.safe_dump(project_scenario(index, clusters)))
        args += ["--scenario", str(path)]
    url = f"http://127.0.0.1:{port}"
    with process(args, url):
        yield url


def ours(url: str, workdir: Path, targets: int, cycles: int) -> dict[str, float]:
    settings = Settings(**fleet_config(url, workdir / "ours.db", targets))
    result: dict[str, float] = {}

    async def fleet_cycle(parts: list[Any], gate: asyncio.Semaphore) -> None:
        async def one(p: Any) -> None:
            async with gate:
                report = await p.reconciler.reconcile_once(dt.datetime.now(dt.UTC))
                assert not report.started, "an idle cycle must not switch over"

        await asyncio.gather(*(one(p) for p in parts))

    async def go() -> None:
        async with assemble_fleet(settings) as fleet:
            gate = asyncio.Semaphore(settings.max_concurrent_targets)
            for _ in range(2):  # warm up: the first cycle parses every entry
                await fleet_cycle(fleet.targets, gate)
            cpu, wall = [], []
            for _ in range(cycles):
                c0, w0 = time.process_time(), time.perf_counter()
                await fleet_cycle(fleet.targets, gate)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            result["cpu_ms"] = statistics.median(cpu) * 1000
            result["wall_ms"] = statistics.median(wall) * 1000

    asyncio.run(go())
    return result


def sdk_script(url: str, targets: int, cycles: int) -> dict[str, float]:
    """The vendor SDK, one client per project, one project after another."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkdws.v2 import DwsClient, ListClusterDetailsRequest, ListClustersRequest

    clients = [
        DwsClient.new_builder()
        .with_credentials(BasicCredentials(AK, SK, project(i)))
        .with_endpoints([url])
        .build()
        for i in range(targets)
    ]

    def cycle() -> None:
        for client in clients:
            for cluster in client.list_clusters(ListClustersRequest()).clusters:
                if "UNBALANCED" in (cluster.sub_status or "").upper():
                    client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster.id))

    cycle()  # warm up
    cpu, wall = [], []
    for _ in range(cycles):
        c0, w0 = time.process_time(), time.perf_counter()
        cycle()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_ms": statistics.median(cpu) * 1000, "wall_ms": statistics.median(wall) * 1000}


def run_memory(
    url: str, workdir: Path, targets: int, run_cycles: int, python: str
) -> dict[str, float]:
    """`dws-rebalancer run` with the whole fleet: RSS after 3 fleet cycles, `run_cycles`, peak."""
    config = fleet_config(url, workdir / "run.db", targets)
    config["poll_interval"] = "2s"  # cycles come quickly: memory, not the budget, is measured
    return measure_run(config, workdir, (3, run_cycles), python, seconds_per_cycle=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=50, help="clusters per target")
    parser.add_argument("--cycles", type=int, default=5, help="timed fleet cycles")
    parser.add_argument("--run-cycles", type=int, default=10, help="fleet cycles of `run`")
    args = parser.parse_args()
    configure_logging(fmt="json", level="error")
    print(f"machine: {machine()}")
    python = runtime_python()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with emulator(args.targets, args.clusters, work) as url:
            mine = ours(url, work, args.targets, args.cycles)
            theirs = sdk_script(url, args.targets, args.cycles)
            memory = run_memory(url, work, args.targets, args.run_cycles, python)
    size = f"{args.targets} targets x {args.clusters} clusters"
    print(
        "| fleet | CPU ms per fleet cycle (ours / SDK script) | wall ms (ours / SDK script)"
        f" | RSS of run MiB (3 / {args.run_cycles} cycles / peak) |"
    )
    print("|---|---|---|---|")
    print(
        f"| {size} | {mine['cpu_ms']:.0f} / {theirs['cpu_ms']:.0f} "
        f"| {mine['wall_ms']:.0f} / {theirs['wall_ms']:.0f} "
        f"| {memory['rss_early_mib']:.0f} / {memory['rss_late_mib']:.0f} / {memory['peak_mib']:.0f} |"
    )


if __name__ == "__main__":
    main()

"""Benchmark: cost of one reconcile cycle against the emulator, by fleet size.

The emulator runs in its own process (`dws-rebalancer simulator --scenario ...`), so the numbers
are the controller's: per fleet size, requests per idle cycle, mean/p95 cycle time over a real
loopback socket (AK/SK signing, JSON parsing, guards, journal, metrics included) and peak Python
memory of the cycle. Run: python bench/bench_cycle.py [--sizes 10,100,500] [--cycles 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

from controller.app.bootstrap import assemble
from controller.logs import configure_logging
from controller.record.metrics import Metrics
from controller.settings import Settings

AK, SK, PROJECT = "BENCHAK0000000000001", "bench-secret", "bench-project"


def scenario(size: int) -> dict[str, object]:
    """Every tenth cluster unbalanced, every twentieth on an unsupported version."""
    clusters = [
        {
            "name": f"dw-{i:04d}",
            "version": "8.1.1.100" if i % 20 == 0 else "8.2.1.230",
            "sub_status": "UNBALANCED" if i % 10 == 0 else "NORMAL",
        }
        for i in range(size)
    ]
    return {"project_id": PROJECT, "credentials": {"ak": AK, "sk": SK}, "clusters": clusters}


@contextlib.contextmanager
def emulator(size: int, workdir: Path) -> Iterator[str]:
    path = workdir / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(size)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "simulator",
            "--scenario",
            str(path),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def api_requests(metrics: Metrics) -> float:
    """Every HTTP attempt the client made, from its own metric."""
    return sum(
        sample.value
        for family in metrics.registry.collect()
        if family.name == "dws_rebalancer_api_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def measure(size: int, cycles: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, emulator(size, Path(tmp)) as url:
        settings = Settings(
            endpoint=url,
            project_id=PROJECT,
            auth={"ak": AK, "sk": SK},
            journal_path=Path(tmp) / "j.db",
            dry_run=True,
            policy={"windows": [], "use_maintenance_window": False},
        )
        async with assemble(settings) as parts:
            await parts.reconciler.reconcile_once(dt.datetime.now(dt.UTC))  # warm up
            before = api_requests(parts.metrics)
            tracemalloc.start()
            times = []
            for _ in range(cycles):
                started = time.perf_counter()
                await parts.reconciler.reconcile_once(dt.datetime.now(dt.UTC))
                times.append(time.perf_counter() - started)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            requests_per_cycle = (api_requests(parts.metrics) - before) / cycles
    times.sort()
    return {
        "requests_per_cycle": requests_per_cycle,
        "mean_ms": statistics.mean(times) * 1000,
        "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000,
        "peak_mib": peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    configure_logging(fmt="json", level="error")
    print(f"{'clusters':>8} {'req/cycle':>9} {'mean ms':>8} {'p95 ms':>8} {'peak MiB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = asyncio.run(measure(size, args.cycles))
        print(
            f"{size:>8} {r['requests_per_cycle']:>9.1f} {r['mean_ms']:>8.1f} {r['p95_ms']:>8.1f}"
            f" {r['peak_mib']:>9.2f}"
        )


if __name__ == "__main__":
    main()

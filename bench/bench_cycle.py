"""Benchmark: an idle reconcile cycle against the vendor-SDK script a user would otherwise write.

Per fleet size, side by side in one run, against the emulator in its own process (a real loopback
socket, AK/SK signing):

- ours: the controller's reconcile cycle (`Reconciler.reconcile_once`), CPU and wall per cycle;
- sdk: `huaweicloudsdkdws` `ListClusters`, then `ListClusterDetails` for each unbalanced cluster;
- requests per idle cycle: ours, the SDK script's, and a naive list + detail of every cluster;
- `run` itself in a subprocess: RSS after 5 and after `--run-cycles` cycles, and its peak. It runs
  from a venv holding only what the image installs (`requirements.lock`, built once and cached),
  because a development venv loads more (import-linter brings rich, which structlog then imports).

The fleet: one cluster in a hundred unbalanced, held by a window that opens hours from now (so
every guard and the next-eligible projection run, and nothing is sent); the rest balanced.
Run: python bench/bench_cycle.py [--sizes 10,100,1000,10000] [--cycles 30] [--run-cycles 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from controller.app.bootstrap import assemble
from controller.logs import configure_logging
from controller.record.metrics import Metrics
from controller.settings import Settings

AK, SK, PROJECT = "BENCHAK0000000000001", "bench-secret", "bench-project"
UNBALANCED_EVERY = 100


def scenario(size: int) -> dict[str, object]:
    clusters = [
        {
            "name": f"dw-{i:05d}",
            "version": "8.2.1.230",
            "sub_status": "UNBALANCED" if i % UNBALANCED_EVERY == 0 else "NORMAL",
        }
        for i in range(size)
    ]
    return {"project_id": PROJECT, "credentials": {"ak": AK, "sk": SK}, "clusters": clusters}


def closed_window() -> dict[str, str]:
    """A daily window opening six hours from now: closed for the whole benchmark."""
    opens = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)
    return {"start": f"{opens:%H}:00", "end": f"{(opens + dt.timedelta(hours=1)):%H}:00"}


def settings_dict(url: str, journal: Path) -> dict[str, Any]:
    return {
        "endpoint": url,
        "project_id": PROJECT,
        "auth": {"ak": AK, "sk": SK},
        "journal_path": str(journal),
        "poll_interval": "1s",
        "log_level": "error",
        "log_format": "json",
        "policy": {"windows": [closed_window()], "min_unbalanced_duration": "0s"},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


REPO = Path(__file__).resolve().parents[1]


def runtime_python() -> str:
    """A venv with the locked runtime dependencies and the package: what the image runs."""
    lock = (REPO / "requirements.lock").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = cache / "dws-rebalancer-bench" / hashlib.sha256(lock).hexdigest()[:16]
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run(
            [*pip, "--require-hashes", "-r", str(REPO / "requirements.lock")], check=True
        )
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(REPO)], check=True)
    return str(python)


@contextlib.contextmanager
def process(
    args: list[str], url: str, python: str = sys.executable
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [python, "-m", "controller", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(url)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def emulator(size: int, workdir: Path) -> Iterator[str]:
    path = workdir / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(size)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(["simulator", "--scenario", str(path), "--port", str(port)], url):
        yield url


def api_requests(metrics: Metrics) -> float:
    """Every HTTP attempt the client made, from its own metric."""
    return sum(
        sample.value
        for family in metrics.registry.collect()
        if family.name == "dws_rebalancer_api_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def timed(cycle: Callable[[], object], cycles: int) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for _ in range(cycles):
        c0, w0 = time.process_time(), time.perf_counter()
        cycle()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return cpu, wall


def ours(url: str, workdir: Path, cycles: int) -> dict[str, float]:
    settings = Settings(**settings_dict(url, workdir / "ours.db"))
    result: dict[str, float] = {}

    async def go() -> None:
        async with assemble(settings) as parts:
            for _ in range(2):  # warm up: the first cycle parses every entry
                await parts.reconciler.reconcile_once(dt.datetime.now(dt.UTC))
            before = api_requests(parts.metrics)
            cpu, wall = [], []
            for _ in range(cycles):
                c0, w0 = time.process_time(), time.perf_counter()
                report = await parts.reconciler.reconcile_once(dt.datetime.now(dt.UTC))
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                assert not report.started, "an idle cycle must not switch over"
            result["requests"] = (api_requests(parts.metrics) - before) / cycles
            result["cpu_ms"] = statistics.median(cpu) * 1000
            result["wall_ms"] = statistics.median(wall) * 1000

    asyncio.run(go())
    return result


def sdk_script(url: str, cycles: int) -> dict[str, float]:
    """What a user would write with the vendor SDK: list, then detail each unbalanced cluster."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkdws.v2 import DwsClient, ListClusterDetailsRequest, ListClustersRequest

    client = (
        DwsClient.new_builder()
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoints([url])
        .build()
    )
    requests = 0

    def cycle() -> None:
        nonlocal requests
        listed = client.list_clusters(ListClustersRequest()).clusters
        requests += 1
        for cluster in listed:
            if "UNBALANCED" in (cluster.sub_status or "").upper():
                client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster.id))
                requests += 1

    cycle()  # warm up
    requests = 0
    cpu, wall = timed(cycle, cycles)
    return {
        "requests": requests / cycles,
        "cpu_ms": statistics.median(cpu) * 1000,
        "wall_ms": statistics.median(wall) * 1000,
    }


def rss_kib(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M)}


def cycles_done(metrics_url: str) -> int:
    """Full cycles `run` has finished: the fewest of any target (each has its own series)."""
    text = httpx.get(metrics_url, timeout=5).text
    counts = re.findall(
        r"^dws_rebalancer_cycle_duration_seconds_count(?:\{[^}]*\})? (\S+)$", text, re.M
    )
    return min((int(float(c)) for c in counts), default=0)


def run_memory(url: str, workdir: Path, run_cycles: int, python: str) -> dict[str, float]:
    """`dws-rebalancer run` in its own process: RSS after 5 cycles, after `run_cycles`, and peak."""
    return measure_run(settings_dict(url, workdir / "run.db"), workdir, (5, run_cycles), python)


def measure_run(
    config: dict[str, Any],
    workdir: Path,
    marks: tuple[int, int],
    python: str,
    seconds_per_cycle: float = 5,
) -> dict[str, float]:
    """`run` with `config` in its own process: RSS after `marks` cycles (early, late) and peak."""
    port = free_port()
    path = workdir / "run.yaml"
    path.write_text(yaml.safe_dump({**config, "listen": f"127.0.0.1:{port}"}))
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    with process(["run", "--config", str(path)], metrics_url, python) as proc:
        seen: dict[int, dict[str, int]] = {}
        deadline = time.monotonic() + 60 + seconds_per_cycle * marks[1]
        while len(seen) < 2 and time.monotonic() < deadline:
            done = cycles_done(metrics_url)
            for mark in marks:
                if done >= mark and mark not in seen:
                    seen[mark] = rss_kib(proc.pid)
            time.sleep(0.2)
        final = rss_kib(proc.pid)
    early, late = seen.get(marks[0], final), seen.get(marks[1], final)
    return {
        "rss_early_mib": early["VmRSS"] / 1024,
        "rss_late_mib": late["VmRSS"] / 1024,
        "peak_mib": final["VmHWM"] / 1024,
    }


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--cycles", type=int, default=30, help="timed cycles per size")
    parser.add_argument("--run-cycles", type=int, default=50, help="cycles of `run` per size")
    args = parser.parse_args()
    configure_logging(fmt="json", level="error")
    print(f"machine: {machine()}")
    python = runtime_python()
    header = (
        "| clusters | requests per idle cycle (ours / SDK / naive) | CPU ms ours | CPU ms SDK "
        "| SDK ÷ ours | wall ms ours | RSS of run MiB (5 / "
        f"{args.run_cycles} cycles / peak) |"
    )
    print(header)
    print("|" + "---|" * 7)
    for size in (int(s) for s in args.sizes.split(",")):
        print(measure_size(size, args.cycles, args.run_cycles, python), flush=True)


def measure_size(size: int, cycles: int, run_cycles: int, python: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with emulator(size, work) as url:
            mine = ours(url, work, cycles)
            theirs = sdk_script(url, cycles)
            memory = run_memory(url, work, run_cycles, python)
    naive = size + 1
    return (
        f"| {size:,} | {mine['requests']:.0f} / {theirs['requests']:.0f} / {naive:,} "
        f"| {mine['cpu_ms']:.1f} | {theirs['cpu_ms']:.1f} "
        f"| {theirs['cpu_ms'] / max(mine['cpu_ms'], 1e-3):.1f}× | {mine['wall_ms']:.1f} "
        f"| {memory['rss_early_mib']:.0f} / {memory['rss_late_mib']:.0f} / {memory['peak_mib']:.0f} |"
    )


if __name__ == "__main__":
    main()

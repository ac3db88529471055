"""A real Prometheus on loopback for tests: scrapes given targets every second, answers PromQL."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SCRAPE_INTERVAL = "1s"


class PromError(AssertionError):
    """Prometheus refused a query or did not come up; the message carries its answer or log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """One Prometheus process with its own TSDB under `workdir`; use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        targets: Sequence[str],
        rule_files: Sequence[Path] = (),
        target_labels: Mapping[str, str] | None = None,
    ) -> None:
        assert PROMETHEUS, "prometheus is not installed (apt-get install prometheus)"
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._config = workdir / "prometheus.yml"
        self._config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": SCRAPE_INTERVAL,
                        "scrape_timeout": SCRAPE_INTERVAL,
                        "evaluation_interval": SCRAPE_INTERVAL,
                    },
                    "rule_files": [str(p) for p in rule_files],
                    "scrape_configs": [
                        {
                            "job_name": "dws-rebalancer",
                            "static_configs": [
                                {"targets": list(targets), "labels": dict(target_labels or {})}
                            ],
                        }
                    ],
                }
            )
        )
        self._log = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(base_url=self.url, timeout=10)

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> None:
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={self._config}",
                    f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._until(lambda: self._get("/-/ready").status_code == 200, timeout, "ready")

    def stop(self) -> None:
        self._http.close()
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:]

    def _get(self, path: str, **params: Any) -> httpx.Response:
        if self._proc is not None and self._proc.poll() is not None:
            raise PromError(f"prometheus exited with {self._proc.returncode}:\n{self.log()}")
        try:
            return self._http.get(path, params=params)
        except httpx.TransportError:
            return httpx.Response(599)  # not listening yet

    def _api(self, path: str, **params: Any) -> Any:
        response = self._get(path, **params)
        if not response.content:
            raise PromError(f"{path}: no answer from prometheus (HTTP {response.status_code})")
        body = response.json()
        if body.get("status") != "success":
            raise PromError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query at the current time; the result vector."""
        data = self._api("/api/v1/query", query=expr)
        return list(data["result"]) if data["resultType"] == "vector" else [data]

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1
    ) -> list[dict[str, Any]]:
        """A range query; one matrix entry per series."""
        data = self._api("/api/v1/query_range", query=expr, start=start, end=end, step=step)
        return list(data["result"])

    def rules(self) -> list[dict[str, Any]]:
        return [rule for g in self._api("/api/v1/rules")["groups"] for rule in g["rules"]]

    def targets(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/targets")["activeTargets"])

    def wait_for(self, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll until `expr` returns a non-empty result (a condition, not a delay)."""
        result: list[dict[str, Any]] = []

        def found() -> bool:
            nonlocal result
            result = self.query(expr)
            return bool(result)

        self._until(found, timeout, f"a result for {expr}")
        return result

    def _until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise PromError(f"timed out waiting for {what}; prometheus log:\n{self.log()}")
            time.sleep(0.1)


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is not installed (apt-get install prometheus)"
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )

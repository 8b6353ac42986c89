"""Real server processes for the production-mode tests: an MLflow tracking server, Dask.

Servers run in their own process group (so their children die with them) and log to a file the
failing test prints. Waits are bounded by readiness checks, never by sleeps: `/health` for MLflow,
the scheduler's worker count for Dask. A missing binary skips with the reason, or fails under
`CI=true` (CI must run these).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]
READY_BOUND_S = 180.0
"""Upper bound for a server to come up on a busy 2-core machine (normally a few seconds)."""


def require_binary(name: str) -> Path:
    """The venv's `name` executable; skip (fail under CI=true) when it is not installed."""
    path = BIN / name
    if path.exists():
        return path
    reason = f"{path} not installed (pip install -e '.[dev]')"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires {name}: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment without CVN_* settings, with this checkout's `src` importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVN_", "MLFLOW_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


@dataclass
class Server:
    """A started server process (its own process group) and its log file."""

    args: Sequence[str]
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        """Start (or restart) the process."""
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            list(self.args),
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, not a clean stop) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()


def wait_until_http_ok(server: Server, url: str) -> None:
    """Poll `url` until it answers 200; fail with the log if the server dies or never answers."""
    deadline = time.monotonic() + READY_BOUND_S
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(f"{server.args[0]} exited before answering {url}:\n{server.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)  # readiness poll interval, not synchronisation
    pytest.fail(f"{url} did not answer within {READY_BOUND_S:.0f} s:\n{server.tail()}")


def mlflow_server(backend_store_uri: str, artifact_root: Path, port: int, log: Path) -> Server:
    """`mlflow server` on loopback with a SQL backend store and a local artifact root."""
    mlflow = require_binary("mlflow")
    return Server(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            backend_store_uri,
            "--default-artifact-root",
            str(artifact_root),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        log,
        child_env(MLFLOW_LOGGING_LEVEL="WARNING"),
    )

"""`cvntrade console` warns loudly when bound beyond loopback, and not otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _startup_lines(sqlite_url: str, tmp_path: Path, host: str) -> list[str]:
    """stderr of `cvntrade console --host HOST` up to its "console on" line, then stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.update(CVN_HOME=str(tmp_path), CVN_DATABASE_URL=sqlite_url)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "console",
            "--host",
            host,
            "--port",
            str(_free_port()),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "console on http://" in line:
                break
    finally:
        process.terminate()
        process.wait()
    return lines


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_binding_beyond_loopback_warns_about_tls(
    sqlite_url: str, tmp_path: Path, host: str, warned: bool
) -> None:
    text = " ".join(" ".join(_startup_lines(sqlite_url, tmp_path, host)).split())
    assert f"console on http://{host}:" in text
    assert ("WARNING" in text and "TLS" in text) is warned


def test_console_and_users_commands_explain_themselves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env["CVN_HOME"] = str(tmp_path)
    for args in (
        ["console"],
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "passwd"],
        ["users", "disable"],
        ["users", "token"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "cvntrade.cli.main", *args, "--help"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout and len(done.stdout.splitlines()) > 5, args

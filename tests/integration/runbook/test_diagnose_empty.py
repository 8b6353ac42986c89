"""`runbook diagnose` with nothing to diagnose: one line naming the window, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import Engine

NOW = "2026-11-30T12:00:00"


def test_no_focal_predictions_is_a_one_line_error(engine: Engine, cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "runbook",
            "diagnose",
            "--now",
            NOW,
            "--symbols",
            "BTCUSDC",
        ],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "no focal predictions in the 48 h before 2026-11-30T12:00:00 for BTCUSDC" in (
        result.stderr + result.stdout
    )
    assert "Traceback" not in result.stderr

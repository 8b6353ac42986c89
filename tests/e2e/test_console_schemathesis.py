"""Schemathesis against the OpenAPI schema of a running console: no 5xx, no schema violations."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from console_server import running_console

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


@pytest.mark.slow
def test_api_conforms_to_its_openapi_schema(
    sqlite_url: str, mlflow_template: Path, tmp_path: Path
) -> None:
    with running_console(sqlite_url, mlflow_template, tmp_path) as console:
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{console.url}/api/openapi.json",
                "-H",
                f"Authorization: Bearer {console.tokens['admin']}",
                "--max-examples",
                "10",
                "--phases",
                "examples,coverage,fuzzing",
                "--checks",
                CHECKS,
                "--workers",
                "1",
                "--generation-deterministic",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=900,
        )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
    tested = re.search(r"Tested: (\d+)", done.stdout)
    assert selected and tested, done.stdout[-2000:]
    assert selected[1] == selected[2] == tested[1]  # every operation of the schema was exercised
    assert int(tested[1]) >= 17  # 14 + monitoring, alerts, alert ack

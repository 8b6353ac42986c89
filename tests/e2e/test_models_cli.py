"""`cvntrade models …` with the runbook's flags, through the real process and MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

NAME = "CVNTrade_XGBoost_ETHUSDC_SL0.5_TP1_H4"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )


def test_runbook_rollback_by_hand(cli_env: dict[str, str], tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**cli_env, "MLFLOW_TRACKING_URI": uri}
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(NAME)
    for loss in ("binary", "binary", "focal"):
        client.create_model_version(NAME, source=str(tmp_path), tags={"loss_function": loss})
    client.set_registered_model_alias(NAME, "champion", "3")

    listing = _run(
        env,
        "list-versions",
        "--name",
        NAME,
        "--order-by",
        "version_number DESC",
        "--max-results",
        "5",
    )
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("version=3 run_id=")
    assert lines[0].endswith("tags={loss_function: focal} aliases=[champion]")
    assert lines[1].endswith("tags={loss_function: binary} aliases=[]")

    previous = json.loads(_run(env, "previous", NAME, "--json").stdout)
    assert previous["version"] == 2

    moved = _run(
        env,
        "set-alias",
        "--name",
        NAME,
        "--alias",
        "champion",
        "--version",
        "2",
        "--reason",
        "expectancy_negative_focal",
        "--actor",
        "oncall",
    )
    assert moved.returncode == 0, moved.stderr
    assert "3 → 2" in moved.stdout
    assert client.get_registered_model(NAME).aliases == {"champion": 2}
    again = _run(
        env,
        "set-alias",
        "--name",
        NAME,
        "--alias",
        "champion",
        "--version",
        "2",
        "--reason",
        "again",
    )
    assert "nothing to do" in again.stdout

    refused = _run(
        env,
        "set-alias",
        "--name",
        NAME,
        "--alias",
        "champion",
        "--version",
        "9",
        "--reason",
        "typo",
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error: model '{NAME}' version 9 not found in the registry"
    assert client.get_registered_model(NAME).aliases == {"champion": 2}

    unknown = _run(env, "list-versions", "--name", "CVNTrade_nope")
    assert unknown.returncode == 2
    assert "model 'CVNTrade_nope' not found" in unknown.stderr

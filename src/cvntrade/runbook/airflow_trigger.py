"""Path B through Airflow: run the `launch__training` DAG for one recalibration, wait, read back.

"Airflow is configured" means `CVN_AIRFLOW_BIN` names an `airflow` executable whose environment
(`AIRFLOW_HOME` with a migrated metadata database, `AIRFLOW__CORE__DAGS_FOLDER` pointing at
`infra/airflow/dags`, and the same `CVN_*` / `MLFLOW_TRACKING_URI` as ours) can run the DAG:
docs/airflow.md. The run is `airflow dags test launch__training -c CONF`, which executes the DAG
run in-process and returns when it has finished, so the runbook can compare ECE_HOLD at once
(a scheduler-triggered run would need polling for its XCom; docs/airflow.md shows that manual
form). The new version is read back from the registry: the newest version recalibrated from
the requested one that did not exist before the run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cvntrade.errors import DependencyError, UserInputError
from cvntrade.registry import Registry

DAG_ID = "launch__training"
RUN_TIMEOUT_S = 4 * 3600
"""The DAG task's own execution_timeout: a hang guard, not a speed expectation."""


def airflow_binary(configured: Path | None) -> Path:
    """The configured `airflow` executable; exit 4 when none is configured, 2 when it is wrong."""
    if configured is None:
        raise DependencyError(
            "Airflow is not configured: set CVN_AIRFLOW_BIN to the `airflow` executable of an "
            "environment that runs the launch__training DAG (docs/airflow.md), or use "
            "--via inline; nothing was changed"
        )
    if not configured.is_file():
        raise UserInputError(
            f"CVN_AIRFLOW_BIN={configured} is not a file: point it at the `airflow` executable "
            "(e.g. .venv-airflow/bin/airflow); nothing was changed"
        )
    return configured


def dag_conf(symbol: str, strategy: str, version: int) -> str:
    """The DAG run's conf for a recalibration of `version` (pure)."""
    return json.dumps(
        {
            "symbol": symbol,
            "strategy": strategy,
            "recalibrate_only": True,
            "recalibrate_version": version,
        },
        sort_keys=True,
    )


def recalibrate_via_airflow(
    binary: Path, registry: Registry, *, name: str, symbol: str, strategy: str, version: int
) -> int:
    """Run the DAG to recalibrate `version` of `name`; returns the version it registered."""
    before = _newest(registry, name)
    try:
        done = subprocess.run(
            [str(binary), "dags", "test", DAG_ID, "-c", dag_conf(symbol, strategy, version)],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"airflow dags test {DAG_ID} for {symbol} failed: {exc}") from None
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    for info in registry.list_versions(name, 20):
        if info.version > before and info.tags.get("recalibrated_from") == str(version):
            return info.version
    raise DependencyError(
        f"airflow dags test {DAG_ID} for {symbol} (exit {done.returncode}) registered no "
        f"recalibration of version {version}: {' | '.join(tail) or 'no output'}"
    )


def _newest(registry: Registry, name: str) -> int:
    versions = registry.list_versions(name, 1)
    return versions[0].version if versions else 0

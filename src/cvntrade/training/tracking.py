"""Recording a training run in MLflow and registering its model version, quickly.

One run per training in experiment `CVNTrade/{symbol}/{strategy}`: params, overall metrics
(step 0), per-fold metrics `fold_<name>` (step = fold number), and the artifacts directory
(`model/booster.ubj`, `model/bundle.json`, `calibration.json`, `features.json`) uploaded as raw
files. The version is registered with `create_model_version(source=<run artifacts>/model)`: no
`mlflow.xgboost.log_model`, so no environment inference (≈ 2 s saved per model).

The tracking URI is always explicit. MLflow's default artifact root for a new experiment is
`./mlruns` in the *working directory*, so experiments are created with an explicit artifact
location: next to a sqlite store (`<dir of mlflow.db>/mlartifacts`), under `CVN_HOME` for other
database stores, and left to the server for `http(s)://` tracking servers.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvntrade.errors import DependencyError
from cvntrade.registry.mlflow_errors import translated_mlflow_errors
from cvntrade.training.bundle import MODEL_ARTIFACT_DIR

if TYPE_CHECKING:
    from mlflow import MlflowClient

_BATCH = 100  # MLflow accepts at most 100 params (and 1000 metrics) per log_batch
_SERVER_SCHEMES = ("http://", "https://", "databricks")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything logged for one training run."""

    experiment: str
    run_name: str
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    fold_metrics: Sequence[Mapping[str, float]]
    run_tags: Mapping[str, str]
    artifacts: Path


@dataclass(frozen=True, slots=True)
class Registration:
    """The run and the model version created from it."""

    run_id: str
    version: int
    source: str


def experiment_name(symbol: str, strategy: str) -> str:
    """The MLflow experiment of one symbol and strategy."""
    return f"CVNTrade/{symbol}/{strategy}"


def artifact_root(tracking_uri: str, home: Path) -> str | None:
    """Where new experiments keep their artifacts (None: the tracking server decides)."""
    if tracking_uri.startswith(_SERVER_SCHEMES) or tracking_uri.startswith("file:"):
        return None
    if tracking_uri.startswith("sqlite:///"):
        database = tracking_uri.removeprefix("sqlite:///").split("?", 1)[0]
        if database and database != ":memory:":
            return str(Path(database).absolute().parent / "mlartifacts")
    return str(home.absolute() / "mlartifacts")


def git_sha() -> str:
    """`git rev-parse HEAD` of the code being run, or `unknown` outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else "unknown"


def log_and_register(
    tracking_uri: str,
    record: RunRecord,
    *,
    model_name: str,
    version_tags: Mapping[str, str],
    artifact_location: str | None,
) -> Registration:
    """Create the run, log everything, register the version; the run is FAILED on error."""
    from mlflow import MlflowClient

    with translated_mlflow_errors(f"experiment {record.experiment!r}"):
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        experiment_id = ensure_experiment_id(client, record.experiment, artifact_location)
        run = client.create_run(experiment_id, run_name=record.run_name, tags=dict(record.run_tags))
    run_id = run.info.run_id
    try:
        with translated_mlflow_errors(f"run {run_id} of model {model_name!r}"):
            _log_values(client, run_id, record)
            client.log_artifacts(run_id, str(record.artifacts))
            _ensure_registered_model(client, model_name)
            source = f"{run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT_DIR}"
            version = client.create_model_version(
                model_name, source=source, run_id=run_id, tags=dict(version_tags)
            )
            client.set_terminated(run_id, "FINISHED")
    except BaseException:
        _mark_failed(client, run_id)
        raise
    return Registration(run_id=run_id, version=int(version.version), source=source)


def ensure_experiment_id(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    """The id of experiment `name`, created (with `artifact_location`) when missing."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if artifact_location is not None:
        location = f"{artifact_location.rstrip('/')}/{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}"
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException as exc:  # created concurrently by another training run
        again = client.get_experiment_by_name(name)
        if again is None:
            raise DependencyError(f"cannot create MLflow experiment {name!r}: {exc}") from None
        return str(again.experiment_id)


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, tags={"product": "CVNTrade"})
    except MlflowException as exc:
        if str(exc.error_code) != "RESOURCE_ALREADY_EXISTS":
            raise


def _log_values(client: MlflowClient, run_id: str, record: RunRecord) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    params = [Param(k, str(v)) for k, v in sorted(record.params.items())]
    metrics: list[Any] = [Metric(k, float(v), now, 0) for k, v in sorted(record.metrics.items())]
    for fold in record.fold_metrics:
        step = int(fold["fold"])
        metrics += [
            Metric(f"fold_{k}", float(v), now, step) for k, v in sorted(fold.items()) if k != "fold"
        ]
    for i in range(0, len(params), _BATCH):
        client.log_batch(run_id, params=params[i : i + _BATCH])
    for i in range(0, len(metrics), 10 * _BATCH):
        client.log_batch(run_id, metrics=metrics[i : i + 10 * _BATCH])


def _mark_failed(client: MlflowClient, run_id: str) -> None:
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException, OSError):  # the original error matters more
        client.set_terminated(run_id, "FAILED")

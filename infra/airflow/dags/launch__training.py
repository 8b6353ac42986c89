"""Airflow DAG `launch__training`: train (or only recalibrate) one CVNTrade model.

The production face of `cvntrade train`: the task calls the same Python API as the CLI
(`cvntrade.training.api.run_training`) so both paths register identical MLflow versions.
Airflow is not a dependency of the `cvntrade` package; this file runs in an Airflow environment
that has `cvntrade` installed next to it (`make airflow-venv`, see docs/airflow.md).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from cvntrade.training.result import TrainingResult

log = logging.getLogger(__name__)

DAG_ID = "launch__training"
DEFAULT_SYMBOL = "BTCUSDC"
DEFAULT_STRATEGY = "SL0.5_TP1_H4"
DEFAULT_RETRIES = 2

DOC_MD = """
# launch__training

Trains one CVNTrade model for a `symbol` and a `strategy` and registers it in MLflow as a new
version of `CVNTrade_XGBoost_{symbol}_{strategy}` (tags `loss_function`, `focal_gamma`,
`focal_alpha`, `calibration`, `temperature`, `dataset_hash`, `git_sha`, `config_version`).
It calls `cvntrade.training.api.run_training`, exactly what `cvntrade train` calls.

Loss function, focal gamma/alpha and calibration are **not** DAG params: they come from
`ftf_config` (`CVN_LOSS_FUNCTION`, `CVN_FOCAL_GAMMA`, `CVN_FOCAL_ALPHA`, `CVN_CALIBRATION`),
so the runbook changes them in one audited place and "the next training run picks it up".
A run never moves an existing `champion` alias (promotion is the FTF gate's decision); only a
model's very first version becomes its champion.

| param | default | meaning |
|---|---|---|
| `symbol` | `BTCUSDC` | exchange symbol; its bars must be in `CVN_HOME/data` |
| `strategy` | `SL0.5_TP1_H4` | triple-barrier strategy `SL<stop%>_TP<take%>_H<hours>` |
| `recalibrate_only` | `false` | refit only the temperature of the current champion (Path B) |
| `recalibrate_version` | `null` | with `recalibrate_only`: recalibrate this version instead of the champion (Path B after a rollback: the focal version it replaced) |

Environment of the workers: `CVN_HOME`, `CVN_DATABASE_URL` (schema migrated with
`cvntrade db upgrade`), `MLFLOW_TRACKING_URI`. The task's return value (XCom `return_value`) is
a JSON summary: `model_name`, `version`, `run_id`, `loss_function`, `metrics`, `temperature`,
`threshold`, `dataset_hash`.

## Runbook `expectancy_negative_focal`, Path B (recalibrate the champion)

When diagnosis says the focal model ranks well but its probabilities are off (ECE up, sharpness
collapsed), keep the champion's booster and refit only its temperature on recent data:

1. `cvntrade config set CVN_CALIBRATION=temperature_scaling --reason "<incident id>: Path B"`
2. Trigger with `recalibrate_only=true`, once per affected symbol:
   `airflow dags trigger launch__training -c '{"symbol": "BTCUSDC",
   "strategy": "SL0.5_TP1_H4", "recalibrate_only": true}'`
3. Read the new version from the task's XCom (or `cvntrade models show <model_name>`): it has
   `recalibrated_from`, the new `temperature`, and `ece_hold` next to `ece_hold_before` (the
   old calibration) on the same window. Then let the gate / the runbook move `champion`.

Retries: 2 (after 5, then 10 minutes) when the database or registry is unreachable or a
concurrent change got in first. Any other CVNTrade error (bad symbol or strategy, no market data,
no champion to recalibrate, schema not migrated) fails at once without retrying.
"""


SUMMARY_KEYS = (
    "model_name",
    "version",
    "run_id",
    "symbol",
    "strategy",
    "loss_function",
    "focal_gamma",
    "focal_alpha",
    "calibration",
    "temperature",
    "threshold",
    "metrics",
    "dataset_hash",
    "champion_version",
    "became_champion",
    "recalibrated_from",
    "duration_s",
)


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON types: numpy scalars unwrapped, NaN/inf become None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def summarise(result: TrainingResult, *, recalibrate_only: bool) -> dict[str, Any]:
    """The small JSON summary of a `TrainingResult` that the task returns (XCom)."""
    full = result.to_dict()
    summary: dict[str, Any] = _jsonable({key: full.get(key) for key in SUMMARY_KEYS})
    summary["recalibrate_only"] = recalibrate_only
    return summary


def _retries() -> int:
    """Task retries: 2, or `CVN_AIRFLOW_TRAIN_RETRIES` when set.

    Tests set 0: `airflow dags test` sleeps through every retry delay before reporting a failure.
    """
    raw = os.environ.get("CVN_AIRFLOW_TRAIN_RETRIES", "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_RETRIES


@dag(
    dag_id=DAG_ID,
    description="Train (or recalibrate) one CVNTrade model and register it in MLflow.",
    doc_md=DOC_MD,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,  # manual-only: a paused DAG would queue runbook triggers
    max_active_runs=4,
    tags=["cvntrade", "training"],
    params={
        "symbol": Param(
            DEFAULT_SYMBOL,
            type="string",
            pattern=r"^[A-Z0-9]{2,12}$",
            description="Exchange symbol, e.g. BTCUSDC (bars must be under CVN_HOME/data).",
        ),
        "strategy": Param(
            DEFAULT_STRATEGY,
            type="string",
            pattern=r"^SL\d+(\.\d+)?_TP\d+(\.\d+)?_H\d+$",
            description="Triple-barrier strategy SL<stop%>_TP<take%>_H<hours>.",
        ),
        "recalibrate_only": Param(
            False,
            type="boolean",
            description=(
                "Runbook Path B: refit only the champion's temperature on recent data "
                "(set CVN_CALIBRATION=temperature_scaling first)."
            ),
        ),
        "recalibrate_version": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description=(
                "With recalibrate_only: recalibrate this version instead of the champion "
                "(`cvntrade runbook remediate --path B --via airflow` after a rollback)."
            ),
        ),
    },
    default_args={"owner": "cvntrade"},
)
def launch__training() -> None:
    """Train (or only recalibrate) one CVNTrade model; see the DAG's doc_md."""

    @task(
        task_id="train",
        multiple_outputs=False,  # one `return_value` XCom, not one per key
        retries=_retries(),
        retry_delay=timedelta(minutes=5),
        retry_exponential_backoff=2.0,  # a multiplier in Airflow 3: 5 min, then 10 min
        max_retry_delay=timedelta(minutes=30),
        execution_timeout=timedelta(hours=4),
    )
    def train() -> dict[str, Any]:
        """Run `run_training` with the DAG params; return its JSON summary (XCom)."""
        context = get_current_context()
        params = context["params"]
        symbol = str(params["symbol"])
        strategy = str(params["strategy"])
        recalibrate_only = bool(params["recalibrate_only"])
        raw_version = params.get("recalibrate_version")
        recalibrate_version = None if raw_version is None else int(raw_version)

        # Heavy imports stay inside the task: the DAG file must parse fast.
        from cvntrade.db import create_db_engine, require_current
        from cvntrade.errors import ConflictError, CvnError, DependencyError
        from cvntrade.settings import get_settings
        from cvntrade.training.api import run_training

        settings = get_settings()
        log.info(
            "launch__training: symbol=%s strategy=%s recalibrate_only=%s settings=%r",
            symbol,
            strategy,
            recalibrate_only,
            settings,
        )

        def progress(stage: str, done: int, total: int) -> None:
            log.info("%s %s: %s (%d/%d)", symbol, strategy, stage, done, total)

        engine = create_db_engine(settings.effective_database_url)
        try:
            require_current(engine)
            result = run_training(
                engine,
                symbol=symbol,
                strategy=strategy,
                recalibrate_only=recalibrate_only,
                recalibrate_version=recalibrate_version,
                tracking_uri=settings.effective_tracking_uri,
                progress=progress,
                actor=f"airflow:{DAG_ID}/{context['run_id']}"[:120],
            )
        except (DependencyError, ConflictError):
            raise  # database/registry unreachable, or a concurrent change: a retry can succeed
        except CvnError as exc:  # bad input, no data, no champion, schema not migrated
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        finally:
            engine.dispose()

        summary = summarise(result, recalibrate_only=recalibrate_only)
        log.info("launch__training registered %s", summary)
        return summary

    train()


launch__training()

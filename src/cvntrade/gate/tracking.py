"""A sweep in MLflow: one parent run per sweep and symbol, one child run per finished cell.

Both live in the symbol's training experiment `CVNTrade/{SYMBOL}/{STRATEGY}`, so the MLflow UI
shows each sweep as a parent with its cells nested under it, next to the trained versions.

* Parent (`sweep-{key}`): tags `sweep_key`, `sweep_role = parent` and `sweep_config` (the
  `SweepConfig` JSON: what promotion reads back to train exactly what the gate judged); params
  are the config's fields. A resumed sweep reuses its parent run. FINISHED when every cell is
  stored, FAILED when the run stopped on an error.
* Child (`{SYMBOL}-{cell}`): tags `mlflow.parentRunId`, `sweep_key`, `sweep_role = cell`,
  `sweep_cell`; params loss, gamma, alpha; metrics as in training runs: the overall out-of-fold
  metrics at step 0 and `fold_<metric>` at step = fold number.

MLflow errors become `DependencyError`/`NotFoundError` (`translated_mlflow_errors`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvntrade.errors import NotFoundError
from cvntrade.gate.config import SweepConfig
from cvntrade.gate.worker import CellOutcome
from cvntrade.registry.mlflow_errors import translated_mlflow_errors
from cvntrade.training.tracking import artifact_root, ensure_experiment_id, experiment_name

if TYPE_CHECKING:
    from mlflow import MlflowClient

PARENT, CELL = "parent", "cell"
CONFIG_TAG = "sweep_config"


class SweepTracker:
    """Parent and child runs of sweeps on one MLflow tracking store."""

    def __init__(self, tracking_uri: str, home: Path) -> None:
        self.tracking_uri = tracking_uri
        self.home = home
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client, created on first use."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    def start_parent(self, config: SweepConfig) -> str:
        """The sweep's parent run (reused when resuming), marked RUNNING; returns its id."""
        what = f"sweep {config.key} of {config.symbol}"
        with translated_mlflow_errors(what):
            experiment = self._experiment(config)
            found = self._find_parent(experiment, config.key)
            if found is not None:
                self.client.update_run(found, status="RUNNING")
                return found
            run = self.client.create_run(
                experiment,
                run_name=f"sweep-{config.key}",
                tags={
                    "sweep_key": config.key,
                    "sweep_role": PARENT,
                    CONFIG_TAG: config.canonical_json(),
                    "symbol": config.symbol,
                    "strategy": config.strategy,
                },
            )
            self._log(run.info.run_id, _config_params(config), {}, ())
        return str(run.info.run_id)

    def log_cell(self, parent_run_id: str, config: SweepConfig, outcome: CellOutcome) -> str:
        """A FINISHED child run with the cell's metrics; returns its id."""
        cell = outcome.job.cell
        with translated_mlflow_errors(f"sweep {config.key} cell {cell.name}"):
            run = self.client.create_run(
                self._experiment(config),
                run_name=f"{config.symbol}-{cell.name}",
                tags={
                    "mlflow.parentRunId": parent_run_id,
                    "sweep_key": config.key,
                    "sweep_role": CELL,
                    "sweep_cell": cell.name,
                    "loss_function": cell.loss,
                },
            )
            run_id = str(run.info.run_id)
            params = {
                "cell": cell.name,
                "loss_function": cell.loss_spec().config_value,
                "focal_gamma": cell.loss_spec().tag(cell.gamma),
                "focal_alpha": cell.loss_spec().tag(cell.alpha),
                "duration_s": f"{outcome.duration_s:.3f}",
            }
            self._log(run_id, params, outcome.overall, outcome.folds)
            self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def finish_parent(self, run_id: str, *, failed: bool = False) -> None:
        """Mark the parent FINISHED (every cell stored) or FAILED; never raises on FAILED."""
        if failed:
            from mlflow.exceptions import MlflowException

            with contextlib.suppress(MlflowException, OSError):
                self.client.set_terminated(run_id, "FAILED")
            return
        with translated_mlflow_errors(f"sweep run {run_id}"):
            self.client.set_terminated(run_id, "FINISHED")

    def load_config(self, symbol: str, strategy: str, sweep_key: str) -> SweepConfig:
        """The `SweepConfig` stored on a sweep's parent run; `NotFoundError` when missing."""
        with translated_mlflow_errors(f"sweep {sweep_key} of {symbol}"):
            experiment = self.client.get_experiment_by_name(experiment_name(symbol, strategy))
            run_id = (
                None
                if experiment is None
                else self._find_parent(experiment.experiment_id, sweep_key)
            )
            if run_id is None:
                raise NotFoundError(
                    f"sweep {sweep_key} of {symbol} {strategy} has no MLflow parent run in "
                    f"{self.tracking_uri}: re-run the sweep with the same options"
                )
            tags = self.client.get_run(run_id).data.tags
        return SweepConfig.from_json(tags[CONFIG_TAG])

    def _experiment(self, config: SweepConfig) -> str:
        return ensure_experiment_id(
            self.client,
            experiment_name(config.symbol, config.strategy),
            artifact_root(self.tracking_uri, self.home),
        )

    def _find_parent(self, experiment_id: str, sweep_key: str) -> str | None:
        found = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.sweep_key = '{sweep_key}' and tags.sweep_role = '{PARENT}'",
            max_results=1,
        )
        return str(found[0].info.run_id) if found else None

    def _log(
        self,
        run_id: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float],
        folds: tuple[Mapping[str, float], ...],
    ) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        entries: list[Any] = [Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())]
        for fold in folds:
            step = int(fold["fold"])
            entries += [
                Metric(f"fold_{k}", float(v), now, step)
                for k, v in sorted(fold.items())
                if k != "fold"
            ]
        self.client.log_batch(
            run_id, params=[Param(k, v) for k, v in sorted(params.items())], metrics=entries
        )


def _config_params(config: SweepConfig) -> dict[str, str]:
    values = config.model_dump(mode="json")
    params = {k: str(v) for k, v in values.items() if k not in ("params", "gammas", "alphas")}
    params["gammas"] = ",".join(f"{g:g}" for g in config.gammas)
    params["alphas"] = ",".join(f"{a:g}" for a in config.alphas)
    params.update({f"xgb_{k}": str(v) for k, v in config.params.items()})
    return params

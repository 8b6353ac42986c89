"""The outcome of one `run_training` call: the registered version and how good it is."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from cvntrade.training.bundle import ModelBundle

ProgressCallback = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)`, e.g. `("fold 2/5", 2, 7)`, after each step."""


@dataclass(frozen=True)
class TrainingResult:
    """A registered model version with its lineage and metrics.

    `metrics` are the overall out-of-fold metrics of the walk-forward (for `--recalibrate-only`:
    those on the recalibration window, plus `*_before` values with the champion's old
    calibration); `fold_metrics` has one dict per fold (`fold`, `train_rows`, `test_rows`,
    `temperature`, `threshold` and the metrics). `champion_version` is where the `champion`
    alias points after the run (this version when it was the model's first).
    """

    model_name: str
    version: int
    run_id: str
    symbol: str
    strategy: str
    loss_function: str
    focal_gamma: float | None
    focal_alpha: float | None
    calibration: str
    temperature: float
    threshold: float
    threshold_rule: str
    metrics: dict[str, float]
    fold_metrics: list[dict[str, float]]
    dataset_hash: str
    data_start: str
    data_end: str
    n_rows: int
    config_version: int
    git_sha: str
    champion_version: int | None
    recalibrated_from: int | None
    duration_s: float
    bundle: ModelBundle = field(repr=False, compare=False)
    interval: str = "1h"
    dropped: dict[str, int] = field(default_factory=dict)
    """Bars of the range that are not rows, per reason (warm_up, gap, horizon, filled, ...)."""
    degenerate_folds: tuple[int, ...] = ()
    """Walk-forward folds whose test block has one class only (metrics undefined there); a
    model with any never becomes champion automatically."""

    @property
    def became_champion(self) -> bool:
        """True when this run set the `champion` alias (first version of the model)."""
        return self.champion_version == self.version

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN → None), without the in-memory bundle."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "bundle"}
        out["metrics"] = _finite(self.metrics)
        out["fold_metrics"] = [_finite(m) for m in self.fold_metrics]
        out["became_champion"] = self.became_champion
        return out


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else v) for k, v in values.items()}

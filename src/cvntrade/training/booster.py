"""Fitting one XGBoost booster with either loss, and reading its margins.

Both losses are trained so that the booster's margin is the model's score: `binary:logistic`
margins are log-odds (XGBoost's intercept included), the focal booster starts from margin 0
(`base_score=0`, as a custom objective needs) and is trained with `focal_objective`. Predictions
always read margins (`predict_type="margin"`) and apply `sigmoid(margin / T)` afterwards, so
calibration is identical for both losses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from cvntrade.domain import LossFunction
from cvntrade.errors import UserInputError

if TYPE_CHECKING:
    import xgboost

LossName = Literal["binary", "focal"]
CONFIG_LOSS_NAMES: dict[str, LossName] = {
    LossFunction.BINARY.config_value: "binary",
    LossFunction.FOCAL.config_value: "focal",
}
# Below this many rows numba's parallel kernel loses more to thread hand-offs with XGBoost's
# OpenMP pool (both spin on the same cores) than it gains: ~8 ms per round on 3 000 rows.
SERIAL_OBJECTIVE_BELOW_ROWS = 200_000
# Below this many rows XGBoost itself trains on one thread whatever `nthread` says: a node's
# histogram on ~17 000 rows takes microseconds, so two OpenMP threads mostly meet at barriers,
# and on a busy 2-core machine a descheduled thread leaves the other spinning. That is why one
# `cvntrade train` (2 threads: 1.4 s idle, 30-33 s at load 6 on 17 445 rows) was far slower
# than the same rows in a sweep cell (1 thread). Same rule as the sweep (`SWEEP_PARAMS`).
THREADED_FROM_ROWS = 200_000
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LossSpec:
    """The training loss: `binary` (XGBoost's `binary:logistic`) or `focal` with gamma, alpha."""

    name: LossName
    gamma: float | None = None
    alpha: float | None = None

    def __post_init__(self) -> None:
        if self.name == "focal":
            if self.gamma is None or self.alpha is None:
                raise UserInputError("focal loss needs gamma and alpha")
            if not (np.isfinite(self.gamma) and self.gamma >= 0):
                raise UserInputError(f"--gamma must be a finite number >= 0 (got {self.gamma})")
            if not (0.0 < self.alpha < 1.0):
                raise UserInputError(f"--alpha must be in (0, 1) (got {self.alpha})")
        elif self.name == "binary":
            if self.gamma is not None or self.alpha is not None:
                raise UserInputError("gamma and alpha apply to the focal loss only")
        else:
            raise UserInputError(f"unknown loss {self.name!r}: use binary:logistic or focal")

    @property
    def config_value(self) -> str:
        """The `CVN_LOSS_FUNCTION` spelling: `binary:logistic` or `focal`."""
        return LossFunction(self.name).config_value

    def tag(self, value: float | None) -> str:
        """A focal parameter as an MLflow tag value (`none` for the binary loss)."""
        return "none" if value is None else repr(float(value))


@dataclass(frozen=True, slots=True)
class BoosterParams:
    """XGBoost hyper-parameters shared by both losses (so comparisons are like for like)."""

    rounds: int = 200
    max_depth: int = 4
    learning_rate: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 1.0
    reg_lambda: float = 1.0
    nthread: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise UserInputError(f"--rounds must be >= 1 (got {self.rounds})")
        if self.max_depth < 1 or self.nthread < 1:
            raise UserInputError("max_depth and nthread must be >= 1")
        if not (0 < self.learning_rate <= 1 and 0 < self.subsample <= 1):
            raise UserInputError("learning_rate and subsample must be in (0, 1]")
        if not 0 < self.colsample_bytree <= 1:
            raise UserInputError("colsample_bytree must be in (0, 1]")

    def xgboost_params(self, loss: LossSpec) -> dict[str, Any]:
        """The `params` dict for `xgboost.train` with this loss."""
        params: dict[str, Any] = {
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "nthread": self.nthread,
            "seed": self.seed,
        }
        if loss.name == "binary":
            params["objective"] = "binary:logistic"
        else:
            params["base_score"] = 0.0
        return params


def train_booster(
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    loss: LossSpec,
    params: BoosterParams,
    feature_names: Sequence[str],
) -> xgboost.Booster:
    """Fit one booster on these rows (labels 0/1) with `loss`; no early stopping."""
    import xgboost

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    threads = training_threads(params, x.shape[0])
    matrix = xgboost.DMatrix(x, label=y, feature_names=list(feature_names), nthread=threads)
    xgb_params = {**params.xgboost_params(loss), "nthread": threads}
    if loss.name == "binary":
        return xgboost.train(xgb_params, matrix, num_boost_round=params.rounds)
    from cvntrade.training.xgboost.focal_loss import focal_objective

    assert loss.gamma is not None and loss.alpha is not None  # checked by LossSpec
    objective = focal_objective(loss.gamma, loss.alpha)
    with _serial_numba(x.shape[0] < SERIAL_OBJECTIVE_BELOW_ROWS):
        return xgboost.train(xgb_params, matrix, num_boost_round=params.rounds, obj=objective)


def training_threads(params: BoosterParams, rows: int) -> int:
    """XGBoost threads to train on `rows` rows: 1 below `THREADED_FROM_ROWS`, else nthread.

    Small datasets gain nothing from OpenMP and lose a lot on a busy machine (see the constant).
    """
    return params.nthread if rows >= THREADED_FROM_ROWS else 1


def booster_margins(booster: xgboost.Booster, features: npt.ArrayLike) -> FloatArray:
    """The booster's raw margins for these rows, as float64."""
    x = np.asarray(features, dtype=np.float64)
    margins = booster.inplace_predict(x, predict_type="margin", validate_features=False)
    return np.asarray(margins, dtype=np.float64).reshape(-1)


@contextmanager
def _serial_numba(enabled: bool) -> Iterator[None]:
    """Run numba's parallel kernels on one thread (this thread only) while active.

    The focal objective's results do not depend on the thread count; only its speed does.
    """
    if not enabled:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)

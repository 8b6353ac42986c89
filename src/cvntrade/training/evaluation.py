"""Walk-forward evaluation: out-of-fold margins, honest per-fold metrics, final T and threshold.

Fold `k` trains a booster on its purged training rows and predicts margins for its test block.
Its temperature and trading threshold are chosen only from what was known when the block
started: the out-of-fold margins of the earlier folds whose labels had ended (plus the embargo)
before the block's first signal bar. Fold 1 has no such history and uses `T = 1` and the
strategy's break-even win rate. The overall metrics are computed on all out-of-fold rows with
those per-fold temperatures and thresholds, so they are out-of-sample throughout.

The final model trains on every row; its temperature is fitted on all out-of-fold margins and
its threshold chosen on all out-of-fold probabilities (as scikit-learn's
`CalibratedClassifierCV(ensemble=False)` calibrates a full-data model on cross-validated
predictions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cvntrade.features import Dataset
from cvntrade.market import interval_ms
from cvntrade.training.booster import BoosterParams, LossSpec, booster_margins, train_booster
from cvntrade.training.calibration import calibrated_probability, fit_temperature
from cvntrade.training.context import iso
from cvntrade.training.data import binary_labels, feature_matrix, trade_outcomes
from cvntrade.training.metrics import classification_metrics
from cvntrade.training.simulation import (
    DEFAULT_MIN_TRADES,
    ThresholdChoice,
    TradeOutcomes,
    choose_threshold,
    simulate_trades,
)
from cvntrade.training.walk_forward import Scheme, as_epoch_ms, purged_walk_forward

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MIN_TRAIN_ROWS = 50


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """How to validate: folds, scheme, embargo (bars; None = one label horizon), trades."""

    n_folds: int = 5
    scheme: Scheme = "expanding"
    embargo_bars: int | None = None
    rolling_blocks: int = 2
    min_trades: int = DEFAULT_MIN_TRADES


@dataclass(frozen=True, slots=True)
class FoldReport:
    """One fold: sizes, time ranges (ISO, UTC), its temperature, threshold and metrics."""

    number: int
    train_rows: int
    test_rows: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    temperature: float
    threshold: float
    threshold_rule: str
    metrics: dict[str, float] = field(default_factory=dict)

    def as_metrics(self) -> dict[str, float]:
        """Flat numbers for MLflow and JSON: fold, sizes, temperature, threshold and metrics."""
        return {
            "fold": float(self.number),
            "train_rows": float(self.train_rows),
            "test_rows": float(self.test_rows),
            "temperature": self.temperature,
            "threshold": self.threshold,
            **self.metrics,
        }


@dataclass(frozen=True, slots=True, eq=False)
class WalkForwardResult:
    """Everything the walk-forward produced (see the module docstring)."""

    folds: tuple[FoldReport, ...]
    oof_rows: IntArray
    oof_margins: FloatArray
    oof_probs: FloatArray
    metrics: dict[str, float]
    temperature: float
    threshold: ThresholdChoice


def evaluate_outcome(
    probs: FloatArray, labels: FloatArray, threshold: float | FloatArray, outcomes: TradeOutcomes
) -> dict[str, float]:
    """Classification metrics plus the simulated trades' net expectancy and count."""
    trades = simulate_trades(probs, threshold, outcomes)
    return {
        **classification_metrics(probs, labels, threshold),
        "net_expectancy_pct": trades.net_expectancy_pct,
        "n_trades": float(trades.n_trades),
    }


def walk_forward(
    dataset: Dataset,
    loss: LossSpec,
    params: BoosterParams,
    *,
    settings: ValidationSettings,
    calibrate: bool,
    cost_pct: float,
    break_even: float,
    on_fold: Callable[[int], None] | None = None,
) -> WalkForwardResult:
    """Run the purged walk-forward of `dataset` and choose the final temperature and threshold."""
    stamps = as_epoch_ms(dataset.timestamps)
    ends = as_epoch_ms(dataset.label_end)
    embargo_bars = dataset.horizon_bars if settings.embargo_bars is None else settings.embargo_bars
    embargo_ms = int(embargo_bars * interval_ms(dataset.interval))
    folds = purged_walk_forward(
        stamps,
        ends,
        n_folds=settings.n_folds,
        scheme=settings.scheme,
        embargo_ms=embargo_ms,
        rolling_blocks=settings.rolling_blocks,
        min_train=MIN_TRAIN_ROWS,
    )
    x, y = feature_matrix(dataset), binary_labels(dataset)
    names = tuple(str(c) for c in dataset.features.columns)
    outcomes = trade_outcomes(dataset, cost_pct)
    margins = np.full(len(dataset), np.nan)
    probs = np.full(len(dataset), np.nan)
    thresholds = np.full(len(dataset), np.nan)
    reports = []
    for fold in folds:
        known = np.flatnonzero(~np.isnan(margins) & (ends + embargo_ms <= stamps[fold.test[0]]))
        temperature = fit_temperature(margins[known], y[known]) if calibrate else 1.0
        choice = choose_threshold(
            calibrated_probability(margins[known], temperature),
            outcomes.take(known),
            break_even=break_even,
            min_trades=settings.min_trades,
        )
        booster = train_booster(x[fold.train], y[fold.train], loss, params, names)
        margins[fold.test] = booster_margins(booster, x[fold.test])
        probs[fold.test] = calibrated_probability(margins[fold.test], temperature)
        thresholds[fold.test] = choice.threshold
        metrics = evaluate_outcome(
            probs[fold.test], y[fold.test], choice.threshold, outcomes.take(fold.test)
        )
        reports.append(
            FoldReport(
                number=fold.number,
                train_rows=int(fold.train.shape[0]),
                test_rows=int(fold.test.shape[0]),
                train_start=iso(dataset.timestamps[fold.train[0]]),
                train_end=iso(dataset.timestamps[fold.train[-1]]),
                test_start=iso(dataset.timestamps[fold.test[0]]),
                test_end=iso(dataset.timestamps[fold.test[-1]]),
                temperature=temperature,
                threshold=choice.threshold,
                threshold_rule=choice.rule,
                metrics=metrics,
            )
        )
        if on_fold is not None:
            on_fold(fold.number)
    oof = np.concatenate([fold.test for fold in folds])
    overall = evaluate_outcome(probs[oof], y[oof], thresholds[oof], outcomes.take(oof))
    final_temperature = fit_temperature(margins[oof], y[oof]) if calibrate else 1.0
    final_choice = choose_threshold(
        calibrated_probability(margins[oof], final_temperature),
        outcomes.take(oof),
        break_even=break_even,
        min_trades=settings.min_trades,
    )
    return WalkForwardResult(
        folds=tuple(reports),
        oof_rows=oof,
        oof_margins=margins[oof],
        oof_probs=probs[oof],
        metrics=overall,
        temperature=final_temperature,
        threshold=final_choice,
    )

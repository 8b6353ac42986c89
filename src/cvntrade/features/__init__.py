"""Features without look-ahead, triple-barrier labels, and the dataset builder that joins them."""

from __future__ import annotations

from cvntrade.features.dataset import Dataset, build_dataset, dataset_from_bars, horizon_bars_for
from cvntrade.features.gaps import DROP_REASONS, horizon_complete, usable_bars, warmup_first_index
from cvntrade.features.labels import (
    EXIT_HORIZON,
    EXIT_NONE,
    EXIT_REASONS,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    TripleBarrierLabels,
    triple_barrier,
)
from cvntrade.features.technical import FEATURE_NAMES, LOOKBACK_BARS, compute_features

__all__ = [
    "DROP_REASONS",
    "EXIT_HORIZON",
    "EXIT_NONE",
    "EXIT_REASONS",
    "EXIT_STOP_LOSS",
    "EXIT_TAKE_PROFIT",
    "FEATURE_NAMES",
    "LOOKBACK_BARS",
    "Dataset",
    "TripleBarrierLabels",
    "build_dataset",
    "compute_features",
    "dataset_from_bars",
    "horizon_bars_for",
    "horizon_complete",
    "triple_barrier",
    "usable_bars",
    "warmup_first_index",
]

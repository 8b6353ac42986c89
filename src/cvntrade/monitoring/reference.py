"""The monitoring reference a model carries from training (key `monitoring_reference` of
`bundle.json`): per-feature quantile bin edges and proportions of the training window, the
histogram of its out-of-fold probabilities, their sharpness and ECE_HOLD.

Bundles trained before this existed have no such key: `parse_reference` returns None and the
signals say "no reference" instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.monitoring.signals import (
    PSI_BINS,
    bin_proportions,
    ece_equal_mass,
    probability_histogram,
    quantile_edges,
    sharpness,
)

REFERENCE_KEY = "monitoring_reference"
REFERENCE_FORMAT = "cvntrade-monitoring-reference-v1"


@dataclass(frozen=True, slots=True)
class FeatureReference:
    """Training-window bins of one feature: inner edges and the share of rows per bin."""

    edges: tuple[float, ...]
    proportions: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Reference:
    """What monitoring compares the present with, fixed at training time."""

    features: Mapping[str, FeatureReference]
    probability_histogram: tuple[float, ...]
    sharpness: float
    ece_hold: float
    n_rows: int
    window_start: str
    window_end: str


def build_reference(
    features: pd.DataFrame,
    probs: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    window: tuple[str, str],
    bins: int = PSI_BINS,
) -> dict[str, Any]:
    """The JSON-ready reference of a training run (features of its window, OOF probabilities)."""
    p = np.asarray(probs, dtype=np.float64)
    per_feature = {}
    for name in features.columns:
        values = features[name].to_numpy(np.float64)
        edges = quantile_edges(values, bins)
        per_feature[str(name)] = {
            "edges": edges.tolist(),
            "proportions": bin_proportions(values, edges).tolist(),
        }
    return {
        "format": REFERENCE_FORMAT,
        "features": per_feature,
        "probability_histogram": probability_histogram(p).tolist(),
        "sharpness": sharpness(p),
        "ece_hold": ece_equal_mass(p, labels),
        "n_rows": len(features),
        "window_start": window[0],
        "window_end": window[1],
    }


def parse_reference(meta: Mapping[str, Any]) -> Reference | None:
    """The reference in a bundle's metadata, None when the bundle predates it."""
    raw = meta.get(REFERENCE_KEY)
    if not isinstance(raw, Mapping) or raw.get("format") != REFERENCE_FORMAT:
        return None
    return Reference(
        features={
            name: FeatureReference(tuple(f["edges"]), tuple(f["proportions"]))
            for name, f in raw["features"].items()
        },
        probability_histogram=tuple(raw["probability_histogram"]),
        sharpness=float(raw["sharpness"]),
        ece_hold=float(raw["ece_hold"]),
        n_rows=int(raw["n_rows"]),
        window_start=str(raw["window_start"]),
        window_end=str(raw["window_end"]),
    )


def read_reference(directory: Path) -> Reference | None:
    """The reference stored in a model artifact directory's `bundle.json` (None if absent)."""
    from cvntrade.training.bundle import BUNDLE_FILE

    path = directory / BUNDLE_FILE
    if not path.is_file():
        return None
    return parse_reference(json.loads(path.read_text()))


def load_reference(tracking_uri: str, model_name: str, version: int) -> Reference | None:
    """The reference of a registered version (reads only `bundle.json`, not the booster)."""
    from mlflow import MlflowClient

    from cvntrade.registry.mlflow_errors import translated_mlflow_errors
    from cvntrade.training.bundle import _local_directory

    with translated_mlflow_errors(f"model {model_name!r} version {version}"):
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        source = str(client.get_model_version(model_name, str(version)).source)
    local = _local_directory(source)
    return None if local is None else read_reference(local)

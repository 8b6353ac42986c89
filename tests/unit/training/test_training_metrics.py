"""Hold-out metrics against independent references: a slow ECE loop and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, f1_score, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss

from cvntrade.training.metrics import (
    brier,
    classification_metrics,
    ece_equal_mass,
    f1_buy,
    log_loss,
    roc_auc,
    sharpness,
)


def ece_reference(probs: list[float], labels: list[int], bins: int) -> float:
    """Slow, literal ECE: each row placed by counting the quantile edges <= p, then averaged.

    The edges are NumPy's quantiles (the definition names them); a hand-rolled interpolation
    would differ in the last bit and move rows that sit exactly on an edge.
    """
    n = len(probs)
    edges = [float(np.quantile(probs, k / bins)) for k in range(1, bins)]
    groups: dict[int, list[tuple[float, int]]] = {}
    for p, y in zip(probs, labels, strict=True):
        groups.setdefault(sum(1 for e in edges if e <= p), []).append((p, y))
    total = 0.0
    for rows in groups.values():
        mean_p = sum(p for p, _ in rows) / len(rows)
        mean_y = sum(y for _, y in rows) / len(rows)
        total += len(rows) / n * abs(mean_p - mean_y)
    return total


pairs = st.integers(1, 150).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
            | st.floats(0, 1, allow_nan=False, allow_subnormal=False),
            min_size=n,
            max_size=n,
        ),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=80, deadline=None)
@given(pairs, st.sampled_from([1, 3, 15, 40]))
def test_ece_matches_slow_reference(pair: tuple[list[float], list[int]], bins: int) -> None:
    probs, labels = pair
    assert ece_equal_mass(probs, labels, bins) == pytest.approx(
        ece_reference(probs, labels, bins), abs=1e-12
    )


def test_ece_by_hand() -> None:
    probs = [0.1, 0.2, 0.8, 0.9]
    labels = [0, 1, 1, 1]
    # two bins split at the median 0.5: {0.1, 0.2} mean 0.15 vs 0.5; {0.8, 0.9} 0.85 vs 1.0
    assert ece_equal_mass(probs, labels, bins=2) == pytest.approx(0.5 * 0.35 + 0.5 * 0.15)
    # ties share one bin: ten rows at 0.3 with one positive are off by |0.3 - 0.1|
    assert ece_equal_mass([0.3] * 10, [1] + [0] * 9, bins=15) == pytest.approx(0.2)
    # 30 distinct probabilities in 15 bins: two rows per bin
    spread = np.linspace(0.01, 0.99, 30)
    assert ece_equal_mass(spread, (spread > 0.5).astype(int)) == pytest.approx(
        ece_reference(list(spread), list((spread > 0.5).astype(int)), 15)
    )


def test_perfectly_calibrated_probabilities_have_small_ece() -> None:
    rng = np.random.default_rng(0)
    probs = rng.random(200_000)
    labels = (rng.random(probs.size) < probs).astype(int)
    assert ece_equal_mass(probs, labels) < 0.01
    assert ece_equal_mass(np.clip(probs + 0.1, 0, 1), labels) > 0.08


@settings(max_examples=60, deadline=None)
@given(pairs, st.floats(0, 1))
def test_auc_log_loss_brier_f1_match_scikit_learn(
    pair: tuple[list[float], list[int]], threshold: float
) -> None:
    probs, labels = np.array(pair[0]), np.array(pair[1])
    if 0 < labels.sum() < labels.size:
        assert roc_auc(probs, labels) == pytest.approx(roc_auc_score(labels, probs), abs=1e-12)
    else:
        assert math.isnan(roc_auc(probs, labels))
    assert log_loss(probs, labels) == pytest.approx(
        sk_log_loss(labels, np.clip(probs, 1e-15, 1 - 1e-15), labels=[0, 1]), rel=1e-9
    )
    assert brier(probs, labels) == pytest.approx(brier_score_loss(labels, probs), abs=1e-12)
    predicted = (probs >= threshold).astype(int)
    expected_f1 = f1_score(labels, predicted, pos_label=1, zero_division=0.0)
    assert f1_buy(probs, labels, threshold) == pytest.approx(expected_f1, abs=1e-12)


def test_sharpness_is_the_population_std_of_probabilities() -> None:
    assert sharpness([0.2, 0.4, 0.6, 0.8]) == pytest.approx(np.std([0.2, 0.4, 0.6, 0.8]))
    assert sharpness([0.3] * 5) == 0.0


def test_classification_metrics_names_and_per_row_thresholds() -> None:
    probs = np.array([0.2, 0.6, 0.7, 0.4])
    labels = np.array([0, 1, 0, 1])
    metrics = classification_metrics(probs, labels, np.array([0.5, 0.5, 0.8, 0.3]))
    assert set(metrics) == {
        "auc",
        "log_loss",
        "brier",
        "ece_hold",
        "f1_buy",
        "sharpness",
        "positive_rate",
        "n_samples",
    }
    # rows 2 and 4 are BUY (0.6 >= 0.5, 0.4 >= 0.3), both right: F1 = 1
    assert metrics["f1_buy"] == 1.0
    assert metrics["n_samples"] == 4.0

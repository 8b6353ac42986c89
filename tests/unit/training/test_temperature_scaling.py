"""Temperature scaling against a brute-force grid search of the same log loss."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cvntrade.training.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    calibrated_probability,
    fit_temperature,
    margin_log_loss,
    sigmoid,
)

GRID = np.geomspace(MIN_TEMPERATURE, MAX_TEMPERATURE, 6_001)


def grid_reference(margins: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Slow reference: the log loss of sigmoid(m / T) computed naively at every grid point."""
    best_t, best_loss = 1.0, np.inf
    for t in GRID:
        p = np.clip(1.0 / (1.0 + np.exp(-margins / t)), 1e-300, 1.0 - 1e-16)
        loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
        if loss < best_loss:
            best_t, best_loss = float(t), float(loss)
    return best_t, best_loss


def sample(seed: int, n: int, true_temperature: float, scale: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    margins = rng.normal(0.3, scale, n)
    labels = (rng.random(n) < sigmoid(margins / true_temperature)).astype(float)
    return margins, labels


@pytest.mark.parametrize(
    ("seed", "true_temperature", "scale"),
    [(0, 2.0, 2.0), (1, 0.5, 0.7), (2, 1.0, 1.5), (3, 4.0, 5.0), (4, 0.2, 0.3)],
)
def test_fit_matches_brute_force_grid(seed: int, true_temperature: float, scale: float) -> None:
    margins, labels = sample(seed, 400, true_temperature, scale)
    fitted = fit_temperature(margins, labels)
    grid_t, grid_loss = grid_reference(margins, labels)
    assert margin_log_loss(margins, labels, fitted) <= grid_loss + 1e-10
    assert abs(np.log(fitted) - np.log(grid_t)) < 2e-3  # grid step is 1e-3 in log T


def test_fit_recovers_the_temperature_that_generated_the_labels() -> None:
    margins, labels = sample(7, 100_000, 2.5, 3.0)
    assert fit_temperature(margins, labels) == pytest.approx(2.5, rel=0.05)


def test_nothing_to_learn_gives_temperature_one() -> None:
    assert fit_temperature([], []) == 1.0
    assert fit_temperature([0.5, -1.0, 2.0], [1, 1, 1]) == 1.0
    assert fit_temperature([0.0, 0.0, 0.0], [0, 1, 0]) == 1.0


def test_backwards_margins_flatten_to_the_largest_temperature() -> None:
    margins = np.array([-3.0, -2.0, 2.0, 3.0] * 10)
    labels = np.array([1, 1, 0, 0] * 10)
    assert fit_temperature(margins, labels) == pytest.approx(MAX_TEMPERATURE)


def test_calibrated_probability_is_sigmoid_of_scaled_margin_without_overflow() -> None:
    margins = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = calibrated_probability(margins, 2.0)
    expected = [np.exp(-500.0), 1 / (1 + np.exp(1.0)), 0.5, 1 / (1 + np.exp(-1.5)), 1.0]
    np.testing.assert_allclose(probs, expected, rtol=1e-15, atol=0)


def test_margin_log_loss_equals_naive_cross_entropy() -> None:
    margins, labels = sample(5, 500, 1.0, 2.0)
    p = 1 / (1 + np.exp(-margins / 1.7))
    naive = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert margin_log_loss(margins, labels, 1.7) == pytest.approx(naive, rel=1e-12)

"""The numba XGBoost objective: equal to the float64 reference (floored), and it trains.

The float64 reference `focal_grad_hess` is itself checked against a high-precision Decimal
reference in `test_focal_loss.py`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xgboost
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from cvntrade.errors import UserInputError
from cvntrade.training.xgboost.focal_loss import (
    focal_eval_metric,
    focal_grad_hess,
    focal_loss,
    focal_objective,
)

_FLOAT32_RTOL = 2e-6  # float32 stores round to 6e-8; float64 maths inside adds next to nothing


def _dmatrix(
    label: NDArray[np.float64], weight: NDArray[np.float64] | None = None
) -> xgboost.DMatrix:
    """A one-feature DMatrix carrying ``label`` (and ``weight``): all the objective reads."""
    return xgboost.DMatrix(np.zeros((label.size, 1)), label=label, weight=weight)


def _floored_reference(
    margin: NDArray[np.float32], label: NDArray[np.float64], gamma: float, alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    grad, hess = focal_grad_hess(margin.astype(np.float64), label, gamma, alpha)
    return grad, np.maximum(hess, 1e-6)


def _assert_float32_close(actual: NDArray[np.float32], expected: NDArray[np.float64]) -> None:
    """Close to float32 round-off; float32 underflow to zero/subnormals allowed at ~1e-38."""
    np.testing.assert_allclose(actual, expected, rtol=_FLOAT32_RTOL, atol=1e-37)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.5, 1.0, 1.5, 2.0, 5.0])
def test_objective_equals_floored_float64_reference_within_float32_rounding(
    gamma: float,
) -> None:
    rng = np.random.default_rng(7)
    extremes = np.array([-50.0, -20.0, -1e-7, 0.0, 1e-7, 20.0, 50.0])
    margin = np.concatenate([rng.normal(0.0, 4.0, 2_000), extremes, extremes]).astype(np.float32)
    label = np.concatenate([rng.integers(0, 2, 2_000), np.zeros(7), np.ones(7)]).astype(float)

    grad, hess = focal_objective(gamma, 0.25)(margin, _dmatrix(label))

    expected_grad, expected_hess = _floored_reference(margin, label, gamma, 0.25)
    assert grad.dtype == np.float32 and hess.dtype == np.float32
    assert grad.shape == hess.shape == margin.shape
    _assert_float32_close(grad, expected_grad)
    _assert_float32_close(hess, expected_hess)


@settings(max_examples=50, deadline=None)
@given(
    margin=st.lists(st.floats(-50.0, 50.0, width=32), min_size=1, max_size=20),
    gamma=st.one_of(st.sampled_from([0.0, 1.0, 2.0]), st.floats(0.0, 6.0)),
    alpha=st.floats(0.01, 0.99),
    data=st.data(),
)
def test_objective_matches_reference_for_any_margins_gamma_and_alpha(
    margin: list[float], gamma: float, alpha: float, data: st.DataObject
) -> None:
    label = np.array(
        data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(margin), max_size=len(margin)))
    )
    margin_32 = np.array(margin, dtype=np.float32)
    grad, hess = focal_objective(gamma, alpha)(margin_32, _dmatrix(label))
    expected_grad, expected_hess = _floored_reference(margin_32, label, gamma, alpha)
    _assert_float32_close(grad, expected_grad)
    _assert_float32_close(hess, expected_hess)


def test_every_hessian_is_at_least_the_floor_although_the_exact_one_is_negative() -> None:
    margin = np.linspace(-8.0, 8.0, 401, dtype=np.float32)
    label = np.ones(margin.size)
    _, exact_hess = focal_grad_hess(margin, label, 2.0, 0.25)
    _, hess = focal_objective(2.0, 0.25, hess_floor=1e-3)(margin, _dmatrix(label))
    assert np.any(exact_hess < 0)
    assert hess.min() >= np.float32(1e-3)
    np.testing.assert_allclose(hess, np.maximum(exact_hess, 1e-3), rtol=_FLOAT32_RTOL)


def test_sample_weights_multiply_gradient_and_floored_hessian() -> None:
    rng = np.random.default_rng(3)
    margin = rng.normal(0.0, 3.0, 500).astype(np.float32)
    label = rng.integers(0, 2, 500).astype(float)
    weight = rng.uniform(0.0, 3.0, 500)
    grad, hess = focal_objective(1.5, 0.4)(margin, _dmatrix(label, weight))
    expected_grad, expected_hess = _floored_reference(margin, label, 1.5, 0.4)
    # DMatrix stores weights as float32.
    weight_32 = weight.astype(np.float32).astype(np.float64)
    _assert_float32_close(grad, weight_32 * expected_grad)
    _assert_float32_close(hess, weight_32 * expected_hess)


def test_margins_shaped_n_by_1_are_accepted() -> None:
    label = np.array([0.0, 1.0, 1.0])
    margin = np.array([[0.5], [-1.0], [2.0]], dtype=np.float32)
    grad, _ = focal_objective(2.0, 0.25)(margin, _dmatrix(label))
    assert grad.shape == (3,)


@pytest.mark.parametrize("bad_label", [0.5, 2.0, -1.0])  # XGBoost itself refuses NaN labels
def test_labels_other_than_0_and_1_are_a_user_input_error(bad_label: float) -> None:
    objective = focal_objective(2.0, 0.25)
    with pytest.raises(UserInputError, match="labels 0 or 1"):
        objective(np.zeros(3, dtype=np.float32), _dmatrix(np.array([0.0, 1.0, bad_label])))


def test_a_margin_count_that_differs_from_the_label_count_is_a_user_input_error() -> None:
    with pytest.raises(UserInputError, match="6 margins for 3 labels"):
        focal_objective(2.0, 0.25)(np.zeros(6, np.float32), _dmatrix(np.array([0.0, 1.0, 0.0])))


@pytest.mark.parametrize(
    ("gamma", "alpha", "hess_floor", "message"),
    [
        (-1.0, 0.25, 1e-6, "gamma must be a finite number >= 0"),
        (2.0, 0.0, 1e-6, "alpha must be strictly between 0 and 1"),
        (2.0, 1.5, 1e-6, "alpha must be strictly between 0 and 1"),
        (2.0, 0.25, 0.0, "hess_floor must be a finite number > 0"),
        (2.0, 0.25, math.nan, "hess_floor must be a finite number > 0"),
    ],
)
def test_invalid_parameters_are_rejected_when_the_objective_is_built(
    gamma: float, alpha: float, hess_floor: float, message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        focal_objective(gamma, alpha, hess_floor)


def test_eval_metric_is_the_weighted_mean_focal_loss_of_the_margins() -> None:
    margin = np.array([-2.0, 0.5, 3.0, -0.1])
    label = np.array([0.0, 1.0, 0.0, 1.0])
    weight = np.array([1.0, 2.0, 0.5, 1.0])
    losses = focal_loss(margin, label, 2.0, 0.25)
    metric = focal_eval_metric(2.0, 0.25)
    name, value = metric(margin, _dmatrix(label, weight))
    assert name == "focal_loss"
    assert value == pytest.approx(float(np.average(losses, weights=weight)), rel=1e-6)
    assert metric(margin, _dmatrix(label))[1] == pytest.approx(float(losses.mean()))


def _separable_data(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], ...]:
    """Label 1 when a noisy linear score of 5 features is positive (imbalanced ~30 %)."""
    features = rng.normal(size=(n, 5))
    score = features @ np.array([1.5, -1.0, 0.8, 0.0, 0.0]) + 0.3 * rng.normal(size=n)
    label = (score > 0.7).astype(float)
    return features, label


def test_xgboost_trained_with_the_focal_objective_learns_a_separable_problem() -> None:
    rng = np.random.default_rng(11)
    train_x, train_y = _separable_data(rng, 2_000)
    test_x, test_y = _separable_data(rng, 1_000)
    dtrain = xgboost.DMatrix(train_x, label=train_y)
    dtest = xgboost.DMatrix(test_x, label=test_y)
    history: dict[str, dict[str, list[float]]] = {}

    booster = xgboost.train(
        {"tree_method": "hist", "max_depth": 3, "eta": 0.3, "base_score": 0.0, "nthread": 1},
        dtrain,
        num_boost_round=30,
        obj=focal_objective(2.0, 0.25),
        custom_metric=focal_eval_metric(2.0, 0.25),
        evals=[(dtest, "test")],
        evals_result=history,
        verbose_eval=False,
    )

    margin = booster.predict(dtest)  # custom objective: raw margins, not probabilities
    probability = 1.0 / (1.0 + np.exp(-margin))
    assert roc_auc_score(test_y, probability) > 0.8
    focal_history = history["test"]["focal_loss"]
    assert focal_history[-1] < 0.5 * focal_history[0]

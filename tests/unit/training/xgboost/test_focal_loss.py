"""Focal loss reference maths: checked against an independent 120-digit Decimal reference.

The reference evaluates the loss naively (no stability tricks) in 120-digit decimal arithmetic
and differentiates it by central finite differences with a 1e-20 step, so truncation and
round-off errors (< 1e-30 relative) are far below anything float64 can show.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.special import expit

from cvntrade.errors import UserInputError
from cvntrade.training.xgboost.focal_loss import focal_grad_hess, focal_loss

_DIGITS = 120
_STEP = Decimal("1e-20")


def _decimal_loss(z: Decimal, label: int, gamma: Decimal, alpha: Decimal) -> Decimal:
    """``-alpha_t (1 - p_t)**gamma ln(p_t)`` straight from the definition, in Decimal."""
    p = 1 / (1 + (-z).exp())
    p_t = p if label == 1 else 1 - p
    alpha_t = alpha if label == 1 else 1 - alpha
    q = 1 - p_t
    q_gamma = Decimal(1) if gamma == 0 else q**gamma
    return -alpha_t * q_gamma * p_t.ln()


def _reference(margin: float, label: int, gamma: float, alpha: float) -> tuple[float, ...]:
    """(loss, d loss/dz, d2 loss/dz2) at ``margin`` by 120-digit central differences."""
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        z, g, a = Decimal(margin), Decimal(gamma), Decimal(alpha)
        at_z = _decimal_loss(z, label, g, a)
        up = _decimal_loss(z + _STEP, label, g, a)
        down = _decimal_loss(z - _STEP, label, g, a)
        first = (up - down) / (2 * _STEP)
        second = (up - 2 * at_z + down) / (_STEP * _STEP)
        return float(at_z), float(first), float(second)


def _hessian_scale(
    margin: NDArray[np.float64], label: NDArray[np.float64], gamma: float, alpha: float
) -> NDArray[np.float64]:
    """Sum of the absolute terms of the hessian: the size of float64 round-off it can carry.

    The hessian crosses zero, so near the crossing only an absolute error bound is meaningful.
    """
    z_t = np.where(label == 1, margin, -margin)
    p_t, q, ell = expit(z_t), expit(-z_t), np.logaddexp(0.0, -z_t)
    alpha_t = np.where(label == 1, alpha, 1 - alpha)
    scale: NDArray[np.float64] = (
        alpha_t * p_t * q**gamma * (gamma**2 * p_t * ell + q * (2 * gamma + 1 + gamma * ell))
    )
    return scale


def _assert_matches_reference(
    margin: NDArray[np.float64],
    label: NDArray[np.float64],
    gamma: float,
    alpha: float,
    *,
    rtol: float,
) -> None:
    """Loss, gradient and hessian agree with the Decimal reference to ``rtol``.

    The hessian also gets an absolute allowance of 1e-13 times its term scale (cancellation
    near its zero crossing, where no float64 formula can be relatively accurate).
    """
    loss = focal_loss(margin, label, gamma, alpha)
    grad, hess = focal_grad_hess(margin, label, gamma, alpha)
    expected = np.array(
        [_reference(float(z), int(y), gamma, alpha) for z, y in zip(margin, label, strict=True)]
    )
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
    np.testing.assert_allclose(loss, expected[:, 0], rtol=rtol, atol=0)
    np.testing.assert_allclose(grad, expected[:, 1], rtol=rtol, atol=0)
    hess_error = np.abs(hess - expected[:, 2])
    allowed = rtol * np.abs(expected[:, 2]) + 1e-13 * _hessian_scale(margin, label, gamma, alpha)
    assert np.all(hess_error <= allowed), (margin[hess_error > allowed], hess[hess_error > allowed])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_grad_hess_match_finite_differences_to_1e6_on_margins_within_20(
    gamma: float, alpha: float
) -> None:
    rng = np.random.default_rng(int(gamma * 100 + alpha * 10))
    margin = rng.uniform(-20.0, 20.0, size=16)
    label = np.tile([0.0, 1.0], 8)
    grad, hess = focal_grad_hess(margin, label, gamma, alpha)
    expected = np.array(
        [_reference(float(z), int(y), gamma, alpha) for z, y in zip(margin, label, strict=True)]
    )
    np.testing.assert_allclose(grad, expected[:, 1], rtol=1e-6, atol=0)
    np.testing.assert_allclose(hess, expected[:, 2], rtol=1e-6, atol=0)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.5, 1.0, 1.5, 2.0, 5.0])
def test_loss_grad_hess_are_finite_and_accurate_up_to_margin_50(gamma: float) -> None:
    extremes = np.array([-50.0, -49.5, -37.0, -30.0, -1e-9, 0.0, 1e-9, 30.0, 37.0, 49.5, 50.0])
    margin = np.concatenate([extremes, extremes])
    label = np.repeat([0.0, 1.0], extremes.size)
    _assert_matches_reference(margin, label, gamma, 0.25, rtol=1e-10)


def test_gradient_stays_exact_for_small_gamma_when_the_sample_is_already_right() -> None:
    # gamma < 1: a naive (1 - p_t)**(gamma - 1) factor would be inf here (p_t rounds to 1).
    grad, hess = focal_grad_hess(np.array([45.0]), np.array([1.0]), 0.3, 0.25)
    _, expected_grad, expected_hess = _reference(45.0, 1, 0.3, 0.25)
    assert grad[0] == pytest.approx(expected_grad, rel=1e-12)
    assert hess[0] == pytest.approx(expected_hess, rel=1e-12)
    assert grad[0] < 0 < hess[0]


def test_gamma_0_gives_alpha_weighted_logistic_gradient_and_hessian() -> None:
    margin = np.linspace(-50.0, 50.0, 41)
    for label_value in (0.0, 1.0):
        label = np.full_like(margin, label_value)
        alpha_t = 0.3 if label_value == 1.0 else 0.7
        grad, hess = focal_grad_hess(margin, label, 0.0, 0.3)
        # p - y and p (1 - p), written without the cancellation of 1 - p for large margins.
        p_minus_y = expit(margin) if label_value == 0.0 else -expit(-margin)
        np.testing.assert_allclose(grad, alpha_t * p_minus_y, rtol=1e-13)
        np.testing.assert_allclose(hess, alpha_t * expit(margin) * expit(-margin), rtol=1e-13)


def test_gamma_0_alpha_half_loss_is_half_the_log_loss() -> None:
    margin = np.linspace(-50.0, 50.0, 101)
    for label_value in (0.0, 1.0):
        label = np.full_like(margin, label_value)
        log_loss = np.where(label == 1.0, np.logaddexp(0, -margin), np.logaddexp(0, margin))
        np.testing.assert_allclose(focal_loss(margin, label, 0.0, 0.5), 0.5 * log_loss, rtol=1e-14)


def test_hessian_is_negative_for_some_margins_when_gamma_is_positive() -> None:
    # Why `focal_objective` floors it: a confidently wrong sample has negative curvature.
    _, hess = focal_grad_hess(np.array([-4.0]), np.array([1.0]), 2.0, 0.25)
    assert hess[0] < 0
    assert _reference(-4.0, 1, 2.0, 0.25)[2] < 0


@settings(max_examples=60, deadline=None)
@given(
    margin=st.floats(-50.0, 50.0),
    label=st.sampled_from([0.0, 1.0]),
    gamma=st.floats(0.0, 6.0),
    alpha=st.floats(0.01, 0.99),
)
def test_grad_hess_match_reference_for_any_margin_gamma_and_alpha(
    margin: float, label: float, gamma: float, alpha: float
) -> None:
    _assert_matches_reference(np.array([margin]), np.array([label]), gamma, alpha, rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    margin=st.floats(-50.0, 50.0),
    gamma=st.floats(0.0, 6.0),
    alpha=st.floats(0.01, 0.99),
)
def test_swapping_the_class_mirrors_loss_gradient_and_hessian(
    margin: float, gamma: float, alpha: float
) -> None:
    loss_1 = focal_loss(np.array([margin]), np.array([1.0]), gamma, alpha)
    loss_0 = focal_loss(np.array([-margin]), np.array([0.0]), gamma, 1 - alpha)
    grad_1, hess_1 = focal_grad_hess(np.array([margin]), np.array([1.0]), gamma, alpha)
    grad_0, hess_0 = focal_grad_hess(np.array([-margin]), np.array([0.0]), gamma, 1 - alpha)
    # 1 - (1 - alpha) need not round back to alpha exactly: compare to a few ulps.
    np.testing.assert_allclose(loss_1, loss_0, rtol=1e-14)
    np.testing.assert_allclose(grad_1, -grad_0, rtol=1e-14)
    np.testing.assert_allclose(hess_1, hess_0, rtol=1e-14)


@settings(max_examples=100, deadline=None)
@given(
    margins=st.lists(st.floats(-50.0, 50.0), min_size=2, max_size=2, unique=True),
    label=st.sampled_from([0.0, 1.0]),
    gamma=st.floats(0.0, 6.0),
    alpha=st.floats(0.01, 0.99),
)
def test_loss_is_positive_and_falls_as_the_margin_moves_towards_the_label(
    margins: list[float], label: float, gamma: float, alpha: float
) -> None:
    towards_label = sorted(margins, reverse=label == 0.0)  # z_t increasing
    loss = focal_loss(np.array(towards_label), np.full(2, label), gamma, alpha)
    grad, _ = focal_grad_hess(np.array(towards_label), np.full(2, label), gamma, alpha)
    sign = 1.0 if label == 1.0 else -1.0
    assert np.all(loss >= 0)
    assert loss[1] <= loss[0]
    assert np.all(sign * grad <= 0)


@pytest.mark.parametrize(
    ("gamma", "alpha", "message"),
    [
        (-0.1, 0.25, "gamma"),
        (math.nan, 0.25, "gamma"),
        (math.inf, 0.25, "gamma"),
        (2.0, 0.0, "alpha"),
        (2.0, 1.0, "alpha"),
        (2.0, math.nan, "alpha"),
    ],
)
def test_invalid_gamma_or_alpha_is_a_user_input_error(
    gamma: float, alpha: float, message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        focal_loss(np.zeros(1), np.zeros(1), gamma, alpha)
    with pytest.raises(UserInputError, match=message):
        focal_grad_hess(np.zeros(1), np.zeros(1), gamma, alpha)


@pytest.mark.parametrize("bad_label", [0.5, -1.0, 2.0, math.nan])
def test_labels_other_than_0_and_1_are_a_user_input_error(bad_label: float) -> None:
    with pytest.raises(UserInputError, match="labels 0 or 1"):
        focal_grad_hess(np.zeros(2), np.array([1.0, bad_label]), 2.0, 0.25)

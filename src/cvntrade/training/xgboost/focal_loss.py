"""Binary focal loss (Lin et al., 2017) as an exact, fast custom XGBoost objective.

Notation, per sample: margin ``z`` (log-odds), label ``y`` in {0, 1}, ``s = 2y - 1``,
``z_t = s * z`` (the margin "towards the true class"), ``p_t = sigmoid(z_t)``,
``q = 1 - p_t = sigmoid(-z_t)``, ``alpha_t = alpha`` if ``y = 1`` else ``1 - alpha``, and
``ell = -log(p_t) = softplus(-z_t)``. The loss is

    FL = alpha_t * q**gamma * ell

and, using ``dp_t/dz_t = p_t q``, ``dq/dz_t = -p_t q`` and ``d ell/dz_t = -q``,

    dFL/dz   = -s * alpha_t * q**gamma * (gamma * p_t * ell + q)
    d2FL/dz2 =  alpha_t * p_t * q**gamma * (gamma**2 * p_t * ell + q * (2 gamma + 1 - gamma ell))

(``s**2 = 1``). Only ``q**gamma`` appears, never ``q**(gamma - 1)`` or ``q**(gamma - 2)``, so
both derivatives stay finite for every ``gamma >= 0`` including ``gamma < 1`` as ``p_t -> 1``.
``p_t``, ``q`` and ``ell`` come from one ``exp(-|z_t|)`` and one ``log1p`` of it, so none of them
loses relative precision for large ``|z|`` (no ``1 - p`` cancellation, no ``log(0)``).
At ``gamma = 0`` these reduce to ``alpha_t``-weighted logistic loss: gradient
``alpha_t * (p - y)``, hessian ``alpha_t * p * (1 - p)``.

`focal_loss` and `focal_grad_hess` are the float64 NumPy reference (exact, no clipping);
`focal_objective` is the production path: a fused, parallel numba kernel (``workqueue`` threads, see
`cvntrade.numba_threads`) writing float32
gradients and floored hessians straight into the arrays handed to XGBoost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray

from cvntrade.errors import UserInputError
from cvntrade.numba_threads import PARALLEL_LAUNCH, prefer_sleeping_threads

if TYPE_CHECKING:
    import xgboost

__all__ = [
    "FocalEvalMetric",
    "FocalObjective",
    "focal_eval_metric",
    "focal_grad_hess",
    "focal_loss",
    "focal_objective",
]

FocalObjective = Callable[
    [NDArray[Any], "xgboost.DMatrix"], tuple[NDArray[np.float32], NDArray[np.float32]]
]
"""XGBoost ``obj=`` callable: (margins, training DMatrix) -> (gradient, hessian)."""

FocalEvalMetric = Callable[[NDArray[Any], "xgboost.DMatrix"], tuple[str, float]]
"""XGBoost ``custom_metric=`` callable: (margins, DMatrix) -> (name, value)."""


def _check_focal_params(gamma: float, alpha: float) -> None:
    """Reject parameters for which focal loss is undefined or degenerate."""
    if not (math.isfinite(gamma) and gamma >= 0.0):
        raise UserInputError(f"focal gamma must be a finite number >= 0, got {gamma!r}")
    if not (math.isfinite(alpha) and 0.0 < alpha < 1.0):
        raise UserInputError(f"focal alpha must be strictly between 0 and 1, got {alpha!r}")


def _as_binary_labels(label: ArrayLike) -> NDArray[np.float64]:
    """Labels as float64, after checking that every one is exactly 0 or 1."""
    y = np.asarray(label, dtype=np.float64)
    if not np.all((y == 0.0) | (y == 1.0)):
        bad = np.unique(y[(y != 0.0) & (y != 1.0)])[:5]
        raise UserInputError(f"focal loss needs labels 0 or 1; found {bad.tolist()}")
    return y


def _focal_terms(
    margin: ArrayLike, label: ArrayLike, alpha: float
) -> tuple[NDArray[np.float64], ...]:
    """Stable ``(s, alpha_t, p_t, q, ell)`` for each sample, all float64 (see module doc)."""
    y = _as_binary_labels(label)
    z = np.asarray(margin, dtype=np.float64)
    z, y = np.broadcast_arrays(z, y)
    s = 2.0 * y - 1.0
    z_t = s * z
    e = np.exp(-np.abs(z_t))  # in (0, 1]: never overflows
    one_plus_e = 1.0 + e
    positive = z_t >= 0.0
    p_t = np.where(positive, 1.0, e) / one_plus_e
    q = np.where(positive, e, 1.0) / one_plus_e
    ell = np.maximum(-z_t, 0.0) + np.log1p(e)  # softplus(-z_t) = -log(p_t)
    alpha_t = np.where(y == 1.0, alpha, 1.0 - alpha)
    return s, alpha_t, p_t, q, ell


def focal_loss(
    margin: ArrayLike, label: ArrayLike, gamma: float, alpha: float
) -> NDArray[np.float64]:
    """Per-sample focal loss ``-alpha_t (1 - p_t)**gamma log(p_t)`` of margins (log-odds).

    ``gamma`` down-weights easy, well-classified samples; ``alpha`` weights class 1 against
    class 0. With ``gamma = 0, alpha = 0.5`` this is half the binary log loss. Float64, natural
    log units; exact reference used by tests and metrics (not the training hot path).

    Raises:
        UserInputError: gamma < 0, alpha outside (0, 1), or a label that is not 0 or 1.
    """
    _check_focal_params(gamma, alpha)
    _, alpha_t, _, q, ell = _focal_terms(margin, label, alpha)
    loss: NDArray[np.float64] = alpha_t * q**gamma * ell
    return loss


def focal_grad_hess(
    margin: ArrayLike, label: ArrayLike, gamma: float, alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact first and second derivatives of `focal_loss` with respect to the margin.

    Float64 reference implementation of the closed forms in the module docstring, written
    with ``q**gamma`` only so it stays finite and accurate for any ``gamma >= 0`` and
    ``|margin|`` up to (at least) 50. The hessian is returned as is — it is negative for many
    samples when ``gamma > 0`` — because clipping belongs to the optimiser (`focal_objective`),
    not to the mathematics.

    Raises:
        UserInputError: gamma < 0, alpha outside (0, 1), or a label that is not 0 or 1.
    """
    _check_focal_params(gamma, alpha)
    s, alpha_t, p_t, q, ell = _focal_terms(margin, label, alpha)
    weighted_q_gamma = alpha_t * q**gamma
    grad = -s * weighted_q_gamma * (gamma * p_t * ell + q)
    hess = (
        weighted_q_gamma * p_t * (gamma * gamma * p_t * ell + q * (2.0 * gamma + 1.0 - gamma * ell))
    )
    return grad, hess


# numba's default OpenMP pool and XGBoost's own OpenMP pool spin against each other between
# boosting rounds (1.33x binary:logistic on 2 cores): use the non-spinning layer (see module).
prefer_sleeping_threads()

# Loop-invariant cases of q**gamma in the kernel: integer gammas avoid an exp per element.
_GAMMA_ZERO, _GAMMA_ONE, _GAMMA_TWO, _GAMMA_GENERAL = 0, 1, 2, 3


@njit(parallel=True, fastmath=False, cache=True)
def _count_non_binary_labels(label: NDArray[np.float32]) -> int:  # pragma: no cover - numba
    """How many labels are neither 0 nor 1 (NaN included); a cheap parallel read-only pass."""
    n_bad = 0
    for i in prange(label.shape[0]):
        y = label[i]
        if not (y == 0.0 or y == 1.0):
            n_bad += 1
    return n_bad


@njit(parallel=True, fastmath=False, cache=True)
def _focal_kernel(
    margin: NDArray[np.float32],
    label: NDArray[np.float32],
    weight: NDArray[np.float32],
    gamma: float,
    gamma_kind: int,
    alpha: float,
    hess_floor: float,
    grad_out: NDArray[np.float32],
    hess_out: NDArray[np.float32],
) -> None:  # pragma: no cover - compiled by numba; checked against the reference in tests
    """Fill ``grad_out`` and floored ``hess_out`` in one pass over labels already checked 0/1.

    Per element: one exp, one log, one division (plus one exp for non-integer gamma), float64
    arithmetic, float32 stores, no temporary arrays. ``log1p(e)`` is computed as
    ``log(u) - ((u - 1) - e) / u`` with ``u = 1 + e`` (exact to an ulp, and cheaper than
    ``log1p``). ``weight`` is empty when the DMatrix has no sample weights.
    """
    n = margin.shape[0]
    weighted = weight.shape[0] == n
    for i in prange(n):
        y = float(label[i])
        s = 2.0 * y - 1.0
        alpha_t = (1.0 - alpha) + y * (2.0 * alpha - 1.0)
        z_t = s * float(margin[i])
        e = math.exp(-abs(z_t))
        u = 1.0 + e
        inv = 1.0 / u
        log1p_e = math.log(u) - ((u - 1.0) - e) * inv
        positive = z_t >= 0.0
        p_t = inv if positive else e * inv
        q = e * inv if positive else inv
        ell = log1p_e if positive else log1p_e - z_t  # -log(p_t)
        if gamma_kind == _GAMMA_ZERO:
            q_gamma = 1.0
        elif gamma_kind == _GAMMA_ONE:
            q_gamma = q
        elif gamma_kind == _GAMMA_TWO:
            q_gamma = q * q
        else:  # log(q) = -softplus(z_t) = -(max(z_t, 0) + log1p(e))
            q_gamma = math.exp(-gamma * (z_t + log1p_e if positive else log1p_e))
        a = alpha_t * q_gamma
        g = -s * a * (gamma * p_t * ell + q)
        h = a * p_t * (gamma * gamma * p_t * ell + q * (2.0 * gamma + 1.0 - gamma * ell))
        h = max(h, hess_floor)
        if weighted:
            w = float(weight[i])
            g *= w
            h *= w
        grad_out[i] = g
        hess_out[i] = h


def focal_objective(gamma: float, alpha: float, hess_floor: float = 1e-6) -> FocalObjective:
    """Build the XGBoost ``obj=`` callable for focal loss with these ``gamma`` and ``alpha``.

    The callable receives margins and the training DMatrix and returns float32 gradient and
    hessian arrays computed by a fused parallel numba kernel (same formulas as
    `focal_grad_hess`); sample weights, if the DMatrix has them, multiply both.

    Why the hessian is floored at ``hess_floor``: for ``gamma > 0`` the focal loss is not
    convex in the margin — its second derivative is negative for a large share of samples
    (confidently misclassified and some well-classified ones). XGBoost takes Newton steps,
    leaf weight ``-sum(g) / (sum(h) + lambda)`` and split gain ``G**2 / (H + lambda)``, which
    assume positive curvature: negative or zero hessian sums flip the step direction, make
    gains meaningless and trip ``min_child_weight``. Flooring each hessian at a small
    positive value keeps every Newton step a descent step while leaving the gradient exact.
    The floor is applied before the sample weight.

    Train with ``base_score=0``: a custom objective starts from XGBoost's default margin
    otherwise, and the resulting booster predicts margins (apply a sigmoid yourself).

    Raises:
        UserInputError: gamma < 0, alpha outside (0, 1), hess_floor not > 0 (here), or a
            label that is not 0 or 1 (when called).
    """
    _check_focal_params(gamma, alpha)
    if not (math.isfinite(hess_floor) and hess_floor > 0.0):
        raise UserInputError(f"hess_floor must be a finite number > 0, got {hess_floor!r}")
    gamma = float(gamma)
    alpha = float(alpha)
    hess_floor = float(hess_floor)
    gamma_kind = {0.0: _GAMMA_ZERO, 1.0: _GAMMA_ONE, 2.0: _GAMMA_TWO}.get(gamma, _GAMMA_GENERAL)

    def objective(
        preds: NDArray[Any], dtrain: xgboost.DMatrix
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Focal-loss gradient and floored hessian of ``preds`` (margins) for XGBoost."""
        margin = np.ascontiguousarray(preds, dtype=np.float32).reshape(-1)
        label = np.ascontiguousarray(dtrain.get_label(), dtype=np.float32).reshape(-1)
        weight = np.ascontiguousarray(dtrain.get_weight(), dtype=np.float32).reshape(-1)
        if label.shape[0] != margin.shape[0]:
            raise UserInputError(
                f"focal objective got {margin.shape[0]} margins for {label.shape[0]} labels "
                "(multi-output boosters are not supported)"
            )
        grad = np.empty(margin.shape[0], dtype=np.float32)
        hess = np.empty(margin.shape[0], dtype=np.float32)
        with PARALLEL_LAUNCH:  # workqueue threads: one parallel launch at a time
            bad_labels = _count_non_binary_labels(label)
            if not bad_labels:
                _focal_kernel(
                    margin, label, weight, gamma, gamma_kind, alpha, hess_floor, grad, hess
                )
        if bad_labels:
            _as_binary_labels(label)  # raises, naming the offending values
        return grad, hess

    return objective


def focal_eval_metric(gamma: float, alpha: float) -> FocalEvalMetric:
    """Build an XGBoost ``custom_metric=`` callable: mean focal loss, named ``focal_loss``.

    Expects margins, which is what XGBoost passes to a custom metric when training with a
    custom objective such as `focal_objective`. The mean is weighted by the DMatrix sample
    weights when present, so it tracks exactly the quantity being minimised.

    Raises:
        UserInputError: gamma < 0 or alpha outside (0, 1) (here), or labels not 0/1 (when
            called).
    """
    _check_focal_params(gamma, alpha)

    def metric(preds: NDArray[Any], dmatrix: xgboost.DMatrix) -> tuple[str, float]:
        """Mean focal loss of ``preds`` (margins) against the DMatrix labels."""
        losses = focal_loss(np.reshape(preds, -1), dmatrix.get_label(), gamma, alpha)
        weight = dmatrix.get_weight()
        if weight.size == losses.size:
            return "focal_loss", float(np.average(losses, weights=weight))
        return "focal_loss", float(np.mean(losses))

    return metric

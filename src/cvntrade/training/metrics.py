"""Classification metrics of predicted probabilities (pure NumPy, no scikit-learn at run time).

Names match what monitoring reports live: `ece_hold` (expected calibration error on the
hold-out, 15 equal-mass bins) and `sharpness` (standard deviation of the predicted
probabilities: a model whose outputs collapse towards one value has lost its signal).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ECE_BINS = 15
LOG_LOSS_EPS = 1e-15
FloatArray = npt.NDArray[np.float64]


def _pair(probs: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if p.shape != y.shape:
        raise ValueError(f"{p.shape[0]} probabilities for {y.shape[0]} labels")
    return p, y


def roc_auc(probs: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied scores counted half); NaN if one class."""
    p, y = _pair(probs, labels)
    positives = int(np.sum(y == 1))
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each value
    rank_sum = float(np.sum(average_rank[inverse][y == 1]))
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(probs: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Mean binary cross-entropy, probabilities clipped to `[1e-15, 1 - 1e-15]`; NaN if empty."""
    p, y = _pair(probs, labels)
    if p.size == 0:
        return float("nan")
    p = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def brier(probs: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Mean squared error of the probabilities (Brier score); NaN if empty."""
    p, y = _pair(probs, labels)
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


def ece_equal_mass(probs: npt.ArrayLike, labels: npt.ArrayLike, bins: int = ECE_BINS) -> float:
    """Expected calibration error over `bins` equal-mass bins; NaN if empty.

    Bin edges are the `1/bins, 2/bins, …` quantiles of the probabilities (linear
    interpolation, NumPy's default); a row belongs to the bin of the number of inner edges
    `<= p`, so equal probabilities always share a bin (with ties, bins can hold unequal counts;
    empty bins are skipped). ECE = sum over bins of `count / n * |mean(p) - mean(y)|`.
    Equal-mass bins keep every bin populated even when the probabilities crowd into a narrow
    band, which fixed-width bins do not.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1 (got {bins})")
    p, y = _pair(probs, labels)
    if p.size == 0:
        return float("nan")
    inner_edges = np.quantile(p, np.arange(1, bins) / bins)
    bin_of_row = np.searchsorted(inner_edges, p, side="right")
    counts = np.bincount(bin_of_row, minlength=bins)
    sum_p = np.bincount(bin_of_row, weights=p, minlength=bins)
    sum_y = np.bincount(bin_of_row, weights=y, minlength=bins)
    used = counts > 0
    return float(np.sum(np.abs(sum_p[used] - sum_y[used])) / p.size)


def f1_buy(probs: npt.ArrayLike, labels: npt.ArrayLike, threshold: float | FloatArray) -> float:
    """F1 of the BUY class (label 1) when BUY means `probability >= threshold`; 0 if undefined."""
    p, y = _pair(probs, labels)
    predicted = p >= threshold
    actual = y == 1
    true_pos = int(np.sum(predicted & actual))
    denominator = int(np.sum(predicted)) + int(np.sum(actual))
    return 2.0 * true_pos / denominator if denominator else 0.0


def sharpness(probs: npt.ArrayLike) -> float:
    """Population standard deviation of the predicted probabilities; NaN if empty."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    return float(np.std(p)) if p.size else float("nan")


def classification_metrics(
    probs: npt.ArrayLike, labels: npt.ArrayLike, threshold: float | FloatArray
) -> dict[str, float]:
    """AUC, log loss, Brier, `ece_hold`, `f1_buy`, sharpness and the base rate of one hold-out."""
    p, y = _pair(probs, labels)
    return {
        "auc": roc_auc(p, y),
        "log_loss": log_loss(p, y),
        "brier": brier(p, y),
        "ece_hold": ece_equal_mass(p, y),
        "f1_buy": f1_buy(p, y, threshold),
        "sharpness": sharpness(p),
        "positive_rate": float(np.mean(y)) if y.size else float("nan"),
        "n_samples": float(y.size),
    }

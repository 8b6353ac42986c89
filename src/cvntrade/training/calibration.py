"""Temperature scaling: one scalar `T > 0` such that `sigmoid(margin / T)` is calibrated.

Both losses predict through booster margins (log-odds for `binary:logistic`, focal-trained
scores for `focal`), so calibration is the same for both: the calibrated probability is
`sigmoid(margin / T)`. `T > 1` softens over-confident outputs; `T < 1` sharpens under-confident
ones (focal loss, which down-weights easy examples, tends to produce those). A temperature only
rescales margins: it cannot fix a shifted intercept (e.g. from focal `alpha`), and it never
changes the ranking (AUC) of predictions.

`fit_temperature` minimises the mean log loss over `beta = 1 / T` on a bounded interval. The log
loss of `sigmoid(beta * margin)` is convex in `beta` (a softplus of a linear function), so the
bounded Brent search finds the global minimum on `[1 / MAX_TEMPERATURE, 1 / MIN_TEMPERATURE]`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0
FloatArray = npt.NDArray[np.float64]


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """The logistic function, float64, without overflow warnings for large `|x|`."""
    values = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        out: FloatArray = 1.0 / (1.0 + np.exp(-values))
    return out


def calibrated_probability(margins: npt.ArrayLike, temperature: float) -> FloatArray:
    """`sigmoid(margin / temperature)`: the probability every CVNTrade model outputs."""
    return sigmoid(np.asarray(margins, dtype=np.float64) / temperature)


def margin_log_loss(margins: npt.ArrayLike, labels: npt.ArrayLike, temperature: float) -> float:
    """Mean log loss of `sigmoid(margin / temperature)` computed stably from the margins."""
    z = np.asarray(margins, dtype=np.float64) / temperature
    sign = 2.0 * np.asarray(labels, dtype=np.float64) - 1.0
    return float(np.mean(np.logaddexp(0.0, -sign * z)))


def fit_temperature(margins: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """The temperature minimising the log loss of `sigmoid(margin / T)` on hold-out margins.

    Returns 1.0 (no change) when nothing can be learnt: no rows, a single class, or all margins
    zero. The result is clamped to `[MIN_TEMPERATURE, MAX_TEMPERATURE]`; margins that rank the
    classes backwards drive it to `MAX_TEMPERATURE` (probabilities close to 0.5).
    """
    from scipy.optimize import minimize_scalar

    z = np.asarray(margins, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if z.shape != y.shape:
        raise ValueError(f"{z.shape[0]} margins for {y.shape[0]} labels")
    if z.size == 0 or y.min() == y.max() or not np.any(z):
        return 1.0
    signed = (2.0 * y - 1.0) * z

    def loss(beta: float) -> float:
        return float(np.mean(np.logaddexp(0.0, -beta * signed)))

    result = minimize_scalar(
        loss,
        bounds=(1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return float(np.clip(1.0 / float(result.x), MIN_TEMPERATURE, MAX_TEMPERATURE))


def calibration_report(
    margins: npt.ArrayLike, labels: npt.ArrayLike, temperature: float, *, method: str
) -> dict[str, float | str | int]:
    """What the temperature changed on the rows it was fitted on (the `calibration.json` body)."""
    from cvntrade.training.metrics import ece_equal_mass

    z = np.asarray(margins, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return {
        "method": method,
        "temperature": float(temperature),
        "rows": int(z.shape[0]),
        "log_loss_uncalibrated": margin_log_loss(z, y, 1.0),
        "log_loss_calibrated": margin_log_loss(z, y, temperature),
        "ece_uncalibrated": ece_equal_mass(calibrated_probability(z, 1.0), y),
        "ece_calibrated": ece_equal_mass(calibrated_probability(z, temperature), y),
    }

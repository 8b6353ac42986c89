"""Trailing-window statistics computed from scratch for every bar (numba).

Unlike running sums, each value depends only on the `window` values ending at that bar, with
the same floating-point operations wherever the series starts or ends: features are
bit-identical whatever data comes before the window or after the bar. A window holding a NaN,
or not yet full, gives NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def window_mean(values, window):  # type: ignore[no-untyped-def]
    """Mean of values[t - window + 1 .. t] for every t."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        total = 0.0
        for k in range(t - window + 1, t + 1):
            total += values[k]
        out[t] = total / window
    return out


@njit(cache=True, nogil=True)
def window_std(values, window):  # type: ignore[no-untyped-def]
    """Population standard deviation (two-pass, stable) of values[t - window + 1 .. t]."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        total = 0.0
        for k in range(t - window + 1, t + 1):
            total += values[k]
        mean = total / window
        squares = 0.0
        for k in range(t - window + 1, t + 1):
            squares += (values[k] - mean) ** 2
        out[t] = np.sqrt(squares / window)
    return out

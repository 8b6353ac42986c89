"""numba kernels of the synthetic market (sequential recursions that numpy cannot vectorise)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def momentum_returns(jumps, drift, phi, noise, lags):  # type: ignore[no-untyped-def]
    """r[t] = jumps[t] + drift[t] + phi[t] * mean(r[t-lags .. t-1]) + noise[t] (r[<0] = 0)."""
    n = noise.shape[0]
    out = np.empty(n, dtype=np.float64)
    for t in range(n):
        total = 0.0
        for k in range(1, lags + 1):
            if t - k >= 0:
                total += out[t - k]
        out[t] = jumps[t] + drift[t] + phi[t] * (total / lags) + noise[t]
    return out


@njit(cache=True)
def swing_returns(jumps, drift, phi, noise, revert, lags, long_lags):  # type: ignore[no-untyped-def]
    """momentum_returns minus revert[t] * mean(r[t-long_lags .. t-lags-1]) (r[<0] = 0)."""
    n = noise.shape[0]
    out = np.empty(n, dtype=np.float64)
    for t in range(n):
        total = 0.0
        for k in range(1, lags + 1):
            if t - k >= 0:
                total += out[t - k]
        back = 0.0
        for k in range(lags + 1, long_lags + 1):
            if t - k >= 0:
                back += out[t - k]
        out[t] = (
            jumps[t]
            + drift[t]
            + phi[t] * (total / lags)
            - revert[t] * (back / (long_lags - lags))
            + noise[t]
        )
    return out

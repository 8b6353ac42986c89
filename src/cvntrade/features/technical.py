"""The default feature set: what a model may know about a bar at its close, and nothing later.

Every feature of bar `t` is a function of bars `t - LOOKBACK_BARS + 1 .. t` only (OHLCV and the
bar's open time); windows are recomputed from scratch (`_windows`), so the values are
bit-identical whether or not later bars, or earlier ones outside the window, exist. Bars before
the first full window get NaN. Log returns are natural logs; "bars" are the series' interval.

| feature | definition |
|---|---|
| `ret_1`, `ret_2`, `ret_4`, `ret_8`, `ret_24` | log(close[t] / close[t-k]) |
| `vol_24`, `vol_72` | std of 1-bar log returns over 24 / 72 bars |
| `vol_ratio` | vol_24 / vol_72 (volatility regime) |
| `rsi_14` | (mean gain - mean loss) / (mean gain + mean loss) of 1-bar log returns, 14 bars |
| `atr_14_pct` | mean true range over 14 bars, in % of the previous close |
| `range_pct` | (high - low) / close, in % |
| `body` | log(close / open) |
| `close_location` | (close - low) / (high - low), 0.5 for a flat bar |
| `volume_z_24` | z-score of log(1 + volume) against the last 24 bars (0 when flat) |
| `dist_sma_24`, `dist_sma_96` | close / simple moving average - 1 |
| `hour_sin`, `hour_cos`, `dow_sin`, `dow_cos` | hour of day, day of week (UTC open time) |

`rsi_14` is the RSI rescaled to [-1, 1], i.e. (RSI - 50) / 50 with simple means; the calendar
features place hour and weekday on the unit circle, so 23:00 is next to 00:00.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.features._windows import window_mean, window_std

RETURN_LAGS = (1, 2, 4, 8, 24)
FEATURE_NAMES: tuple[str, ...] = (
    *(f"ret_{k}" for k in RETURN_LAGS),
    "vol_24",
    "vol_72",
    "vol_ratio",
    "rsi_14",
    "atr_14_pct",
    "range_pct",
    "body",
    "close_location",
    "volume_z_24",
    "dist_sma_24",
    "dist_sma_96",
    "hour_sin",
    "hour_cos",
    "dow_sin",
    "dow_cos",
)
LOOKBACK_BARS = 96  # the longest window (dist_sma_96); vol_72 needs 73 closes
FloatArray = npt.NDArray[np.float64]


def compute_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The default feature set (columns `FEATURE_NAMES`, float64) of every bar of a frame."""
    o, h, lo, c, v = (
        frame[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")
    )
    log_close = np.log(c)
    ret_1 = _lagged_difference(log_close, 1)
    out: dict[str, FloatArray] = {f"ret_{k}": _lagged_difference(log_close, k) for k in RETURN_LAGS}
    out["vol_24"] = window_std(ret_1, 24)
    out["vol_72"] = window_std(ret_1, 72)
    out["vol_ratio"] = _ratio(out["vol_24"], out["vol_72"], empty=1.0)
    gain = window_mean(np.where(np.isnan(ret_1), np.nan, np.maximum(ret_1, 0.0)), 14)
    loss = window_mean(np.where(np.isnan(ret_1), np.nan, np.maximum(-ret_1, 0.0)), 14)
    out["rsi_14"] = _ratio(gain - loss, gain + loss, empty=0.0)
    prev_close = np.concatenate(([np.nan], c[:-1]))
    true_range = (np.maximum(h, prev_close) - np.minimum(lo, prev_close)) / prev_close * 100.0
    out["atr_14_pct"] = window_mean(true_range, 14)
    out["range_pct"] = (h - lo) / c * 100.0
    out["body"] = np.log(c / o)
    out["close_location"] = _ratio(c - lo, h - lo, empty=0.5)
    log_volume = np.log1p(v)
    out["volume_z_24"] = _ratio(
        log_volume - window_mean(log_volume, 24), window_std(log_volume, 24), empty=0.0
    )
    out["dist_sma_24"] = c / window_mean(c, 24) - 1.0
    out["dist_sma_96"] = c / window_mean(c, 96) - 1.0
    ms = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    hour = (ms // 3_600_000) % 24
    day = (ms // 86_400_000 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    out["hour_sin"], out["hour_cos"] = np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)
    out["dow_sin"], out["dow_cos"] = np.sin(2 * np.pi * day / 7), np.cos(2 * np.pi * day / 7)
    return pd.DataFrame({name: out[name] for name in FEATURE_NAMES})


def _lagged_difference(values: FloatArray, lag: int) -> FloatArray:
    out = np.full(values.shape[0], np.nan)
    out[lag:] = values[lag:] - values[:-lag]
    return out


def _ratio(numerator: FloatArray, denominator: FloatArray, *, empty: float) -> FloatArray:
    """numerator / denominator, `empty` where the denominator is 0, NaN where either is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / denominator
    result: FloatArray = np.where(denominator == 0.0, empty, ratio)
    return np.where(np.isnan(numerator) | np.isnan(denominator), np.nan, result)

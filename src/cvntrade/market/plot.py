"""A PNG picture of one stored series: price, the momentum signal's strength, and the regime shift.

The lower panel is the rolling correlation between the past 4-bar return and the next 4-bar
return over a 30-day window: positive means momentum pays (the synthetic market's learnable
signal before its shift), negative means it reverses (after). Rendering uses matplotlib's Agg
backend, so no display is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SIGNAL_LAG_BARS = 4
CORRELATION_WINDOW_HOURS = 30 * 24


def momentum_correlation(close: pd.Series, bars_per_window: int) -> pd.Series:
    """Rolling corr(past 4-bar log return, next 4-bar log return), aligned at the window's end."""
    log_close = np.log(close.to_numpy(np.float64))
    past = pd.Series(log_close).diff(SIGNAL_LAG_BARS)
    future = past.shift(-SIGNAL_LAG_BARS)
    return past.rolling(bars_per_window, min_periods=bars_per_window // 2).corr(future)


def plot_series(
    frame: pd.DataFrame,
    path: Path,
    *,
    title: str,
    bar_hours: float,
    regime_shift_at: pd.Timestamp | None = None,
) -> Path:
    """Write a two-panel PNG of `frame` to `path` and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stamps = frame["timestamp"]
    window = max(8, int(CORRELATION_WINDOW_HOURS / bar_hours))
    signal = momentum_correlation(frame["close"], window)
    fig, (price_ax, signal_ax) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    price_ax.plot(stamps, frame["close"], linewidth=0.7, color="#1f4e79")
    price_ax.set_yscale("log")
    price_ax.set_ylabel("close (log scale)")
    price_ax.set_title(title)
    signal_ax.plot(stamps, signal, linewidth=0.9, color="#7a3b00")
    signal_ax.axhline(0.0, color="grey", linewidth=0.6)
    signal_ax.set_ylabel("momentum corr\n(past 4 vs next 4 bars)")
    signal_ax.set_xlabel("bar open time (UTC)")
    if regime_shift_at is not None:
        for ax in (price_ax, signal_ax):
            ax.axvline(regime_shift_at, color="crimson", linestyle="--", linewidth=1.2)
        price_ax.annotate(
            f"regime shift {regime_shift_at:%Y-%m-%d %H:%M}",
            xy=(regime_shift_at, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -14),
            textcoords="offset points",
            color="crimson",
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""One rule for gaps: which bars have a complete feature window, shared by training and trading.

A bar is *usable* (the model may score it) when

1. the `LOOKBACK_BARS` bars ending at it are contiguous on the interval grid — counted in bars,
   so a weekend or a missing month inside the window makes it unusable, however many calendar
   hours of history exist;
2. it is a real bar, not one forward-filled over a gap (`filled`);
3. all its features are finite.

`cvntrade.features.dataset` keeps a training row only when its bar is usable *and* its label is
complete (`horizon_bars` contiguous bars follow it); `cvntrade.trading.engine.load_book` scores
exactly the usable bars. Both call `usable_bars`, so training and trading can never disagree on
which bars a model is fit for. `drop_reasons` explains every bar a dataset left out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvntrade.features.technical import LOOKBACK_BARS

DROP_REASONS = ("warm_up", "gap", "horizon", "filled", "invalid_features")
"""Why a bar of the requested range is not a training row, in the order they are assigned:
`filled` (a forward-filled bar), `warm_up` (fewer than LOOKBACK_BARS bars since the start of
the data), `gap` (a gap inside the feature window or the label horizon), `horizon` (the label
horizon runs past the end of the data or range), `invalid_features` (anything else non-finite)."""


def contiguous_runs(
    ms: npt.NDArray[np.int64], step: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per bar: contiguous bars ending here (itself included), and contiguous bars after it."""
    n = len(ms)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    breaks = np.concatenate(([True], np.diff(ms) != step))
    run_start = np.maximum.accumulate(np.where(breaks, np.arange(n), 0))
    ends = np.concatenate((np.flatnonzero(breaks)[1:] - 1, [n - 1]))
    run_end = ends[np.cumsum(breaks) - 1]
    index = np.arange(n, dtype=np.int64)
    return index - run_start + 1, run_end - index


def usable_bars(
    ms: npt.NDArray[np.int64],
    filled: npt.NDArray[np.bool_],
    features: npt.NDArray[np.float64],
    step: int,
) -> npt.NDArray[np.bool_]:
    """The bars a model may score (module docstring): full window in bars, real, finite."""
    since_break, _ = contiguous_runs(ms, step)
    mask: npt.NDArray[np.bool_] = (
        (since_break >= LOOKBACK_BARS)
        & ~np.asarray(filled, dtype=bool)
        & np.isfinite(features).all(axis=1)
    )
    return mask


def horizon_complete(
    ms: npt.NDArray[np.int64], step: int, horizon_bars: int
) -> npt.NDArray[np.bool_]:
    """Bars followed by `horizon_bars` contiguous bars (their triple-barrier label exists)."""
    _, until_break = contiguous_runs(ms, step)
    mask: npt.NDArray[np.bool_] = until_break >= horizon_bars
    return mask


def drop_reasons(
    ms: npt.NDArray[np.int64],
    filled: npt.NDArray[np.bool_],
    features: npt.NDArray[np.float64],
    step: int,
    horizon_bars: int,
    candidates: npt.NDArray[np.bool_],
) -> dict[str, int]:
    """How many `candidates` bars are not training rows, per reason of `DROP_REASONS`."""
    since_break, until_break = contiguous_runs(ms, step)
    n = len(ms)
    first_run = np.zeros(n, dtype=bool)
    last_run = np.zeros(n, dtype=bool)
    if n:
        index = np.arange(n)
        first_run = index - since_break + 1 == 0
        last_run = index + until_break == n - 1
    left = np.asarray(candidates, dtype=bool).copy()
    short_window = since_break < LOOKBACK_BARS
    short_horizon = until_break < horizon_bars
    rules = {
        "filled": np.asarray(filled, dtype=bool),
        "warm_up": short_window & first_run,
        "gap": (short_window & ~first_run) | (short_horizon & ~last_run),
        "horizon": short_horizon & last_run,
        "invalid_features": ~np.isfinite(features).all(axis=1),
    }
    counts = dict.fromkeys(DROP_REASONS, 0)
    for reason in ("filled", "warm_up", "gap", "horizon", "invalid_features"):
        hit = left & rules[reason]
        counts[reason] = int(hit.sum())
        left &= ~hit
    return counts


def warmup_first_index(ms: npt.NDArray[np.int64], start_ms: int | None) -> int:
    """Index of the first bar to load so the bar at `start_ms` has `LOOKBACK_BARS` of history.

    Counted in bars, not time: over a weekend gap this reaches further back than
    `start - LOOKBACK_BARS x interval` would.
    """
    if start_ms is None:
        return 0
    first = int(np.searchsorted(ms, start_ms))
    return max(0, first - LOOKBACK_BARS)

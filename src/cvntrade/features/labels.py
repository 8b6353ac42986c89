"""Triple-barrier labels: the outcome a long trade of the strategy would really have had.

For the signal bar `i` the trade enters at the *next* bar's open, `entry = open[i + 1]`, with a
stop at `entry * (1 - stop_pct / 100)` and a take profit at `entry * (1 + take_pct / 100)`, and
is held for at most `horizon_bars` bars (`i + 1 .. i + horizon_bars`). Bar by bar:

1. an open at or beyond a barrier (a gap through it) exits at that open, the price one could get;
2. otherwise a low at or below the stop exits at the stop — also when the high reached the take
   profit in the same bar, since the order of the two inside a bar is unknown (conservative);
3. otherwise a high at or above the take profit exits at the take profit;
4. if no barrier was touched, the trade exits at the close of the last bar (horizon).

The label is 1 when the take profit was hit first, else 0. The last `horizon_bars` signal bars
cannot be followed to the end and get label -1, exit index -1, reason `EXIT_NONE` and a NaN
return, whatever happened in the bars that do exist, so that no label depends on where the data
ends. Returns are gross (before fees), in percent of the entry price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from cvntrade.errors import UserInputError
from cvntrade.numba_threads import PARALLEL_LAUNCH, prefer_sleeping_threads

EXIT_NONE = 0
EXIT_TAKE_PROFIT = 1
EXIT_STOP_LOSS = 2
EXIT_HORIZON = 3
PARALLEL_FROM_BARS = 200_000
EXIT_REASONS = {
    EXIT_NONE: "none",
    EXIT_TAKE_PROFIT: "take_profit",
    EXIT_STOP_LOSS: "stop_loss",
    EXIT_HORIZON: "horizon",
}


@dataclass(frozen=True, slots=True, eq=False)
class TripleBarrierLabels:
    """Per signal bar: label (1/0/-1), exit bar index, exit reason code, gross return (%)."""

    label: npt.NDArray[np.int8]
    exit_index: npt.NDArray[np.int64]
    exit_reason: npt.NDArray[np.int8]
    gross_return_pct: npt.NDArray[np.float64]

    @property
    def labelable(self) -> npt.NDArray[np.bool_]:
        """True for signal bars whose whole horizon exists."""
        mask: npt.NDArray[np.bool_] = self.label >= 0
        return mask


def triple_barrier(
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    stop_pct: float,
    take_pct: float,
    horizon_bars: int,
    *,
    parallel: bool | None = None,
) -> TripleBarrierLabels:
    """Label every bar as a long signal under the rules of the module docstring (numba, O(n·h)).

    Signal bars are independent, so long series are split across threads (`parallel=None`
    means: from `PARALLEL_FROM_BARS` bars on); results are identical either way.
    """
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)]
    n = arrays[0].shape[0]
    if any(a.ndim != 1 or a.shape[0] != n for a in arrays):
        raise UserInputError("open, high, low and close must be 1-D arrays of the same length")
    if not (stop_pct > 0 and take_pct > 0):
        raise UserInputError(f"stop_pct and take_pct must be > 0 (got {stop_pct}, {take_pct})")
    if horizon_bars < 1:
        raise UserInputError(f"horizon_bars must be >= 1 (got {horizon_bars})")
    label = np.empty(n, dtype=np.int8)
    exit_index = np.empty(n, dtype=np.int64)
    exit_reason = np.empty(n, dtype=np.int8)
    gross = np.empty(n, dtype=np.float64)
    if parallel is None:
        parallel = n >= PARALLEL_FROM_BARS
    kernel = _parallel_kernel if parallel else _serial_kernel
    outputs = (label, exit_index, exit_reason, gross)
    barriers = (float(stop_pct), float(take_pct), int(horizon_bars))
    if parallel:
        with PARALLEL_LAUNCH:  # workqueue threads: one parallel launch at a time
            kernel(*arrays, *barriers, *outputs)
    else:
        kernel(*arrays, *barriers, *outputs)
    return TripleBarrierLabels(label, exit_index, exit_reason, gross)


def _label_every_bar(  # type: ignore[no-untyped-def]
    open_, high, low, close, stop_pct, take_pct, horizon, label, exit_index, exit_reason, gross
):
    n = open_.shape[0]
    for i in prange(n):  # every signal bar is an independent trade
        last = i + horizon
        if last > n - 1:
            label[i] = -1
            exit_index[i] = -1
            exit_reason[i] = EXIT_NONE
            gross[i] = np.nan
            continue
        entry = open_[i + 1]
        stop = entry * (1.0 - stop_pct / 100.0)
        take = entry * (1.0 + take_pct / 100.0)
        reason = EXIT_HORIZON
        exit_at = last
        price = close[last]
        for j in range(i + 1, last + 1):
            if open_[j] <= stop:
                reason, exit_at, price = EXIT_STOP_LOSS, j, open_[j]
                break
            if open_[j] >= take:
                reason, exit_at, price = EXIT_TAKE_PROFIT, j, open_[j]
                break
            if low[j] <= stop:
                reason, exit_at, price = EXIT_STOP_LOSS, j, stop
                break
            if high[j] >= take:
                reason, exit_at, price = EXIT_TAKE_PROFIT, j, take
                break
        label[i] = 1 if reason == EXIT_TAKE_PROFIT else 0
        exit_index[i] = exit_at
        exit_reason[i] = reason
        gross[i] = (price / entry - 1.0) * 100.0


prefer_sleeping_threads()  # numba's threads must not spin against XGBoost's (see that module)
_serial_kernel: Any = njit(cache=True, nogil=True)(_label_every_bar)
_parallel_kernel: Any = njit(cache=True, nogil=True, parallel=True)(_label_every_bar)

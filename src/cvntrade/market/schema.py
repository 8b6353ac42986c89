"""The OHLCV schema every source produces and every consumer reads, and its validation.

A bar is identified by its *open* time (UTC, naive `datetime64[ms]`), like Binance klines; its
features and its label become known at its close, `timestamp + interval`. Columns:

| column | dtype | meaning |
|---|---|---|
| `timestamp` | `datetime64[ms]` | bar open time, UTC |
| `open`, `high`, `low`, `close` | `float64` | prices in the quote asset, > 0 |
| `volume` | `float64` | base-asset volume, >= 0 |
| `filled` | `bool` | True for a bar forward-filled over a gap (not traded) |

Validation collects every problem (up to `MAX_REPORTED_PROBLEMS` are shown) and raises one
`UserInputError` naming the source and the rows, so a bad file stores nothing. Rows are numbered
from 1, the first data row (after any CSV header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume", "filled")
MAX_REPORTED_PROBLEMS = 5
DEFAULT_MAX_GAP_BARS = 3

INTERVAL_SECONDS: dict[str, int] = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
}
_DAY_MS = 86_400_000
MONTHLY = "1M"
"""Binance's monthly klines: bars open on the 1st of each month, 00:00 UTC. They have no fixed
length, so they can be imported, stored, listed, shown and validated, but not used where a
fixed interval is needed (features, training, trading)."""


def interval_ms(interval: str) -> int:
    """The length of a bar interval such as `1h` in milliseconds (Binance interval names)."""
    if interval == MONTHLY:
        raise UserInputError(
            "1M (monthly) bars have no fixed length: they can be imported, listed, shown and "
            "validated, but features, training and trading need a fixed interval (e.g. 1w, 1d)"
        )
    try:
        return INTERVAL_SECONDS[interval] * 1000
    except KeyError:
        raise UserInputError(
            f"invalid interval {interval!r}: expected one of "
            f"{', '.join(INTERVAL_SECONDS)}, {MONTHLY}"
        ) from None


def check_interval(interval: str) -> str:
    """`interval` if it is a known interval (fixed or `1M`), else a `UserInputError`."""
    if interval != MONTHLY:
        interval_ms(interval)
    return interval


def month_index(ms: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Months since 1970-01 of each time (for `1M` bars: their position on the month grid)."""
    months = ms.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    return months


def utc_ms(value: pd.Timestamp | str) -> int:
    """Milliseconds since the epoch of a timestamp; naive means UTC, aware is converted to UTC."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(np.datetime64(stamp, "ms").astype(np.int64))


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of `missing_bars` absent bars, between data rows `after_row` and `after_row + 1`."""

    after_row: int
    missing_bars: int
    first_missing: pd.Timestamp


@dataclass(frozen=True, slots=True, eq=False)
class ValidatedOhlcv:
    """A frame that passed validation, in canonical form, with the gaps it had (maybe filled)."""

    frame: pd.DataFrame
    gaps: tuple[Gap, ...]
    filled_bars: int


def empty_ohlcv() -> pd.DataFrame:
    """A canonical OHLCV frame with no rows."""
    return canonical_ohlcv(
        pd.DataFrame(
            {"timestamp": np.array([], dtype="datetime64[ms]")}
            | {c: np.array([], dtype=np.float64) for c in (*PRICE_COLUMNS, "volume")}
        )
    )


def canonical_ohlcv(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with exactly the schema's columns and dtypes (adds `filled=False`)."""
    out = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(frame["timestamp"]).to_numpy().astype("datetime64[ms]"),
            **{c: frame[c].to_numpy(dtype=np.float64) for c in (*PRICE_COLUMNS, "volume")},
        }
    )
    filled = frame["filled"].to_numpy(dtype=bool) if "filled" in frame else np.zeros(len(out), bool)
    out["filled"] = filled
    return out.reset_index(drop=True)


def timestamps_ms(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """The bar open times of a canonical frame as int64 milliseconds since the epoch."""
    return frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)


def validate_ohlcv(
    frame: pd.DataFrame,
    *,
    source: str,
    interval: str,
    max_gap_bars: int = DEFAULT_MAX_GAP_BARS,
    fill_gaps: bool = False,
) -> ValidatedOhlcv:
    """Check every rule of the schema; raise one `UserInputError` naming `source` and rows.

    Rejected: missing columns, no rows, NaN/inf values, prices <= 0, negative volume,
    `high < max(open, close)`, `low > min(open, close)`, duplicate or non-increasing timestamps,
    timestamps off the `interval` grid (wrong frequency), and gaps of more than `max_gap_bars`
    missing bars. Smaller gaps are reported in the result and, with `fill_gaps`, forward-filled
    with flat bars at the previous close, zero volume and `filled=True`.
    """
    monthly = interval == MONTHLY
    step = 0 if monthly else interval_ms(interval)
    missing = [c for c in ("timestamp", *PRICE_COLUMNS, "volume") if c not in frame.columns]
    if missing:
        raise UserInputError(
            f"{source}: missing column(s) {', '.join(missing)}; nothing was stored"
        )
    if frame.empty:
        raise UserInputError(f"{source}: no rows; nothing was stored")
    problems: list[tuple[int, str]] = []
    values = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
        for c in (*PRICE_COLUMNS, "volume")
    }
    problems += _value_problems(values)
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce").to_numpy()
    problems += (
        _month_problems(stamps, max_gap_bars)
        if monthly
        else _time_problems(stamps, step, max_gap_bars)
    )
    if problems:
        problems.sort(key=lambda p: p[0])
        shown = "; ".join(f"row {row}: {text}" for row, text in problems[:MAX_REPORTED_PROBLEMS])
        more = len(problems) - MAX_REPORTED_PROBLEMS
        suffix = f"; and {more} more problem(s)" if more > 0 else ""
        raise UserInputError(f"{source}: {shown}{suffix}; nothing was stored")
    canonical = canonical_ohlcv(frame)
    ms = timestamps_ms(canonical)
    gaps = _gaps(ms, step, monthly=monthly)
    if fill_gaps and gaps:
        canonical = _forward_fill(canonical, step, monthly=monthly)
    filled = sum(g.missing_bars for g in gaps) if fill_gaps else 0
    return ValidatedOhlcv(frame=canonical, gaps=gaps, filled_bars=filled)


def _rows(mask: npt.NDArray[np.bool_]) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def _value_problems(values: dict[str, npt.NDArray[np.float64]]) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    bad_number = np.zeros(len(values["open"]), dtype=bool)
    for column, array in values.items():
        not_finite = ~np.isfinite(array)
        bad_number |= not_finite
        problems += [(r, f"{column} is not a finite number") for r in _rows(not_finite)]
    for column in PRICE_COLUMNS:
        array = values[column]
        problems += [
            (r, f"{column} {_num(array[r - 1])} is not > 0")
            for r in _rows(~bad_number & (array <= 0))
        ]
        bad_number |= array <= 0
    volume = values["volume"]
    problems += [
        (r, f"volume {_num(volume[r - 1])} is < 0") for r in _rows(~bad_number & (volume < 0))
    ]
    o, h, lo, c = (values[k] for k in PRICE_COLUMNS)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    problems += [
        (r, f"high {_num(h[r - 1])} < max(open, close) {_num(top[r - 1])}")
        for r in _rows(~bad_number & (h < top))
    ]
    problems += [
        (r, f"low {_num(lo[r - 1])} > min(open, close) {_num(bottom[r - 1])}")
        for r in _rows(~bad_number & (lo > bottom))
    ]
    return problems


def _num(value: float | np.floating[Any]) -> str:
    return repr(float(value))


def _time_problems(
    stamps: npt.NDArray[np.datetime64], step: int, max_gap_bars: int
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    missing = np.isnat(stamps)
    problems += [(r, "timestamp is missing or not a date") for r in _rows(missing)]
    if missing.any():
        return problems
    ms = stamps.astype("datetime64[ms]").astype(np.int64)
    if step <= _DAY_MS:
        off_grid = ms % step != 0
        problems += [
            (
                r,
                f"timestamp {_iso(ms[r - 1])} is not on the {step // 1000}s interval grid "
                "(wrong frequency?)",
            )
            for r in _rows(off_grid)
        ]
    diffs = np.diff(ms)
    rows_after = np.arange(2, len(ms) + 1)
    for r in rows_after[diffs == 0]:
        problems.append((int(r), f"duplicate timestamp {_iso(ms[r - 1])} (also row {r - 1})"))
    for r in rows_after[diffs < 0]:
        problems.append(
            (int(r), f"timestamp {_iso(ms[r - 1])} is not after row {r - 1}'s {_iso(ms[r - 2])}")
        )
    positive = diffs > 0
    off_step = positive & (diffs % step != 0)
    for r, d in zip(rows_after[off_step], diffs[off_step], strict=True):
        problems.append(
            (
                int(r),
                f"{d / 1000:g}s since the previous bar is not a multiple of the "
                f"{step // 1000}s interval (wrong frequency?)",
            )
        )
    too_long = positive & ~off_step & (diffs // step - 1 > max_gap_bars)
    for r, d in zip(rows_after[too_long], diffs[too_long], strict=True):
        problems.append(
            (
                int(r),
                f"gap of {d // step - 1} missing bar(s) before this row exceeds "
                f"the tolerance of {max_gap_bars}",
            )
        )
    return problems


def _iso(ms: int | np.int64) -> str:
    return str(np.datetime64(int(ms), "ms")) + "Z"


def _gaps(ms: npt.NDArray[np.int64], step: int, *, monthly: bool = False) -> tuple[Gap, ...]:
    """Gaps between consecutive bars (for `1M` bars counted in months)."""
    positions, step = (month_index(ms), 1) if monthly else (ms, step)
    diffs = np.diff(positions)
    return tuple(
        Gap(
            after_row=int(i) + 1,
            missing_bars=int(diffs[i] // step - 1),
            first_missing=_next_open(int(ms[i]), step, monthly),
        )
        for i in np.flatnonzero(diffs > step)
    )


def _next_open(ms: int, step: int, monthly: bool) -> pd.Timestamp:
    stamp = pd.Timestamp(ms, unit="ms")
    return stamp + pd.DateOffset(months=1) if monthly else stamp + pd.Timedelta(milliseconds=step)


def _month_problems(stamps: npt.NDArray[np.datetime64], max_gap_bars: int) -> list[tuple[int, str]]:
    """The time rules for `1M` bars: open at 00:00 UTC on the 1st, one bar per month."""
    missing = np.isnat(stamps)
    problems = [(r, "timestamp is missing or not a date") for r in _rows(missing)]
    if missing.any():
        return problems
    ms = stamps.astype("datetime64[ms]").astype(np.int64)
    months = month_index(ms)
    starts = months.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    problems += [
        (r, f"timestamp {_iso(ms[r - 1])} is not the start of a month (1M bars open on the 1st)")
        for r in _rows(ms != starts)
    ]
    diffs = np.diff(months)
    rows_after = np.arange(2, len(ms) + 1)
    for r in rows_after[diffs <= 0]:
        problems.append(
            (int(r), f"timestamp {_iso(ms[r - 1])} is not in a later month than row {r - 1}")
        )
    for r, d in zip(
        rows_after[diffs - 1 > max_gap_bars], diffs[diffs - 1 > max_gap_bars], strict=True
    ):
        problems.append(
            (
                int(r),
                f"gap of {d - 1} missing bar(s) before this row exceeds the tolerance of "
                f"{max_gap_bars}",
            )
        )
    return problems


def _forward_fill(frame: pd.DataFrame, step: int, *, monthly: bool = False) -> pd.DataFrame:
    ms = timestamps_ms(frame)
    if monthly:
        months = np.arange(month_index(ms[:1])[0], month_index(ms[-1:])[0] + 1)
        grid = months.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    else:
        grid = np.arange(ms[0], ms[-1] + step, step, dtype=np.int64)
    position = np.searchsorted(ms, grid, side="right") - 1
    present = ms[position] == grid
    previous_close = frame["close"].to_numpy()[position]
    out = {"timestamp": grid.astype("datetime64[ms]")}
    for column in PRICE_COLUMNS:
        out[column] = np.where(present, frame[column].to_numpy()[position], previous_close)
    out["volume"] = np.where(present, frame["volume"].to_numpy()[position], 0.0)
    out["filled"] = np.where(present, frame["filled"].to_numpy()[position], True)
    return pd.DataFrame(out)

"""Import of the public Binance spot kline files (data.binance.vision), CSV or the published ZIP.

Columns, with or without a header row: open_time, open, high, low, close, volume, close_time,
quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore. Times are milliseconds
since the epoch, or microseconds in files from 2025 on; both are accepted, value by value.
Symbol and interval come from the published file name (`BTCUSDC-1h-2024-01.csv`,
`BTCUSDC-1h-2024-01-15.csv`, `.zip`) unless given. Every file is validated before anything is
stored, and a failure in any file stores nothing.

Gap rules apply to the *merged* series: the files of one symbol and interval are put end to
end (in time order; where two overlap, the later-starting file's bars win) and a gap between
two files counts like a gap inside one — monthly files with a missing month between them fail
`--max-gap 3`, and `--fill-gaps` fills the boundaries between files too.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.market.schema import (
    DEFAULT_MAX_GAP_BARS,
    MONTHLY,
    ValidatedOhlcv,
    interval_ms,
    month_index,
    timestamps_ms,
    utc_ms,
    validate_ohlcv,
)
from cvntrade.market.store import ParquetStore, WriteResult
from cvntrade.strategy import parse_symbol

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
FILE_NAME_RE = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[smhdwM])-\d{4}-\d{2}(?:-\d{2})?\.(?:csv|zip)$"
)
MICROSECONDS_ABOVE = 10**14  # ms timestamps stay below this until the year 5138
MONTH_CHECK_MS = 31 * 86_400_000  # the longest month, for the close_time check of 1M files


@dataclass(frozen=True, slots=True, eq=False)
class KlineFile:
    """One parsed and validated kline file."""

    path: Path
    symbol: str
    interval: str
    bars: ValidatedOhlcv


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """What importing one file did (bars read, gaps found and filled, store write counts)."""

    path: Path
    symbol: str
    interval: str
    rows: int
    gaps: int
    filled_bars: int
    write: WriteResult


def names_from_file(path: Path) -> tuple[str, str] | None:
    """(symbol, interval) from a Binance file name such as `BTCUSDC-1h-2024-01.csv`, else None."""
    match = FILE_NAME_RE.match(path.name)
    return (match["symbol"], match["interval"]) if match else None


def read_kline_file(
    path: Path,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    max_gap_bars: int = DEFAULT_MAX_GAP_BARS,
    fill_gaps: bool = False,
) -> KlineFile:
    """Parse and validate one kline file; raise `UserInputError` naming the file and rows."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    from_name = names_from_file(path)
    if (symbol is None or interval is None) and from_name is None:
        raise UserInputError(
            f"{path}: cannot tell symbol and interval from the file name (expected e.g. "
            "BTCUSDC-1h-2024-01.csv); pass --symbol and --interval"
        )
    if from_name is not None:
        symbol, interval = symbol or from_name[0], interval or from_name[1]
    assert symbol is not None and interval is not None
    symbol = parse_symbol(symbol)
    step = MONTH_CHECK_MS if interval == MONTHLY else interval_ms(interval)
    raw = _read_csv(path)
    frame = _to_ohlcv(raw, path, step)
    bars = validate_ohlcv(
        frame, source=str(path), interval=interval, max_gap_bars=max_gap_bars, fill_gaps=fill_gaps
    )
    return KlineFile(path=path, symbol=symbol, interval=interval, bars=bars)


def import_kline_files(
    store: ParquetStore,
    paths: Sequence[Path],
    *,
    symbol: str | None = None,
    interval: str | None = None,
    max_gap_bars: int = DEFAULT_MAX_GAP_BARS,
    fill_gaps: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> list[ImportedFile]:
    """Validate every file, then store them all; one bad file stores nothing from any file.

    `on_file` is called after each file is parsed and again after it is stored (progress bars).
    """
    parsed: list[KlineFile] = []
    for path in paths:
        parsed.append(
            read_kline_file(
                path,
                symbol=symbol,
                interval=interval,
                max_gap_bars=max_gap_bars,
            )
        )
        if on_file:
            on_file(path)
    merged = merge_files(parsed, max_gap_bars=max_gap_bars, fill_gaps=fill_gaps)
    results = []
    with store.all_or_nothing():  # a file that cannot be stored undoes the others
        for kline, bars in zip(parsed, merged, strict=True):
            write = store.write(kline.symbol, kline.interval, bars.frame, source="binance-csv")
            results.append(
                ImportedFile(
                    kline.path,
                    kline.symbol,
                    kline.interval,
                    len(kline.bars.frame),
                    len(bars.gaps),
                    bars.filled_bars,
                    write,
                )
            )
            if on_file:
                on_file(kline.path)
    return results


def merge_files(
    klines: Sequence[KlineFile], *, max_gap_bars: int, fill_gaps: bool
) -> list[ValidatedOhlcv]:
    """Check (and fill) gaps on the merged series of each symbol and interval; per file, its
    share of the merged series: its bars from its first bar up to the next file's first bar,
    with the gap after it (and its filled bars) counted there. Raises `UserInputError` naming
    the two files around a gap longer than `max_gap_bars`; nothing is stored then."""
    out: list[ValidatedOhlcv | None] = [None] * len(klines)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, kline in enumerate(klines):
        groups.setdefault((kline.symbol, kline.interval), []).append(index)
    for (symbol, interval), members in groups.items():
        order = sorted(members, key=lambda i: int(_first_ms(klines[i])))
        _check_boundaries([klines[i] for i in order], interval, max_gap_bars)
        frame = pd.concat([klines[i].bars.frame for i in order], ignore_index=True)
        frame = frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
        series = validate_ohlcv(
            frame,
            source=f"{symbol} {interval} ({len(order)} file(s) merged)",
            interval=interval,
            max_gap_bars=max_gap_bars,
            fill_gaps=fill_gaps,
        )
        ms = timestamps_ms(series.frame)
        starts = [_first_ms(klines[i]) for i in order] + [np.iinfo(np.int64).max]
        for position, index in enumerate(order):
            low, high = starts[position], starts[position + 1]
            share = series.frame[(ms >= low) & (ms < high)].reset_index(drop=True)
            gaps = tuple(g for g in series.gaps if low <= utc_ms(g.first_missing) < high)
            filled = int(share["filled"].sum()) if fill_gaps else 0
            out[index] = ValidatedOhlcv(frame=share, gaps=gaps, filled_bars=filled)
    return [bars for bars in out if bars is not None]


def _first_ms(kline: KlineFile) -> int:
    return int(timestamps_ms(kline.bars.frame)[0])


def _check_boundaries(ordered: Sequence[KlineFile], interval: str, max_gap_bars: int) -> None:
    monthly = interval == MONTHLY
    step = 0 if monthly else interval_ms(interval)
    last_ms = int(timestamps_ms(ordered[0].bars.frame)[-1])
    previous = ordered[0]
    for kline in ordered[1:]:
        first = _first_ms(kline)
        missing = (
            _bars_between(last_ms, first, step) if not monthly else _months_between(last_ms, first)
        )
        if missing > max_gap_bars:
            raise UserInputError(
                f"{kline.path}: gap of {missing} missing bar(s) after {previous.path} "
                f"(last bar {_iso(last_ms)}, next {_iso(first)}) exceeds the tolerance of "
                f"{max_gap_bars} (gaps are checked on the merged series); nothing was stored"
            )
        end = int(timestamps_ms(kline.bars.frame)[-1])
        if end > last_ms:
            last_ms, previous = end, kline


def _bars_between(last_ms: int, first_ms: int, step: int) -> int:
    return (first_ms - last_ms) // step - 1


def _months_between(last_ms: int, first_ms: int) -> int:
    months = month_index(np.array([last_ms, first_ms], dtype=np.int64))
    return int(months[1] - months[0]) - 1


def _iso(ms: int) -> str:
    return str(np.datetime64(ms, "ms")) + "Z"


# What a damaged or unusual file makes pandas' reader raise (a ZIP that is not one, truncated,
# encrypted or compressed with an unsupported method): the user's file, not a bug (exit 2).
READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
    pd.errors.ParserError,
)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except READ_ERRORS as exc:
        raise UserInputError(f"{path}: cannot read file: {str(exc).splitlines()[0]}") from None
    if raw.shape[1] != len(KLINE_COLUMNS):
        raise UserInputError(
            f"{path}: expected {len(KLINE_COLUMNS)} kline columns ({', '.join(KLINE_COLUMNS)}), "
            f"found {raw.shape[1]}; nothing was stored"
        )
    raw.columns = pd.Index(KLINE_COLUMNS)
    if str(raw.iloc[0, 0]).strip().lower() == "open_time":
        raw = raw.iloc[1:].reset_index(drop=True)
    if raw.empty:
        raise UserInputError(f"{path}: no rows; nothing was stored")
    return raw


def _to_ohlcv(raw: pd.DataFrame, path: Path, step: int) -> pd.DataFrame:
    """Convert text columns; timestamps that are not integers become NaT (reported by row)."""
    open_units = _epoch_units(raw["open_time"])
    close_units = _epoch_units(raw["close_time"])
    open_ms = _to_ms(open_units)
    close_ms = _to_ms(close_units)
    shortest = 28 * 86_400_000 if step == MONTH_CHECK_MS else step  # months: 28-31 days
    bad_close = ~np.isnan(open_ms) & ~np.isnan(close_ms) & (close_ms - open_ms >= step)
    bad_close |= ~np.isnan(open_ms) & ~np.isnan(close_ms) & (close_ms - open_ms < shortest - 1000)
    if bad_close.any():
        row = int(np.flatnonzero(bad_close)[0]) + 1
        span = (close_ms[row - 1] - open_ms[row - 1]) / 1000
        raise UserInputError(
            f"{path}: row {row}: close_time is {span:g}s after open_time, which does not match "
            f"the {step // 1000}s interval (wrong interval in the file name or --interval?); "
            "nothing was stored"
        )
    stamps = pd.to_datetime(pd.Series(open_ms), unit="ms", errors="coerce")
    frame = pd.DataFrame({"timestamp": stamps})
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = pd.to_numeric(raw[column].str.strip(), errors="coerce")
    return frame


def _epoch_units(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.str.strip(), errors="coerce")


def _to_ms(values: pd.Series) -> npt.NDArray[np.float64]:
    array = values.to_numpy(dtype=np.float64)
    return np.where(array >= MICROSECONDS_ABOVE, np.floor(array / 1000), array)

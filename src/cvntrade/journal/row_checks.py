"""Row-by-row validation of a trade file: the reference for every rule and every message.

Rows are numbered from 1 (the first data row, after the CSV header). Each rule names its column:
text columns are non-empty, printable and within the journal's widths; symbols and strategies
parse; loss names and exit reasons are known; numbers are finite and within ranges that both
SQLite and PostgreSQL store; times are ISO-8601 text or real timestamps between 2000 and 2100.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

from cvntrade.clock import EARLIEST, LATEST
from cvntrade.errors import UserInputError
from cvntrade.journal.records import EXIT_REASONS, LOSS_FUNCTIONS, SIDES, Trade
from cvntrade.strategy import parse_strategy_label, parse_symbol, strategy_label

TEXT_MAX_LEN = {"trade_id": 128, "crypto_symbol": 20, "strategy": 40, "model_name": 120}
"""The column widths of `trade_journal`: checked here so both backends refuse the same rows."""
PNL_LIMIT_PCT = 1_000.0
"""|realized_pnl_pct| above 1000 % is a unit or parsing error (and overflows PostgreSQL sums)."""
FEES_LIMIT_PCT = 100.0
PRICE_LIMIT = 1e12
VERSION_LIMIT = 2**31 - 1
_ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)


def parse_row(record: dict[str, object]) -> Trade:
    """One row of a trade file as a `Trade`, or `ValueError` naming its first problem.

    This is the reference: `fast_checks` accepts a row only when this function would accept it
    with the same values, and every row it does not accept is judged (and named) here.
    """
    trade_id = _text(record, "trade_id")
    symbol = _text(record, "crypto_symbol")
    try:
        parse_symbol(symbol)
        strategy = strategy_label(*parse_strategy_label(_text(record, "strategy")))
    except UserInputError as exc:
        raise ValueError(str(exc)) from None
    if len(strategy) > TEXT_MAX_LEN["strategy"]:  # the canonical label can be longer than typed
        raise ValueError(
            f"strategy {strategy!r} is longer than {TEXT_MAX_LEN['strategy']} characters"
        )
    loss = _choice(record, "model_loss_function", LOSS_FUNCTIONS)
    entry_time, exit_time = _time(record, "entry_time"), _time(record, "exit_time")
    if exit_time < entry_time:
        raise ValueError(f"exit_time {exit_time} is before entry_time {entry_time}")
    version = _number(record, "model_version")
    if version != int(version) or not 1 <= version <= VERSION_LIMIT:
        raise ValueError(
            f"model_version must be a positive integer (got {record['model_version']!r})"
        )
    parsed_probability = None
    if _present(record, "probability"):
        parsed_probability = _number(record, "probability")
        if not 0.0 <= parsed_probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1] (got {record['probability']!r})")
    side = _text(record, "side") if _present(record, "side") else "long"
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)} (got {side!r})")
    return Trade(
        trade_id=trade_id,
        crypto_symbol=symbol,
        strategy=strategy,
        model_name=_text(record, "model_name"),
        model_version=int(version),
        model_loss_function=loss,
        entry_time=entry_time,
        exit_time=exit_time,
        entry_price=_positive(record, "entry_price"),
        exit_price=_positive(record, "exit_price"),
        exit_reason=_choice(record, "exit_reason", EXIT_REASONS),
        fees_pct=_bounded(record, "fees_pct", 0.0, FEES_LIMIT_PCT),
        realized_pnl_pct=_bounded(record, "realized_pnl_pct", -PNL_LIMIT_PCT, PNL_LIMIT_PCT),
        probability=parsed_probability,
        side=side,
    )


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _present(record: dict[str, object], column: str) -> bool:
    value = record.get(column)
    return value is not None and not _is_nan(value) and str(value).strip() != ""


def _text(record: dict[str, object], column: str) -> str:
    value = record[column]
    if value is None or _is_nan(value) or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{column} is empty")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"{column} must be text (got {type(value).__name__})")
    text = str(value).strip()
    if any(not char.isprintable() for char in text):
        raise ValueError(f"{column} contains a control character")
    limit = TEXT_MAX_LEN.get(column)
    if limit is not None and len(text) > limit:
        raise ValueError(f"{column} is longer than {limit} characters ({len(text)})")
    return text


def _choice(record: dict[str, object], column: str, allowed: tuple[str, ...]) -> str:
    value = _text(record, column)
    if value not in allowed:
        raise ValueError(f"{column} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _number(record: dict[str, object], column: str) -> float:
    raw = record[column]
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{column} is not a number (got {raw!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} must be finite (got {raw!r})")
    return value


def _positive(record: dict[str, object], column: str) -> float:
    value = _number(record, column)
    if not 0 < value <= PRICE_LIMIT:
        raise ValueError(f"{column} must be > 0 and <= {PRICE_LIMIT:g} (got {record[column]!r})")
    return value


def _bounded(record: dict[str, object], column: str, low: float, high: float) -> float:
    value = _number(record, column)
    if not low <= value <= high:
        raise ValueError(f"{column} must be in [{low:g}, {high:g}] (got {record[column]!r})")
    return value


def _time(record: dict[str, object], column: str) -> dt.datetime:
    raw = record[column]
    if raw is None or _is_nan(raw) or raw is pd.NaT or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(f"{column} is empty")
    # Only ISO-8601 text or real timestamps: an epoch number is ambiguous (s? ms?) and words such
    # as "now" or "30/11/2026" are guesses.
    if isinstance(raw, str):
        if not _ISO_8601.match(raw.strip()):
            raise ValueError(
                f"{column} is not a timestamp (got {raw!r}): expected ISO-8601 such as "
                "2026-11-24T12:00:00Z"
            )
    elif not isinstance(raw, (dt.datetime, pd.Timestamp)):
        raise ValueError(
            f"{column} is not a timestamp (got {type(raw).__name__} {raw!r}): expected ISO-8601"
        )
    try:
        stamp = pd.Timestamp(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{column} is not a timestamp (got {raw!r})") from None
    if pd.isna(stamp):
        raise ValueError(f"{column} is empty")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    result: dt.datetime = stamp.to_pydatetime()
    if not EARLIEST <= result < LATEST:
        raise ValueError(f"{column} {result} is outside {EARLIEST:%Y} to {LATEST:%Y}")
    return result


__all__ = ["parse_row"]

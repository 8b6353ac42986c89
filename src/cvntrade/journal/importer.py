"""Bulk import of trades from CSV or Parquet: validate everything first, then write all or nothing.

Rows are numbered from 1 (the first data row, after the CSV header). Re-importing the same file
is a no-op: a `trade_id` already in the journal with identical values is skipped, while the same
`trade_id` with different values is an error.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from cvntrade.clock import EARLIEST, LATEST
from cvntrade.db.engine import write_transaction
from cvntrade.errors import ConflictError, UserInputError
from cvntrade.journal.records import EXIT_REASONS, LOSS_FUNCTIONS, SIDES, Trade
from cvntrade.journal.repository import existing_trades, insert_trades
from cvntrade.strategy import parse_strategy_label, parse_symbol, strategy_label

REQUIRED_COLUMNS = (
    "trade_id",
    "crypto_symbol",
    "strategy",
    "model_name",
    "model_version",
    "model_loss_function",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "exit_reason",
    "fees_pct",
    "realized_pnl_pct",
)
OPTIONAL_COLUMNS = ("side", "probability")
MAX_REPORTED_PROBLEMS = 5
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


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows read, inserted, and skipped as already present."""

    path: Path
    rows: int
    inserted: int
    skipped_existing: int


def read_trade_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet trade file as strings/numbers, without interpreting values yet."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UserInputError(f"{path}: cannot read file: {str(exc).splitlines()[0]}") from None
    raise UserInputError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def parse_trades(frame: pd.DataFrame, source_name: str) -> list[Trade]:
    """Validate every row of `frame`: the trades, or one `UserInputError` naming the bad rows."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UserInputError(f"{source_name}: missing column(s) {', '.join(missing)}")
    unknown = [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise UserInputError(f"{source_name}: unknown column(s) {', '.join(map(str, unknown))}")
    if frame.empty:
        raise UserInputError(f"{source_name}: no rows to import")

    problems: list[str] = []
    trades: list[Trade] = []
    seen: dict[str, int] = {}
    for position, record in enumerate(frame.to_dict("records"), start=1):
        try:
            trade = _parse_row({str(k): v for k, v in record.items()})
        except ValueError as exc:
            problems.append(f"row {position}: {exc}")
            continue
        if trade.trade_id in seen:
            problems.append(
                f"row {position}: trade_id {trade.trade_id!r} repeats row {seen[trade.trade_id]}"
            )
            continue
        seen[trade.trade_id] = position
        trades.append(trade)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
        more = len(problems) - MAX_REPORTED_PROBLEMS
        suffix = f"; and {more} more invalid row(s)" if more > 0 else ""
        raise UserInputError(f"{source_name}: {shown}{suffix}; nothing was imported")
    return trades


def import_trades(engine: Engine, paths: Sequence[Path]) -> list[ImportResult]:
    """Validate every file completely, then insert all their new trades in one transaction.

    Either every file is imported or nothing is: a bad row anywhere writes nothing.
    """
    parsed = [(path, parse_trades(read_trade_file(path), str(path))) for path in paths]
    origin: dict[str, tuple[Path, int, Trade]] = {}
    for path, trades in parsed:
        for row, trade in enumerate(trades, start=1):
            if trade.trade_id in origin:
                first_path, first_row, _ = origin[trade.trade_id]
                raise UserInputError(
                    f"{path}: row {row}: trade_id {trade.trade_id!r} repeats {first_path} row "
                    f"{first_row}; nothing was imported"
                )
            origin[trade.trade_id] = (path, row, trade)
    try:
        return _write(engine, parsed, origin)
    except IntegrityError:
        # A parallel import of the same trades committed first (PostgreSQL does not block our
        # existence check on its uncommitted rows): nothing of ours was written.
        raise ConflictError(
            "another import wrote some of these trades at the same time; nothing was imported "
            "by this run: run it again (identical trades are then skipped)"
        ) from None


def _write(
    engine: Engine,
    parsed: list[tuple[Path, list[Trade]]],
    origin: dict[str, tuple[Path, int, Trade]],
) -> list[ImportResult]:
    with write_transaction(engine) as conn:
        stored = existing_trades(conn, origin)
        for trade_id, old in stored.items():
            path, row, new = origin[trade_id]
            if _normalised(old) != _normalised(new):
                raise UserInputError(
                    f"{path}: row {row}: trade_id {trade_id!r} is already in the journal with "
                    f"different values; nothing was imported"
                )
        results = []
        for path, trades in parsed:
            fresh = [replace(t, source="import") for t in trades if t.trade_id not in stored]
            insert_trades(conn, fresh)
            results.append(ImportResult(path, len(trades), len(fresh), len(trades) - len(fresh)))
    return results


def _normalised(trade: Trade) -> tuple[object, ...]:
    return tuple(getattr(trade, f) for f in Trade.__dataclass_fields__ if f != "source")


def _parse_row(record: dict[str, object]) -> Trade:
    trade_id = _text(record, "trade_id")
    symbol = _text(record, "crypto_symbol")
    try:
        parse_symbol(symbol)
        strategy = strategy_label(*parse_strategy_label(_text(record, "strategy")))
    except UserInputError as exc:
        raise ValueError(str(exc)) from None
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


__all__ = ["ImportResult", "import_trades", "parse_trades", "read_trade_file"]

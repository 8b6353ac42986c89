"""Bulk import of trades from CSV or Parquet: validate everything first, then write all or nothing.

Rows are numbered from 1 (the first data row, after the CSV header). Re-importing the same file
is a no-op: a `trade_id` already in the journal with identical values is skipped, while the same
`trade_id` with different values is an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import IntegrityError, OperationalError

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import EARLIEST, LATEST, utc_now
from cvntrade.errors import ConflictError, DependencyError, UserInputError
from cvntrade.journal.records import EXIT_REASONS, LOSS_FUNCTIONS, SIDES, Trade
from cvntrade.journal.staging import (
    already_present,
    create_staging,
    drop_staging,
    first_changed,
    lock_journal_import,
    publish,
    stage,
    staging_table,
)
from cvntrade.redaction import redact
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
CHUNK_ROWS = 10_000
"""Rows validated and staged per step: bounds memory whatever the file size."""
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
    """What an import did: rows read, inserted, skipped as already present, and the file digest."""

    path: Path
    rows: int
    inserted: int
    skipped_existing: int
    sha256: str = ""


def _check_columns(columns: Sequence[object], source_name: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UserInputError(f"{source_name}: missing column(s) {', '.join(missing)}")
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise UserInputError(f"{source_name}: unknown column(s) {', '.join(map(str, unknown))}")


def iter_trade_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet trade file in chunks of raw values (bounded memory at any size).

    The columns are checked before the first chunk; values are interpreted by `parse_trades`.
    """
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise UserInputError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")
    try:
        if suffix == ".csv":
            _check_columns(list(pd.read_csv(path, nrows=0).columns), str(path))
            reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows)
            with reader:
                yield from reader
            return
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        _check_columns(parquet.schema_arrow.names, str(path))
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UserInputError(f"{path}: cannot read file: {str(exc).splitlines()[0]}") from None


def read_trade_file(path: Path) -> pd.DataFrame:
    """Read a whole (small) trade file as raw values; `import_trades` streams instead."""
    chunks = list(iter_trade_chunks(path))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


@dataclass
class _Validation:
    """Problems and trade_ids seen so far over every chunk of every file of one import."""

    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(text)

    def raise_if_any(self, source_name: str) -> None:
        if self.problem_count:
            shown = "; ".join(self.problems)
            more = self.problem_count - len(self.problems)
            suffix = f"; and {more} more invalid row(s)" if more > 0 else ""
            raise UserInputError(f"{source_name}: {shown}{suffix}; nothing was imported")


def _parse_chunk(
    frame: pd.DataFrame,
    first_row: int,
    file_index: int,
    names: Sequence[str],
    state: _Validation,
) -> list[tuple[int, Trade]]:
    parsed: list[tuple[int, Trade]] = []
    prefix = f"{names[file_index]}: " if len(names) > 1 else ""
    for position, record in enumerate(frame.to_dict("records"), start=first_row):
        try:
            trade = _parse_row({str(k): v for k, v in record.items()})
        except ValueError as exc:
            state.problem(f"{prefix}row {position}: {exc}")
            continue
        earlier = state.seen.get(trade.trade_id)
        if earlier is not None:
            where = (
                f"row {earlier[1]}"
                if earlier[0] == file_index
                else (f"{names[earlier[0]]} row {earlier[1]}")
            )
            state.problem(f"{prefix}row {position}: trade_id {trade.trade_id!r} repeats {where}")
            continue
        state.seen[trade.trade_id] = (file_index, position)
        parsed.append((position, trade))
    return parsed


def parse_trades(frame: pd.DataFrame, source_name: str) -> list[Trade]:
    """Validate every row of `frame`: the trades, or one `UserInputError` naming the bad rows."""
    _check_columns(list(frame.columns), source_name)
    if frame.empty:
        raise UserInputError(f"{source_name}: no rows to import")
    state = _Validation()
    trades = _parse_chunk(frame, 1, 0, [source_name], state)
    state.raise_if_any(source_name)
    return [trade for _, trade in trades]


def import_trades(
    engine: Engine, paths: Sequence[Path], *, actor: str = "cvntrade"
) -> list[ImportResult]:
    """Validate every file completely, then add all their new trades in one short transaction.

    Either every file is imported or nothing is: a bad row anywhere writes nothing. Files are
    streamed in chunks into a per-connection staging table (no journal lock held meanwhile);
    the final transaction checks for changed trade_ids, copies the new rows and writes one
    `journal.import` audit row (files, rows, sha256, actor) when something was inserted.
    """
    names = [str(p) for p in paths]
    table = staging_table()
    with engine.connect() as conn:
        try:
            with conn.begin():
                create_staging(conn, table)
            rows = _stage_all(conn, table, paths, names)
            digests = [_sha256(p) for p in paths]
            return _publish(conn, table, paths, names, rows, digests, actor)
        except OperationalError as exc:
            raise DependencyError(f"database unavailable: {redact(str(exc.orig))}") from exc
        finally:
            if conn.in_transaction():
                conn.rollback()
            with conn.begin():
                drop_staging(conn, table)


def _stage_all(
    conn: Connection, table: Table, paths: Sequence[Path], names: list[str]
) -> list[int]:
    state = _Validation()
    counts = []
    for file_index, path in enumerate(paths):
        count = 0
        for chunk in iter_trade_chunks(path):
            parsed = _parse_chunk(chunk, count + 1, file_index, names, state)
            count += len(chunk)
            if not state.problem_count:  # once invalid, only keep validating (nothing is kept)
                with conn.begin():
                    stage(conn, table, file_index, parsed)
        if count == 0:
            raise UserInputError(f"{path}: no rows to import")
        counts.append(count)
    state.raise_if_any(names[0] if len(names) == 1 else "import")
    return counts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _publish(
    conn: Connection,
    table: Table,
    paths: Sequence[Path],
    names: list[str],
    rows: list[int],
    digests: list[str],
    actor: str,
) -> list[ImportResult]:
    conn.execution_options(sqlite_begin="IMMEDIATE")
    try:
        with conn.begin():
            lock_journal_import(conn)
            changed = first_changed(conn, table)
            if changed is not None:
                index, row, trade_id = changed
                raise UserInputError(
                    f"{names[index]}: row {row}: trade_id {trade_id!r} is already in the journal "
                    "with different values; nothing was imported"
                )
            present = already_present(conn, table)
            publish(conn, table, "import")
            results = [
                ImportResult(path, n, n - present.get(i, 0), present.get(i, 0), digest)
                for i, (path, n, digest) in enumerate(zip(paths, rows, digests, strict=True))
            ]
            if any(r.inserted for r in results):
                _audit(conn, results, actor)
    except IntegrityError:
        # An engine or import not serialised by our lock wrote one of these trade_ids first.
        raise ConflictError(
            "another writer added some of these trades at the same time; nothing was imported "
            "by this run: run it again (identical trades are then skipped)"
        ) from None
    finally:
        conn.execution_options(sqlite_begin="")
    return results


def _audit(conn: Connection, results: list[ImportResult], actor: str) -> None:
    files = [
        {"path": str(r.path), "rows": r.rows, "inserted": r.inserted, "sha256": r.sha256}
        for r in results
    ]
    total = sum(r.inserted for r in results)
    write_audit(
        conn,
        AuditEntry(
            at=utc_now(),
            actor=actor,
            action="journal.import",
            target="trade_journal",
            reason=f"imported {total} trade(s) from {len(results)} file(s)",
            after={"files": files, "inserted": total},
        ),
    )


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


__all__ = [
    "ImportResult",
    "import_trades",
    "iter_trade_chunks",
    "parse_trades",
    "read_trade_file",
]

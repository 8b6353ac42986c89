"""Bulk import of trades from CSV or Parquet: streamed, validated, visible all at once.

Rows are numbered from 1 (the first data row, after the CSV header). Re-importing the same file
is a no-op: a `trade_id` already in the journal with identical values is skipped, while the same
`trade_id` with different values is an error.

How (docs/storage.md, "Importing trades"): each file is read in chunks of `CHUNK_ROWS` rows
(`trade_files`), each chunk is validated (`validation`) and written in its own short transaction
into an import batch (`import_batches`) whose rows the view `trade_journal` does not show yet.
Once every row of every file is valid and written, one tiny transaction publishes the batch
together with its `journal.import` audit row. A bad row anywhere, a conflict, a crash or a kill
leaves nothing visible; the rows of a dead import are removed by the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cvntrade.audit import ACTOR_MAX_LEN, AuditEntry
from cvntrade.clock import Clock, utc_now
from cvntrade.errors import ConflictError, DependencyError, UserInputError
from cvntrade.journal.batch_owner import claim_owner
from cvntrade.journal.import_batches import (
    WriteTurns,
    discard_batch,
    open_batch,
    publish_batch,
    recover_stale_batches,
    stage_rows,
)
from cvntrade.journal.records import Trade
from cvntrade.journal.row_checks import parse_row
from cvntrade.journal.trade_files import (
    check_columns,
    check_trade_file,
    iter_trade_chunks,
    sha256_of,
)
from cvntrade.journal.validation import Validation, validate_chunk
from cvntrade.redaction import redact
from cvntrade.text import check_text

CHUNK_ROWS = 10_000
"""Rows read and validated per step (bounds memory); `import_batches` bounds each write."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows read, inserted, skipped as already present, and the file digest."""

    path: Path
    rows: int
    inserted: int
    skipped_existing: int
    sha256: str = ""


def parse_trades(frame: pd.DataFrame, source_name: str) -> list[Trade]:
    """Validate every row of `frame`: the trades, or one `UserInputError` naming the bad rows.

    Row by row with the reference rules (`row_checks.parse_row`), for small in-memory frames;
    `import_trades` streams files through the same rules.
    """
    check_columns(list(frame.columns), source_name)
    if frame.empty:
        raise UserInputError(f"{source_name}: no rows to import")
    state = Validation([source_name])
    seen: dict[str, int] = {}
    trades = []
    for position, record in enumerate(frame.to_dict("records"), start=1):
        try:
            trade = parse_row({str(k): v for k, v in record.items()})
        except ValueError as exc:
            state.problem(f"row {position}: {exc}")
            continue
        if trade.trade_id in seen:
            state.problem(
                f"row {position}: trade_id {trade.trade_id!r} repeats row {seen[trade.trade_id]}"
            )
            continue
        seen[trade.trade_id] = position
        trades.append(trade)
    state.raise_if_any(source_name)
    return trades


def import_trades(
    engine: Engine, paths: Sequence[Path], *, actor: str = "cvntrade", clock: Clock = utc_now
) -> list[ImportResult]:
    """Import every file or none: validate and write in chunks, then publish all at once.

    Memory stays bounded whatever the file size, and no transaction holds the database's write
    lock for more than one chunk, so other writers (`config set`, the engines) proceed during a
    long import. One `journal.import` audit row (actor; per file: path, rows, inserted, SHA-256)
    is written with the publication when something was inserted.
    """
    check_text(actor, "actor", max_len=ACTOR_MAX_LEN)
    for path in paths:
        check_trade_file(path)
    try:
        with engine.connect() as conn:
            turns = WriteTurns(conn)
            with turns.large_cache():
                recover_stale_batches(turns)
                owner = claim_owner(conn)
                try:
                    batch_id = open_batch(turns, owner.token, actor, clock())
                    try:
                        return _import(turns, batch_id, paths, actor, clock)
                    except BaseException:
                        with contextlib.suppress(Exception):  # else the next import removes it
                            discard_batch(turns, batch_id)
                        raise
                finally:
                    owner.release()
    except OperationalError as exc:
        raise DependencyError(f"database unavailable: {redact(str(exc.orig))}") from exc


def _import(
    turns: WriteTurns, batch_id: int, paths: Sequence[Path], actor: str, clock: Clock
) -> list[ImportResult]:
    names = [str(p) for p in paths]
    state = Validation(names)
    rows, inserted, skipped = [0] * len(paths), [0] * len(paths), [0] * len(paths)
    changed: tuple[int, int, str] | None = None
    for index, path in enumerate(paths):
        for batch in iter_trade_chunks(path, CHUNK_ROWS):
            accepted = validate_chunk(batch, rows[index] + 1, index, state)
            rows[index] += batch.num_rows
            if state.problem_count or changed is not None:
                continue  # the import has failed: keep validating to name the problems
            staged = stage_rows(turns, batch_id, accepted)
            if staged.busy_batch is not None:
                raise ConflictError(
                    f"another journal import (batch {staged.busy_batch}) is adding some of these "
                    "trades right now; nothing was imported by this run: run it again when it "
                    "has finished (identical trades are then skipped)"
                )
            if staged.changed is not None:
                changed = (index, *staged.changed)
                continue
            inserted[index] += staged.inserted
            skipped[index] += staged.skipped
        if rows[index] == 0:
            raise UserInputError(f"{path}: no rows to import")
    state.raise_if_any(names[0] if len(names) == 1 else "import")
    if changed is not None:
        index, row, trade_id = changed
        raise UserInputError(
            f"{names[index]}: row {row}: trade_id {trade_id!r} is already in the journal "
            "with different values; nothing was imported"
        )
    results = [
        ImportResult(path, n, new, old, sha256_of(path))
        for path, n, new, old in zip(paths, rows, inserted, skipped, strict=True)
    ]
    if sum(inserted):
        now = clock()
        publish_batch(turns, batch_id, sum(inserted), _audit(results, actor, batch_id, now), now)
    else:
        discard_batch(turns, batch_id)  # nothing new: no batch, no audit row
    return results


def _audit(results: list[ImportResult], actor: str, batch_id: int, now: dt.datetime) -> AuditEntry:
    files = [
        {"path": str(r.path), "rows": r.rows, "inserted": r.inserted, "sha256": r.sha256}
        for r in results
    ]
    total = sum(r.inserted for r in results)
    return AuditEntry(
        at=now,
        actor=actor,
        action="journal.import",
        target="trade_journal",
        reason=f"imported {total} trade(s) from {len(results)} file(s)",
        after={"files": files, "inserted": total, "batch": batch_id},
    )


__all__ = ["CHUNK_ROWS", "ImportResult", "import_trades", "iter_trade_chunks", "parse_trades"]

"""Validating one import chunk by chunk: accepted rows as typed columns, problems by row.

Each chunk goes through `fast_checks` (whole columns at once); the rows it does not accept are
judged one by one by `row_checks.parse_row`, which accepts them or names the problem. Then every
accepted `trade_id` is checked against those accepted before it, in this chunk and in every
earlier chunk and file of the same import (`SeenTradeIds`). Problems are reported in row order,
the first `MAX_REPORTED_PROBLEMS` by name and the rest counted, on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from cvntrade.errors import UserInputError
from cvntrade.journal.fast_checks import TRADE_SCHEMA, fast_check
from cvntrade.journal.records import Trade
from cvntrade.journal.row_checks import parse_row
from cvntrade.journal.seen_ids import NOT_SEEN, SeenTradeIds

MAX_REPORTED_PROBLEMS = 5
ROW_BITS = 40
"""A location packs the file index above the row number (files of up to 10^12 rows)."""


@dataclass
class Validation:
    """Problems and accepted trade_ids so far, over every chunk of every file of one import."""

    names: Sequence[str]
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    seen: SeenTradeIds = field(default_factory=SeenTradeIds)

    def problem(self, text: str) -> None:
        """Count a problem; keep its text if it is among the first few."""
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(text)

    def raise_if_any(self, source_name: str) -> None:
        """One `UserInputError` naming the first problems and counting the others."""
        if self.problem_count:
            shown = "; ".join(self.problems)
            more = self.problem_count - len(self.problems)
            suffix = f"; and {more} more invalid row(s)" if more > 0 else ""
            raise UserInputError(f"{source_name}: {shown}{suffix}; nothing was imported")

    def where(self, location: int, file_index: int) -> str:
        """`row N` in the same file, `other.csv row N` in another one."""
        earlier_file, row = location >> ROW_BITS, location & ((1 << ROW_BITS) - 1)
        return (
            f"row {row}" if earlier_file == file_index else f"{self.names[earlier_file]} row {row}"
        )


def validate_chunk(
    batch: pa.RecordBatch, first_row: int, file_index: int, state: Validation
) -> pa.Table:
    """The accepted rows of `batch` (typed, plus their `row` number); problems go to `state`."""
    n = batch.num_rows
    fast = fast_check(batch)
    ok = fast.ok if fast is not None else np.zeros(n, dtype=bool)
    problems: list[tuple[int, str]] = []
    slow_rows: list[int] = []
    slow_trades: list[Trade] = []
    others = np.flatnonzero(~ok)
    if len(others):
        records = batch.take(pa.array(others)).to_pandas().to_dict("records")
        for index, record in zip(others.tolist(), records, strict=True):
            try:
                slow_trades.append(parse_row({str(k): v for k, v in record.items()}))
            except ValueError as exc:
                problems.append((index, str(exc)))
                continue
            slow_rows.append(index)
    parts = []
    if fast is not None and ok.any():
        parts.append(
            fast.table.filter(pa.array(ok)).append_column("index", pa.array(np.flatnonzero(ok)))
        )
    if slow_trades:
        rows = [{name: getattr(t, name) for name in TRADE_SCHEMA.names} for t in slow_trades]
        table = pa.Table.from_pylist(rows, schema=TRADE_SCHEMA)
        parts.append(table.append_column("index", pa.array(slow_rows, pa.int64())))
    accepted = _repeats_removed(parts, first_row, file_index, state, problems)
    prefix = f"{state.names[file_index]}: " if len(state.names) > 1 else ""
    for index, text in sorted(problems):
        state.problem(f"{prefix}row {first_row + index}: {text}")
    return accepted


def _repeats_removed(
    parts: list[pa.Table],
    first_row: int,
    file_index: int,
    state: Validation,
    problems: list[tuple[int, str]],
) -> pa.Table:
    if not parts:
        return _empty()
    table = pa.concat_tables(parts).sort_by("index")
    index = table.column("index").to_numpy()
    ids = np.asarray(table.column("trade_id").to_numpy(zero_copy_only=False), dtype=object)
    codes, _ = pd.factorize(ids)
    first_in_chunk = np.full(codes.max() + 1, len(ids), dtype=np.int64)
    np.minimum.at(first_in_chunk, codes, np.arange(len(ids)))
    earlier = state.seen.first_seen(ids)
    locations = (file_index << ROW_BITS) + first_row + index
    in_chunk = first_in_chunk[codes]
    repeated = (earlier != NOT_SEEN) | (in_chunk != np.arange(len(ids)))
    for position in np.flatnonzero(repeated).tolist():
        location = earlier[position]
        if location == NOT_SEEN:
            location = locations[in_chunk[position]]
        where = state.where(int(location), file_index)
        problems.append((int(index[position]), f"trade_id {ids[position]!r} repeats {where}"))
    state.seen.add(ids[~repeated], locations[~repeated])
    rows = pa.array(first_row + index[~repeated])
    return table.filter(pa.array(~repeated)).drop_columns(["index"]).append_column("row", rows)


def _empty() -> pa.Table:
    return TRADE_SCHEMA.empty_table().append_column("row", pa.array([], pa.int64()))

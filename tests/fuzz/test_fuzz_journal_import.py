"""Fuzz `cvntrade journal import` with hostile CSV and Parquet files.

Cells: huge / NaN / inf numbers, odd times (epoch numbers, `now`, 30/11/2026, year 1), unicode
and control characters, bytes, lists, empty values; columns: missing, extra, duplicated,
reordered; files: empty, header only, binary garbage, latin-1, BOM, a CSV named .parquet, a
directory, a missing path. Any of them: the contract of fuzz_support (exit 0/2/3, one line,
nothing changed on a refusal); SQLite always, PostgreSQL for a smaller sample.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from fuzz_strategies import SPECIAL_NUMBERS, SPECIAL_TEXT, SPECIAL_TIMES
from fuzz_support import World, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from cvntrade.drill.journal_drill import generate_drill_trades

REQUIRED = (
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
COLUMNS = (*REQUIRED, "probability", "side")


def _template() -> list[dict[str, Any]]:
    trades = generate_drill_trades("healthy", now=dt.datetime(2026, 11, 24), seed=3)[:4]
    rows = []
    for trade in trades:
        row = trade.as_row()
        del row["source"]
        rows.append(row)
    return rows


TEMPLATE = _template()
hostile_cell = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS + SPECIAL_TEXT[:20] + SPECIAL_TIMES),
    st.floats(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=2),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
)


@st.composite
def trade_frames(draw: st.DrawFn, clean: bool = False) -> pd.DataFrame:
    """A few template rows with fresh ids; unless `clean`, hostile cells or column damage."""
    n = draw(st.integers(1, len(TEMPLATE)))
    tag = draw(st.integers(0, 10**6))
    rows = [{**row, "trade_id": f"fz{tag}-{i}"} for i, row in enumerate(TEMPLATE[:n])]
    if clean:
        return pd.DataFrame(rows)
    for _ in range(draw(st.integers(0, 3))):
        row = draw(st.integers(0, n - 1))
        rows[row][draw(st.sampled_from(COLUMNS))] = draw(hostile_cell)
    frame = pd.DataFrame(rows)
    damage = draw(st.sampled_from(["none", "drop", "extra", "shuffle", "rename"]))
    column = draw(st.sampled_from(COLUMNS))
    if damage == "drop":
        frame = frame.drop(columns=[column])
    elif damage == "extra":
        frame[draw(st.sampled_from(["note", "", " trade_id", "Unnamed: 0"]))] = "x"
    elif damage == "shuffle":
        frame = frame[draw(st.permutations(list(frame.columns)))]
    elif damage == "rename":
        frame = frame.rename(columns={column: column.upper()})
    return frame


def _as_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame`; object columns pyarrow cannot type are written as text instead."""
    try:
        frame.to_parquet(path)
        return
    except Exception:
        pass
    for name in frame.columns:
        try:
            frame[[name]].to_parquet(path)
        except Exception:
            frame[name] = frame[name].map(repr)
    frame.to_parquet(path)


@st.composite
def trade_files(draw: st.DrawFn, directory: Path) -> list[str]:
    """One or two paths to import (usually existing files)."""
    damaged = st.sampled_from(
        ["raw", "empty", "header", "latin1", "bom", "csv_as_parquet", "directory", "missing", "txt"]
    )
    # A third clean files (they import: the insert and audit path runs), a third hostile
    # cells, a third broken files.
    plan = draw(st.sampled_from(["clean", "cells", "file"]))
    kind = draw(damaged) if plan == "file" else draw(st.sampled_from(["csv", "parquet"]))
    index = len(list(directory.iterdir()))
    stem = directory / f"f{index}"
    frame = draw(trade_frames(clean=plan == "clean"))
    if kind in ("csv", "bom", "latin1"):
        path = stem.with_suffix(".csv")
        text = frame.to_csv(index=False)
        data = text.encode("utf-8", "surrogatepass")
        if kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "latin1":
            data = text.encode("latin-1", "replace") + b"\xe9\xff\n"
        path.write_bytes(data)
    elif kind == "parquet":
        path = stem.with_suffix(".parquet")
        _as_parquet(frame, path)
    elif kind == "raw":
        path = stem.with_suffix(".csv")
        path.write_bytes(draw(st.binary(max_size=200)))
    elif kind == "empty":
        path = stem.with_suffix(draw(st.sampled_from([".csv", ".parquet"])))
        path.write_bytes(b"")
    elif kind == "header":
        path = stem.with_suffix(".csv")
        path.write_text(",".join(COLUMNS) + "\n")
    elif kind == "csv_as_parquet":
        path = stem.with_suffix(".parquet")
        path.write_text(frame.to_csv(index=False))
    elif kind == "directory":
        path = stem.with_suffix(".csv")
        path.mkdir()
    elif kind == "missing":
        path = stem.with_suffix(".csv")
    else:
        path = stem.with_suffix(".txt")
        path.write_text(frame.to_csv(index=False))
    return [str(path)]


def _import(world: World, data: st.DataObject, files_dir: Path) -> None:
    files_dir.mkdir(exist_ok=True)
    paths = data.draw(trade_files(files_dir))
    if data.draw(st.booleans()):
        paths += data.draw(trade_files(files_dir))
    world.run("journal", "import", *paths, *data.draw(st.sampled_from([[], ["--json"]])))


@fuzz_settings(60)
@given(data=st.data())
def test_journal_import_sqlite(sqlite_world: World, data: st.DataObject, tmp_path: Path) -> None:
    _import(sqlite_world, data, tmp_path / "files")


@fuzz_settings(20)
@given(data=st.data())
def test_journal_import_both_backends(world: World, data: st.DataObject, tmp_path: Path) -> None:
    _import(world, data, tmp_path / "files")

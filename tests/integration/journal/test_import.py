"""Journal import on SQLite and PostgreSQL: all or nothing, idempotent on trade_id."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from cvntrade.db.tables import trade_journal
from cvntrade.drill import generate_drill_trades
from cvntrade.errors import UserInputError
from cvntrade.journal import import_trades
from cvntrade.journal.repository import count_trades

NOW = dt.datetime(2026, 11, 24, 12, 30)


def _frame(n: int | None = None) -> pd.DataFrame:
    trades = generate_drill_trades("healthy", now=NOW, seed=11)[:n]
    rows = [dataclasses.asdict(t) for t in trades]
    for row in rows:
        del row["source"]
    return pd.DataFrame(rows)


def test_csv_and_parquet_import_round_trip(engine: Engine, tmp_path: Path) -> None:
    frame = _frame(40)
    frame.iloc[:20].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[20:].to_parquet(tmp_path / "b.parquet")
    results = import_trades(engine, [tmp_path / "a.csv", tmp_path / "b.parquet"])
    assert [(r.rows, r.inserted, r.skipped_existing) for r in results] == [(20, 20, 0), (20, 20, 0)]
    with engine.connect() as conn:
        stored = pd.read_sql(select(trade_journal).order_by(trade_journal.c.entry_time), conn)
    assert set(stored["source"]) == {"import"}
    assert len(stored) == 40
    expected = frame.sort_values("entry_time").reset_index(drop=True)
    assert list(stored["trade_id"]) == list(expected["trade_id"])
    assert list(stored["realized_pnl_pct"]) == list(expected["realized_pnl_pct"])
    assert list(pd.to_datetime(stored["entry_time"])) == list(
        pd.to_datetime(expected["entry_time"])
    )


def test_reimport_is_a_no_op(engine: Engine, tmp_path: Path) -> None:
    _frame(30).to_csv(tmp_path / "t.csv", index=False)
    import_trades(engine, [tmp_path / "t.csv"])
    [again] = import_trades(engine, [tmp_path / "t.csv"])
    assert (again.inserted, again.skipped_existing) == (0, 30)
    assert count_trades(engine) == 30


def test_known_trade_id_with_other_values_fails_and_writes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    frame = _frame(10)
    frame.iloc[:5].to_csv(tmp_path / "first.csv", index=False)
    import_trades(engine, [tmp_path / "first.csv"])
    changed = frame.copy()
    changed.loc[3, "realized_pnl_pct"] = -5.0
    changed.to_csv(tmp_path / "second.csv", index=False)
    with pytest.raises(UserInputError, match=r"second.csv: row 4: trade_id .* different values"):
        import_trades(engine, [tmp_path / "second.csv"])
    assert count_trades(engine) == 5


def test_one_bad_file_among_several_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    frame = _frame(10)
    frame.to_csv(tmp_path / "good.csv", index=False)
    bad = _frame(12).iloc[10:].copy()
    bad.iloc[1, bad.columns.get_loc("realized_pnl_pct")] = float("nan")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserInputError, match=r"bad.csv: row 2: realized_pnl_pct"):
        import_trades(engine, [tmp_path / "good.csv", tmp_path / "bad.csv"])
    assert count_trades(engine) == 0


def test_same_trade_in_two_files_is_rejected(engine: Engine, tmp_path: Path) -> None:
    frame = _frame(6)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[2:4].to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(UserInputError, match=r"b.csv: row 1: .* repeats .*a.csv row 3"):
        import_trades(engine, [tmp_path / "a.csv", tmp_path / "b.csv"])
    assert count_trades(engine) == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("trades.json", "[]", "unsupported file type '.json'"),
        ("broken.parquet", "not parquet", "cannot read file"),
    ],
)
def test_unreadable_files_are_named(
    engine: Engine, tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserInputError, match=message) as info:
        import_trades(engine, [path])
    assert name in str(info.value)
    assert count_trades(engine) == 0

"""Journal import at scale (issue 16 item 8): streamed, staged, audited, lock-friendly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from cvntrade import audit
from cvntrade.audit import AuditEntry, read_audit, write_audit
from cvntrade.db.engine import write_transaction
from cvntrade.drill import generate_drill_trades
from cvntrade.errors import UserInputError
from cvntrade.journal import import_trades, importer
from cvntrade.journal.repository import count_trades

NOW = dt.datetime(2026, 11, 24, 12, 30)


def _frame(n: int) -> pd.DataFrame:
    rows = [dataclasses.asdict(t) for t in generate_drill_trades("healthy", now=NOW, seed=5)[:n]]
    for row in rows:
        del row["source"]
    return pd.DataFrame(rows)


def test_import_writes_one_audit_row_with_file_rows_checksum_and_actor(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    _frame(25).to_csv(path, index=False)
    import_trades(engine, [path], actor="alice")
    [entry] = read_audit(engine, action="journal.import")
    assert entry.actor == "alice"
    assert entry.after["inserted"] == 25
    [file] = entry.after["files"]
    assert file["path"] == str(path)
    assert file["rows"] == 25
    assert file["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    import_trades(engine, [path], actor="bob")  # a no-op re-import changes nothing: no audit row
    assert len(read_audit(engine, action="journal.import")) == 1


def test_small_chunks_give_the_same_result_and_row_numbers(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 7)
    frame = _frame(30)
    frame.to_parquet(tmp_path / "ok.parquet")
    bad = frame.astype(str)
    bad.loc[22, "fees_pct"] = "-1"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserInputError, match=r"bad.csv: row 23: fees_pct"):
        import_trades(engine, [tmp_path / "bad.csv"])
    assert count_trades(engine) == 0
    [result] = import_trades(engine, [tmp_path / "ok.parquet"])
    assert (result.rows, result.inserted) == (30, 30)
    assert count_trades(engine) == 30


def test_a_bad_row_in_a_late_chunk_leaves_no_staged_rows_behind(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    frame = _frame(20).astype(str)
    frame.loc[18, "entry_time"] = "now"
    frame.to_csv(tmp_path / "late.csv", index=False)
    with pytest.raises(UserInputError, match=r"row 19: entry_time"):
        import_trades(engine, [tmp_path / "late.csv"])
    _frame(3).to_csv(tmp_path / "small.csv", index=False)
    [result] = import_trades(engine, [tmp_path / "small.csv"])  # staging starts empty again
    assert (result.rows, result.inserted) == (3, 3)
    assert count_trades(engine) == 3


def test_other_writers_commit_while_an_import_is_staging(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between chunks another connection writes and commits: staging holds no journal lock.

    If staging held SQLite's write lock, the concurrent write below would wait for it forever
    (the import cannot proceed while this generator is suspended) and fail on its busy timeout.
    """
    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    _frame(12).to_csv(tmp_path / "t.csv", index=False)
    real_chunks = importer.iter_trade_chunks
    writes = []

    def chunks_with_a_writer(path: Path, chunk_rows: int = 4) -> Iterator[pd.DataFrame]:
        for number, chunk in enumerate(real_chunks(path, chunk_rows), start=1):
            yield chunk
            with write_transaction(engine) as conn:
                write_audit(
                    conn,
                    AuditEntry(
                        at=NOW, actor="other", action="test.write", target="x", reason=str(number)
                    ),
                )
            writes.append(number)

    monkeypatch.setattr(importer, "iter_trade_chunks", chunks_with_a_writer)
    [result] = import_trades(engine, [tmp_path / "t.csv"])
    assert writes == [1, 2, 3]
    assert result.inserted == 12
    assert len(audit.read_audit(engine, action="test.write")) == 3

"""Import batches (issue 16 item 8): short write transactions, nothing visible before publication.

Each test runs on SQLite and PostgreSQL. Synchronisation is by events at a point inside the
import (after a chunk was committed), never by timing.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text

from cvntrade.audit import read_audit
from cvntrade.clock import utc_now
from cvntrade.config import read_config
from cvntrade.db.tables import journal_import_batches, trade_journal_rows
from cvntrade.drill import generate_drill_trades
from cvntrade.errors import ConflictError, UserInputError
from cvntrade.journal import import_batches, importer
from cvntrade.journal.batch_owner import claim_owner
from cvntrade.journal.import_batches import WriteTurns, open_batch, stage_rows
from cvntrade.journal.repository import count_trades
from cvntrade.journal.runbook_sql import DIAGNOSIS_FOLDS_SQL
from cvntrade.journal.trade_files import iter_trade_chunks
from cvntrade.journal.validation import Validation, validate_chunk

CLI = (sys.executable, "-m", "cvntrade.cli.main")
HANG_GUARD_S = 600  # an event that never comes fails the test instead of hanging it
FOCAL_BY_SYMBOL_SQLITE = (
    "SELECT crypto_symbol, AVG(realized_pnl_pct), COUNT(*) FROM trade_journal "
    "WHERE model_loss_function = 'focal' GROUP BY crypto_symbol"
)


def _trades_csv(path: Path, n: int | None = None) -> int:
    trades = generate_drill_trades("focal-regression", now=utc_now(), seed=9)[:n]
    rows = [dataclasses.asdict(t) for t in trades]
    for row in rows:
        del row["source"]
    pd.DataFrame(rows).to_csv(path, index=False)
    return len(rows)


def _runbook_view(engine: Engine) -> list[Any]:
    """What the runbook's per-symbol focal query sees (verbatim on PostgreSQL)."""
    sql = DIAGNOSIS_FOLDS_SQL if engine.dialect.name == "postgresql" else FOCAL_BY_SYMBOL_SQLITE
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def _counts(engine: Engine) -> tuple[int, int]:
    """(rows in the journal's table, import batches), visible or not."""
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(trade_journal_rows)).scalar_one()
        batches = conn.execute(
            select(func.count()).select_from(journal_import_batches)
        ).scalar_one()
    return int(rows), int(batches)


def _pause_after_chunk(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> tuple[threading.Event, threading.Event]:
    """Make the import stop after committing chunk `chunk` until `resume` is set."""
    paused, resume = threading.Event(), threading.Event()
    real: Callable[..., Any] = importer.stage_rows
    calls = []

    def stage_then_wait(*args: Any) -> Any:
        outcome = real(*args)
        calls.append(1)
        if len(calls) == chunk:
            paused.set()
            assert resume.wait(HANG_GUARD_S)
        return outcome

    monkeypatch.setattr(importer, "stage_rows", stage_then_wait)
    return paused, resume


def test_config_set_completes_during_an_import_that_stays_invisible_until_published(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 50)
    total = _trades_csv(tmp_path / "t.csv")
    paused, resume = _pause_after_chunk(monkeypatch, 3)
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(importer.import_trades(engine, [tmp_path / "t.csv"]))
    )
    worker.start()
    try:
        assert paused.wait(HANG_GUARD_S)
        # The import is running (three chunks committed, more to come): an operator changes
        # the config, and readers, the runbook's query included, see none of the import.
        done = subprocess.run(
            [*CLI, "config", "set", "CVN_FOCAL_GAMMA=1.5", "--reason", "during import"],
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr
        assert read_config(engine).env["CVN_FOCAL_GAMMA"] == "1.5"
        assert _counts(engine)[0] == 150
        assert count_trades(engine) == 0
        assert _runbook_view(engine) == []
        assert worker.is_alive()
    finally:
        resume.set()
        worker.join(HANG_GUARD_S)
    [[result]] = results
    assert (result.rows, result.inserted) == (total, total)
    assert count_trades(engine) == total == _counts(engine)[0]
    assert _runbook_view(engine) != []
    [audit] = read_audit(engine, action="journal.import")
    assert audit.after["inserted"] == total


def test_a_bad_row_after_committed_chunks_leaves_no_row_and_no_batch(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 20)
    total = _trades_csv(tmp_path / "t.csv", 200)
    frame = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    frame.loc[total - 1, "exit_reason"] = "timeout"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UserInputError, match=f"row {total}: exit_reason"):
        importer.import_trades(engine, [tmp_path / "t.csv"])
    assert _counts(engine) == (0, 0)
    assert read_audit(engine, action="journal.import") == []


def _stage_whole_file(engine: Engine, path: Path) -> tuple[Any, int]:
    """Another import's batch holding every row of `path`, staged and not published."""
    conn = engine.connect()
    turns = WriteTurns(conn)
    owner = claim_owner(conn)
    batch_id = open_batch(turns, owner.token, "other", utc_now())
    state = Validation([str(path)])
    for chunk in iter_trade_chunks(path, 1000):
        stage_rows(turns, batch_id, validate_chunk(chunk, 1, 0, state))
    return owner, batch_id


def test_trades_held_by_a_running_import_make_this_one_exit_3_with_nothing_visible(
    engine: Engine, tmp_path: Path
) -> None:
    total = _trades_csv(tmp_path / "t.csv", 120)
    owner, batch_id = _stage_whole_file(engine, tmp_path / "t.csv")
    try:
        with pytest.raises(ConflictError, match=f"another journal import \\(batch {batch_id}\\)"):
            importer.import_trades(engine, [tmp_path / "t.csv"])
        assert count_trades(engine) == 0
        assert _counts(engine) == (total, 1)  # the running import's rows are untouched
    finally:
        import_batches.discard_batch(WriteTurns(owner.conn), batch_id)
        owner.release()
        owner.conn.close()
    [result] = importer.import_trades(engine, [tmp_path / "t.csv"])
    assert result.inserted == total == count_trades(engine)


def test_the_rows_of_a_dead_import_are_removed_by_the_next_one(
    engine: Engine, tmp_path: Path
) -> None:
    total = _trades_csv(tmp_path / "t.csv", 120)
    owner, batch_id = _stage_whole_file(engine, tmp_path / "t.csv")
    owner.conn.invalidate()  # the session ends: PostgreSQL drops the advisory lock
    owner.conn.close()
    if owner.fd is not None:  # SQLite: the lock file's holder is gone
        os.close(owner.fd)
    assert count_trades(engine) == 0
    [result] = importer.import_trades(engine, [tmp_path / "t.csv"])
    assert result.inserted == total == count_trades(engine)
    assert _counts(engine) == (total, 1)
    with engine.connect() as conn:
        state = conn.execute(select(journal_import_batches.c.id, journal_import_batches.c.state))
        assert [tuple(r) for r in state] != [(batch_id, "staging")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_times_are_stored_exactly_as_sqlalchemy_stores_them(
    engine: Engine, tmp_path: Path
) -> None:
    _trades_csv(tmp_path / "t.csv", 30)
    importer.import_trades(engine, [tmp_path / "t.csv"])
    with engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT trade_id, entry_time FROM trade_journal_rows").all()
    frame = pd.read_csv(tmp_path / "t.csv", dtype=str)
    expected = {
        r.trade_id: pd.Timestamp(r.entry_time).strftime("%Y-%m-%d %H:%M:%S.%f")
        for r in frame.itertuples()
    }
    assert dict(raw) == expected


def test_reimport_without_optional_columns_skips_everything(engine: Engine, tmp_path: Path) -> None:
    _trades_csv(tmp_path / "t.csv", 40)
    frame = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["probability", "side"]).to_csv(tmp_path / "bare.csv", index=False)
    [first] = importer.import_trades(engine, [tmp_path / "bare.csv"])
    [again] = importer.import_trades(engine, [tmp_path / "bare.csv"])
    assert (first.inserted, again.inserted, again.skipped_existing) == (40, 0, 40)
    assert len(read_audit(engine, action="journal.import")) == 1


def test_a_batch_being_discarded_can_never_be_published(engine: Engine, tmp_path: Path) -> None:
    total = _trades_csv(tmp_path / "t.csv", 60)
    owner, batch_id = _stage_whole_file(engine, tmp_path / "t.csv")
    try:
        with engine.begin() as conn:  # a cleaner has started removing it
            conn.execute(
                journal_import_batches.update()
                .where(journal_import_batches.c.id == batch_id)
                .values(state="discarding")
            )
        audit = importer._audit([], "alice", batch_id, utc_now())
        turns = WriteTurns(owner.conn)
        with pytest.raises(ConflictError, match="no longer staging"):
            import_batches.publish_batch(turns, batch_id, total, audit, utc_now())
        assert count_trades(engine) == 0
        import_batches.discard_batch(turns, batch_id)
        assert _counts(engine) == (0, 0)
    finally:
        owner.release()
        owner.conn.close()

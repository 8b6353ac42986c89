"""`kill -9` in the middle of `journal import` (issue 16 item 8): nothing shows, a re-run works.

The import runs in its own process, stopped (by a wrapper, not by timing) right after its third
chunk was committed; the test then checks what readers see, kills it with SIGKILL, and runs the
same import again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select, text

from cvntrade.audit import read_audit
from cvntrade.clock import utc_now
from cvntrade.db.tables import journal_import_batches, trade_journal_rows
from cvntrade.drill import generate_drill_trades
from cvntrade.journal.repository import count_trades

DEADLINE_S = 120  # bound on polling for the server to notice the killed client
DRIVER = """
import sys, threading
from cvntrade.cli import main
from cvntrade.journal import importer

importer.CHUNK_ROWS = 50
real, calls = importer.stage_rows, []

def stage_then_stop(*args):
    outcome = real(*args)
    calls.append(1)
    if len(calls) == 3:
        print("staged", flush=True)
        threading.Event().wait()  # until killed
    return outcome

importer.stage_rows = stage_then_stop
sys.argv = ["cvntrade", "journal", "import", sys.argv[1]]
main.run()
"""


def _table_counts(engine: Engine) -> tuple[int, int, int]:
    """(rows, distinct trade_ids, import batches) in the tables, visible or not."""
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(trade_journal_rows.c.trade_id.distinct()))
        ).one()
        batches = conn.execute(
            select(func.count()).select_from(journal_import_batches)
        ).scalar_one()
    return int(rows), int(distinct), int(batches)


def _focal_by_symbol(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT crypto_symbol, AVG(realized_pnl_pct), COUNT(*) FROM trade_journal "
                    "WHERE model_loss_function = 'focal' GROUP BY crypto_symbol"
                )
            ).all()
        )


def _wait_until_the_server_dropped_the_killed_session(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite: the kernel released the dead process's file lock at once
    deadline = time.monotonic() + DEADLINE_S
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() == 0:
                return
        time.sleep(0.2)
    raise AssertionError("the killed import's session still holds its lock")


def test_kill_9_mid_import_shows_nothing_and_a_rerun_imports_each_trade_once(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    trades = generate_drill_trades("focal-regression", now=utc_now(), seed=5)
    rows = [dataclasses.asdict(t) for t in trades]
    for row in rows:
        del row["source"]
    path = tmp_path / "trades.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip() == "staged", child.stderr.read() if child.stderr else ""
        assert _table_counts(engine) == (150, 150, 1)  # three chunks committed, in a batch
        assert count_trades(engine) == 0
        assert _focal_by_symbol(engine) == []
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=1800)
    assert child.returncode == -signal.SIGKILL
    assert count_trades(engine) == 0
    assert _focal_by_symbol(engine) == []

    _wait_until_the_server_dropped_the_killed_session(engine)
    again = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "journal", "import", str(path), "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=1800,
    )
    assert again.returncode == 0, again.stderr
    [result] = json.loads(again.stdout)
    assert result["inserted"] == len(rows)
    assert count_trades(engine) == len(rows)
    assert _table_counts(engine) == (len(rows), len(rows), 1)  # the dead batch is gone
    assert _focal_by_symbol(engine) != []
    [audit] = read_audit(engine, action="journal.import")
    assert audit.after["inserted"] == len(rows)

"""Parallel `journal import` of the same file (issue 16 item 7): one wins, the rest are no-ops."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from cvntrade.audit import read_audit
from cvntrade.drill import generate_drill_trades
from cvntrade.journal.repository import count_trades

NOW = dt.datetime(2026, 11, 24, 12, 30)
PROCESSES = 4


def test_parallel_imports_of_one_file_insert_it_once(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    rows = [dataclasses.asdict(t) for t in generate_drill_trades("healthy", now=NOW, seed=3)]
    for row in rows:
        del row["source"]
    path = tmp_path / "trades.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "cvntrade.cli.main", "journal", "import", str(path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env,
        )
        for _ in range(PROCESSES)
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=1800)  # a hang guard, not a speed limit
        outcomes.append((process.returncode, out, err))
    codes = [code for code, _, _ in outcomes]
    assert set(codes) <= {0, 3}, outcomes
    assert 0 in codes
    for code, _, err in outcomes:
        assert "Traceback" not in err
        if code == 3:
            assert len(err.strip().splitlines()) == 1
    assert count_trades(engine) == len(rows)
    [audit] = read_audit(engine, action="journal.import")
    assert audit.after["inserted"] == len(rows)

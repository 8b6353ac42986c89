"""The runbook's SQL, verbatim, against our migrated PostgreSQL schema (through psycopg and psql).

The history is written relative to the real clock, exactly as an operator's rehearsal would be,
because the runbook's SQL uses the server's `NOW()`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cvntrade.config import set_config
from cvntrade.db import create_db_engine
from cvntrade.drill import SCENARIOS, run_journal_drill
from cvntrade.journal.runbook_sql import (
    DIAGNOSIS_FOLDS_SQL,
    RUNBOOK_SQL,
    STEP1_CONFIRM_SQL,
    STEP2_CHECK_CONFIG_SQL,
)

REPO = Path(__file__).resolve().parents[3]
# The runbook as it was handed to us (the project's seed), shipped so the test never skips.
SEED = REPO / "tests" / "data" / "runbook" / "expectancy_negative_focal.seed.txt"
RUNBOOK_DOC = REPO / "docs" / "runbooks" / "expectancy_negative_focal.md"


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _sql(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(_libpq(url)) as conn:
        return conn.execute(statement).fetchall()


def _cli(url: str, tmp_path: Path, *args: str) -> object:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.update(CVN_DATABASE_URL=url, CVN_HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout)


def test_runbook_sql_is_verbatim_in_our_docs() -> None:
    doc = RUNBOOK_DOC.read_text()
    for statement in RUNBOOK_SQL.values():
        assert statement.rstrip("\n") in doc


def test_runbook_sql_is_verbatim_from_the_seed() -> None:
    seed = SEED.read_text(encoding="utf-8")
    for statement in RUNBOOK_SQL.values():
        assert statement.rstrip("\n") in seed


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_step1_returns_what_the_runbook_expects(pg_url: str, tmp_path: Path, scenario: str) -> None:
    engine = create_db_engine(pg_url)
    run_journal_drill(engine, scenario, actor="drill")
    engine.dispose()
    rows = _sql(pg_url, STEP1_CONFIRM_SQL)
    assert {r[0] for r in rows} == set(SCENARIOS[scenario])
    assert len(rows) == {"focal-regression": 3, "single-symbol": 1, "healthy": 0}[scenario]
    assert all(r[1] < 0 and r[2] > 0 for r in rows)

    ours = _cli(pg_url, tmp_path, "expectancy", "--window", "48h", "--loss", "focal")
    negative = {s["crypto_symbol"]: s for s in ours["symbols"] if s["negative"]}  # type: ignore[index]
    assert set(negative) == {r[0] for r in rows}
    for symbol, expectancy, n_trades in rows:
        assert negative[symbol]["n_trades"] == n_trades
        assert negative[symbol]["expectancy_pct"] == pytest.approx(float(expectancy), abs=1e-12)


def test_step2_sees_focal_after_the_config_flip(pg_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(pg_url)
    [(loss, gamma, alpha, version, _)] = _sql(pg_url, STEP2_CHECK_CONFIG_SQL)
    assert (loss, version) == ("binary:logistic", 1)
    set_config(
        engine,
        {"CVN_LOSS_FUNCTION": "focal", "CVN_FOCAL_GAMMA": "2.0", "CVN_FOCAL_ALPHA": "0.25"},
        reason="test",
        actor="t",
    )
    engine.dispose()
    [(loss, gamma, alpha, version, updated_at)] = _sql(pg_url, STEP2_CHECK_CONFIG_SQL)
    assert (loss, gamma, alpha, version) == ("focal", "2.0", "0.25", 2)
    ours = _cli(pg_url, tmp_path, "config", "show")
    assert ours["base_env"]["CVN_LOSS_FUNCTION"] == loss  # type: ignore[index]
    assert ours["version"] == version  # type: ignore[index]
    assert ours["updated_at"] == updated_at.isoformat()  # type: ignore[index]


def test_per_fold_analysis_matches_our_command(pg_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(pg_url)
    run_journal_drill(engine, "focal-regression", actor="drill")
    engine.dispose()
    rows = _sql(pg_url, DIAGNOSIS_FOLDS_SQL)
    assert len(rows) == 5
    shifted = {r[0] for r in rows if r[2] < r[3] - 0.01}
    assert shifted == set(SCENARIOS["focal-regression"])
    ours = {r["crypto_symbol"]: r for r in _cli(pg_url, tmp_path, "expectancy", "folds")}  # type: ignore[union-attr]
    for symbol, exp_7d, exp_48h, baseline in rows:
        assert ours[symbol]["exp_7d"] == pytest.approx(exp_7d, abs=1e-12)
        assert ours[symbol]["exp_48h"] == pytest.approx(exp_48h, abs=1e-12)
        assert ours[symbol]["exp_14d_baseline"] == pytest.approx(baseline, abs=1e-12)
        assert ours[symbol]["regime_shift"] == (symbol in shifted)


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql client not installed")
def test_step1_runs_verbatim_through_psql(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    run_journal_drill(engine, "focal-regression", actor="drill")
    engine.dispose()
    done = subprocess.run(
        [
            "psql",
            _libpq(pg_url),
            "-v",
            "ON_ERROR_STOP=1",
            "-A",
            "-t",
            "-F",
            ",",
            "-c",
            STEP1_CONFIRM_SQL,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    symbols = sorted(line.split(",")[0] for line in done.stdout.splitlines() if line)
    assert symbols == sorted(SCENARIOS["focal-regression"])

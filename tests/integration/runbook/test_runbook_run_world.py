"""`cvntrade runbook run --yes` on the concept-drift drill world (the issue's acceptance, minus
the report another branch adds): diagnosis recommends path C, the milder focal does not hold on
the last 48 h, so every rolled-back symbol ends on its binary champion, and the incident holds
the `diagnosis` and `remediation` notes. The world is built through `build_world`, as
`cvntrade drill scenario` does; the run is the real CLI in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from cvntrade.db import create_db_engine
from cvntrade.db.tables import incident_notes
from cvntrade.drill.scenario import build_world, plan_world, world_settings
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.strategy import DEFAULT_STRATEGY, model_name
from cvntrade.trading.backtest import run_trades

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 30, 12)
SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC")


def test_runbook_run_yes_on_concept_drift_ends_on_binary_with_a_remediation_note(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("concept-drift")
    world = build_world(plan_world("concept-drift", seed=1, symbols=SYMBOLS, now=NOW), home)
    assert world.verdict == "real", world.negative_symbols
    settings = world_settings(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.update(
        CVN_HOME=str(home),
        CVN_DATABASE_URL=settings.effective_database_url,
        MLFLOW_TRACKING_URI=settings.effective_tracking_uri,
        CVN_ACTOR="oncall",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "runbook",
            "run",
            "--yes",
            "--now",
            NOW.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,  # hang guard only
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("confirm", "check-config", "rollback", "diagnose", "remediate", "escalate"):
        assert f"[{step}]" in done.stdout
    assert "incident report: pending (incident export)" in done.stdout

    engine = create_db_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            query = select(incident_notes.c.kind, incident_notes.c.data).order_by(
                incident_notes.c.id
            )
            notes = dict(conn.execute(query).tuples().all())
        assert notes["diagnosis"]["path"] == "C"
        assert notes["diagnosis"]["likely"][0] == "concept-drift"
        remediation = notes["remediation"]
        assert remediation["path"] == "C"
        rolled = set(world.negative_symbols)
        assert set(remediation["symbols"]) == rolled
        assert set(remediation["fell_back_to_A"]) == rolled
        trades = run_trades(engine, remediation["backtest_run_id"])
        for symbol in rolled:  # the evidence behind each fallback is the stored backtest
            pnl = trades.loc[trades["crypto_symbol"] == symbol, "realized_pnl_pct"]
            assert len(pnl) < 3 or float(pnl.mean()) < 0
    finally:
        engine.dispose()
    registry = MlflowRegistry(settings.effective_tracking_uri)
    for symbol in rolled:
        name = model_name(symbol, DEFAULT_STRATEGY)
        version = registry.aliases(name)[CHAMPION]
        assert registry.get_version(name, version).loss_function == "binary", symbol

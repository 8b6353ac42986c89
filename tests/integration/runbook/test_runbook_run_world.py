"""`cvntrade runbook run --yes` on the concept-drift drill world (the issue's acceptance):
diagnosis recommends path C, the milder focal does not hold on the last 48 h, so every
rolled-back symbol ends on its binary champion; the incident holds the `diagnosis` and
`remediation` notes, OPERATIONS.md holds its section §17.N with its charts, and every item of the
post-incident checklist is in a definite state. The world is built through `build_world`, as
`cvntrade drill scenario` does; the run is the real CLI in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine, select

from cvntrade.db import create_db_engine
from cvntrade.db.tables import incident_notes
from cvntrade.drill.scenario import build_world, plan_world, world_settings
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.runbook.checklist import read_checklist
from cvntrade.strategy import DEFAULT_STRATEGY, model_name
from cvntrade.trading.backtest import run_trades

pytestmark = pytest.mark.slow


def conn_incidents(engine: Engine) -> set[int]:
    """The ids of the incidents the world's run wrote notes on."""
    with engine.connect() as conn:
        return set(conn.execute(select(incident_notes.c.incident_id)).scalars())


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
    assert "[report] §17.1 in" in done.stdout

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
        (incident,) = conn_incidents(engine)
        checklist = read_checklist(engine, incident)
        assert checklist and all(i.state in ("done", "not_applicable") for i in checklist)
    finally:
        engine.dispose()
    operations = home / "OPERATIONS.md"
    text = operations.read_text(encoding="utf-8")
    assert "§17.1" in text and f"<!-- cvntrade:incident {incident} -->" in text
    charts = sorted((home / "OPERATIONS_assets").rglob("*.png"))
    assert len(charts) >= 3
    for chart in charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert chart.relative_to(home).as_posix() in text
    registry = MlflowRegistry(settings.effective_tracking_uri)
    for symbol in rolled:
        name = model_name(symbol, DEFAULT_STRATEGY)
        version = registry.aliases(name)[CHAMPION]
        assert registry.get_version(name, version).loss_function == "binary", symbol

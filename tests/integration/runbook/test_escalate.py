"""`runbook escalate` and the `expectancy_not_recovered_after_rollback` rule, on SQLite and
PostgreSQL with a real MLflow store: a real audited rollback at T0, then journal trades entered
after it; the verdict, the proposals, the confirmed switches and their audit rows."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from runbook_support import MakeModels
from sqlalchemy import Engine, select

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.clock import fixed_clock
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import alert_events, incident_notes
from cvntrade.domain import RecoveryVerdict
from cvntrade.errors import ExitCode, UserInputError
from cvntrade.journal.records import Trade
from cvntrade.journal.repository import insert_trades
from cvntrade.monitoring.evaluator import Evaluator
from cvntrade.monitoring.recovery import RecoveryState, read_recovery
from cvntrade.registry import MlflowRegistry
from cvntrade.runbook.escalation import escalate
from cvntrade.runbook.incidents import open_incident
from cvntrade.runbook.rollback import rollback
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name
from cvntrade.trading.flags import read_flags

T0 = dt.datetime(2026, 11, 30, 12)
HOUR = dt.timedelta(hours=1)
ROLLED = ("BTCUSDC", "ETHUSDC")


def _context(engine: Engine, tmp_path: Path, tracking_uri: str, at: dt.datetime) -> AppContext:
    settings = Settings.model_validate(
        {"home": tmp_path / "home", "MLFLOW_TRACKING_URI": tracking_uri}
    )
    return AppContext(settings=settings, engine=engine, actor="oncall", clock=fixed_clock(at))


@pytest.fixture
def incident(engine: Engine, registry: MlflowRegistry, make_models: MakeModels) -> int:
    """Focal champions on BTC/ETH/SOL, an incident, and a real rollback of BTC and ETH at T0."""
    make_models(("BTCUSDC", "ETHUSDC", "SOLUSDC"))
    opened = open_incident(
        engine, alert="expectancy_negative_focal", title="t", actor="oncall", clock=fixed_clock(T0)
    ).id
    rollback(
        engine,
        registry,
        reason="focal negative",
        actor="oncall",
        symbols=ROLLED,
        wait_s=0,
        incident_id=opened,
        clock=fixed_clock(T0),
    )
    return opened


def _trades(engine: Engine, entries: list[tuple[str, dt.datetime, float]]) -> None:
    rows = [
        Trade(
            trade_id=f"t-{uuid.uuid4().hex}",
            crypto_symbol=symbol,
            strategy=DEFAULT_STRATEGY,
            model_name=model_name(symbol, DEFAULT_STRATEGY),
            model_version=2,
            model_loss_function="binary",
            entry_time=entry,
            exit_time=entry + HOUR,
            entry_price=100.0,
            exit_price=100.0,
            exit_reason="horizon",
            fees_pct=0.1,
            realized_pnl_pct=pnl,
        )
        for symbol, entry, pnl in entries
    ]
    with write_transaction(engine) as conn:
        insert_trades(conn, rows)


def test_not_yet_known_before_4h_then_not_recovered_and_confirmed_switches(
    engine: Engine, tmp_path: Path, tracking_uri: str, incident: int
) -> None:
    _trades(
        engine,
        [
            ("BTCUSDC", T0 + HOUR, -0.5),
            ("ETHUSDC", T0 + 2 * HOUR, -0.2),
            ("BTCUSDC", T0 + 3 * HOUR, 0.1),
            ("SOLUSDC", T0 + HOUR, 5.0),  # not rolled back: does not count
            ("BTCUSDC", T0 - HOUR, 9.0),  # entered before the rollback: does not count
        ],
    )
    early = escalate(_context(engine, tmp_path, tracking_uri, T0 + 3 * HOUR))
    assert early.recovery.verdict is RecoveryVerdict.NOT_YET_KNOWN
    assert early.exit_code == ExitCode.OK
    assert early.incident_id == incident  # the rollback's incident
    assert early.proposals == (
        f"re-check at 2026-11-30 16:00 UTC: cvntrade runbook escalate --incident {incident}",
    )

    ctx = _context(engine, tmp_path, tracking_uri, T0 + 5 * HOUR)
    late = escalate(ctx, incident_id=incident)
    assert late.recovery.verdict is RecoveryVerdict.NOT_RECOVERED
    assert late.recovery.n_trades == 3
    assert late.recovery.expectancy_pct == pytest.approx(-0.2)
    assert late.exit_code == ExitCode.NEGATIVE
    assert "--confirm kill-switch" in late.proposals[0] and "--confirm halt" in late.proposals[1]
    assert read_flags(engine).kill_switch is False  # proposed, not done

    with pytest.raises(UserInputError, match="needs a non-empty --reason"):
        escalate(ctx, incident_id=incident, confirm="kill-switch")
    with pytest.raises(UserInputError, match="kill-switch or halt"):
        escalate(ctx, incident_id=incident, confirm="everything", reason="r")
    assert read_flags(engine).kill_switch is False

    done = escalate(ctx, incident_id=incident, confirm="kill-switch", reason="not recovered")
    assert done.switched == "kill_switch" and read_flags(engine).kill_switch
    assert "already on" in done.proposals[0]
    halted = escalate(ctx, incident_id=incident, confirm="halt", reason="last resort")
    assert halted.switched == "halt" and read_flags(engine).halt
    for action in ("trading.kill_switch", "trading.halt"):
        (row,) = read_audit(engine, action=action)
        assert row.incident_id == incident and row.actor == "oncall"
    with engine.connect() as conn:
        kinds = [
            r.kind
            for r in conn.execute(
                select(incident_notes.c.kind).where(incident_notes.c.incident_id == incident)
            )
        ]
    assert kinds.count("escalation") == 3  # not recovered, kill switch, halt (not "not yet")
    assert len(read_audit(engine, action="runbook.escalate")) == 4  # refusals write nothing


def test_recovered_refuses_a_confirmed_switch(
    engine: Engine, tmp_path: Path, tracking_uri: str, incident: int
) -> None:
    _trades(
        engine,
        [
            ("BTCUSDC", T0 + HOUR, 0.3),
            ("ETHUSDC", T0 + HOUR, -0.1),
            ("ETHUSDC", T0 + 2 * HOUR, 0.0),
        ],
    )
    ctx = _context(engine, tmp_path, tracking_uri, T0 + 4 * HOUR)
    result = escalate(ctx)
    assert result.recovery.verdict is RecoveryVerdict.RECOVERED
    assert result.exit_code == ExitCode.OK and result.proposals == ()
    with pytest.raises(UserInputError, match="nothing to escalate"):
        escalate(ctx, confirm="kill-switch", reason="just in case")
    flags = read_flags(engine)
    assert not flags.kill_switch and not flags.halt


def test_no_rollback_is_nothing_to_do(engine: Engine, tmp_path: Path, tracking_uri: str) -> None:
    result = escalate(_context(engine, tmp_path, tracking_uri, T0))
    assert result.recovery.verdict is RecoveryVerdict.NO_ROLLBACK
    assert result.exit_code == ExitCode.OK


def test_evaluator_rule_fires_after_for_and_attaches_to_the_rollbacks_incident(
    engine: Engine, incident: int
) -> None:
    _trades(
        engine,
        [
            ("BTCUSDC", T0 + HOUR, -1.0),
            ("ETHUSDC", T0 + HOUR, -1.0),
            ("ETHUSDC", T0 + 2 * HOUR, 0.5),
        ],
    )
    clock = {"now": T0 + 3 * HOUR}
    evaluator = Evaluator(engine, [], for_=dt.timedelta(minutes=15), clock=lambda: clock["now"])

    def tick(at: dt.datetime) -> list[str]:
        clock["now"] = at
        state = RecoveryState(read_recovery(engine, now=at))
        return [e.state for e in evaluator.evaluate(state)]

    assert tick(T0 + 3 * HOUR) == []  # not yet known: nothing to track
    assert tick(T0 + 4 * HOUR) == ["pending"]
    assert tick(T0 + 4 * HOUR + dt.timedelta(minutes=10)) == []
    assert tick(T0 + 4 * HOUR + dt.timedelta(minutes=15)) == ["firing"]
    with engine.connect() as conn:
        events = conn.execute(select(alert_events).order_by(alert_events.c.id)).all()
        notes = conn.execute(
            select(incident_notes.c.kind).where(incident_notes.c.incident_id == incident)
        ).all()
    assert [e.alert for e in events] == ["expectancy_not_recovered_after_rollback"] * 2
    assert events[-1].incident_id == incident
    assert ("alert.firing",) in [tuple(n) for n in notes]
    _trades(engine, [("BTCUSDC", T0 + 5 * HOUR, 3.0)])  # recovers: resolved in the same incident
    assert tick(T0 + 6 * HOUR) == ["resolved"]


def test_cli_exit_codes(
    cli_env: dict[str, str], engine: Engine, tmp_path: Path, tracking_uri: str, incident: int
) -> None:
    _trades(
        engine,
        [("BTCUSDC", T0 + HOUR, -0.4)] * 1
        + [("ETHUSDC", T0 + HOUR, -0.4), ("ETHUSDC", T0 + 2 * HOUR, -0.1)],
    )
    env = {**cli_env, "MLFLOW_TRACKING_URI": tracking_uri}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cvntrade.cli.main", "runbook", "escalate", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )

    assert run("--now", (T0 + HOUR).isoformat()).returncode == 0  # not yet known
    late = (T0 + 5 * HOUR).isoformat()
    proposed = run("--now", late)
    assert proposed.returncode == 1, proposed.stderr
    assert "--confirm kill-switch" in proposed.stdout
    bad = run("--now", late, "--confirm", "halt")
    assert bad.returncode == 2 and "--reason" in bad.stderr and "Traceback" not in bad.stderr
    missing = run("--incident", "999", "--now", late)
    assert missing.returncode == 2 and "incident #999 not found" in missing.stderr
    assert not read_flags(engine).halt

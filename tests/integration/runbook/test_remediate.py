"""`runbook remediate` on a small real world (SQLite and PostgreSQL, real MLflow and XGBoost).

One story per backend, each phase asserting what it must: a dry run of A, B and C changes
nothing; path B promotes a recalibration only when ECE_HOLD improved (the first run on an
uncalibrated focal model does; a second run on the same window cannot improve by the margin and
keeps the champion); path C retrains gamma 1.0, promotes or falls back to A exactly as its
stored backtest says, and every fallback symbol ends on a binary champion; path A afterwards
changes no alias. Every run leaves a `remediation` note with the structured data.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from remediation_support import NOW, SYMBOLS, SmallWorld, champion, small_world, state_of
from sqlalchemy import Engine, select

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.clock import fixed_clock
from cvntrade.config import read_config
from cvntrade.db.tables import incident_notes
from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.runbook.attach import REMEDIATION_NOTE
from cvntrade.runbook.incidents import open_incident
from cvntrade.runbook.remediate import remediate
from cvntrade.runbook.remediation_rules import (
    ECE_MIN_GAIN,
    FELL_BACK,
    KEPT,
    PROMOTED,
    milder_focal_promotes,
)
from cvntrade.settings import Settings
from cvntrade.trading.backtest import run_trades

pytestmark = pytest.mark.slow


@pytest.fixture
def world(engine: Engine, tmp_path: Path, mlflow_template: Path) -> SmallWorld:
    return small_world(engine, tmp_path / "home", mlflow_template)


def _notes(engine: Engine, incident: int) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(incident_notes.c.data)
            .where(
                incident_notes.c.incident_id == incident, incident_notes.c.kind == REMEDIATION_NOTE
            )
            .order_by(incident_notes.c.id)
        ).all()
    return [dict(r.data) for r in rows]


def test_remediation_paths_dry_run_b_c_a(world: SmallWorld) -> None:
    ctx = world.ctx
    incident = open_incident(
        ctx.engine, alert="expectancy_negative_focal", title="t", actor="tester", clock=ctx.clock
    ).id

    # --- dry runs: the plan, and not one row or alias changed
    before = state_of(world)
    for path in "ABC":
        planned = remediate(ctx, path=path, reason="drill", symbols=SYMBOLS, dry_run=True)
        assert planned.dry_run and planned.plan
        assert all(o.action == "planned" for o in planned.outcomes)
    assert state_of(world) == before

    # --- refused before any change: --via airflow without Airflow, airflow for path C
    with pytest.raises(DependencyError, match="CVN_AIRFLOW_BIN"):
        remediate(ctx, path="B", reason="r", symbols=SYMBOLS, via="airflow")
    with pytest.raises(UserInputError, match="path B only"):
        remediate(ctx, path="C", reason="r", symbols=SYMBOLS, via="airflow")
    assert state_of(world) == before

    # --- path B: the uncalibrated focal champion gets a better ECE_HOLD and is promoted
    first = remediate(ctx, path="B", reason="calibration drift", symbols=SYMBOLS)
    for o in first.outcomes:
        gain = o.before["ece_hold"] - o.after["ece_hold"]  # type: ignore[operator]
        assert o.action == (PROMOTED if gain >= ECE_MIN_GAIN else KEPT), o
        if o.action == PROMOTED:
            assert champion(world, o.crypto_symbol) == (o.candidate_version, "focal")
            assert o.from_version == world.focal[o.crypto_symbol]
    assert any(o.action == PROMOTED for o in first.outcomes)
    champions_after_b = {s: champion(world, s) for s in SYMBOLS}
    # the same window again: the champion's temperature is already fitted there
    second = remediate(ctx, path="B", reason="again", symbols=SYMBOLS)
    for o in second.outcomes:
        assert o.action == KEPT, o
        assert abs(o.before["ece_hold"] - o.after["ece_hold"]) < ECE_MIN_GAIN  # type: ignore[operator]
    assert {s: champion(world, s) for s in SYMBOLS} == champions_after_b
    config_rows = read_audit(ctx.engine, action="config.set", limit=20)
    assert any("temperature_scaling" in str(r.after) for r in config_rows)

    # --- path C: promote or fall back exactly as the stored backtest says
    third = remediate(ctx, path="C", reason="concept drift", symbols=SYMBOLS, incident_id=incident)
    assert third.backtest_run_id is not None
    trades = run_trades(ctx.engine, third.backtest_run_id)
    for o in third.outcomes:
        pnl = trades.loc[trades["crypto_symbol"] == o.crypto_symbol, "realized_pnl_pct"]
        mean = float(pnl.mean()) if len(pnl) else None
        promotes = milder_focal_promotes(mean, len(pnl))
        assert o.action == (PROMOTED if promotes else FELL_BACK), o
        version, loss = champion(world, o.crypto_symbol)
        if promotes:
            assert (version, loss) == (o.candidate_version, "focal")
        else:
            assert loss == "binary" and version == world.binary[o.crypto_symbol]
    assert set(third.fell_back_to_a) == {
        o.crypto_symbol for o in third.outcomes if o.action == FELL_BACK
    }
    data = _notes(ctx.engine, incident)[-1]
    assert data["path"] == "C"
    assert data["fell_back_to_A"] == list(third.fell_back_to_a)
    assert set(data["before"]) == set(data["after"]) == set(SYMBOLS)  # type: ignore[arg-type]
    tagged = [r for r in read_audit(ctx.engine, limit=200) if r.incident_id == incident]
    actions = {r.action for r in tagged}
    assert {
        "config.set",
        "runbook.remediate.train",
        "runbook.remediate.evaluate",
        "runbook.remediate",
    } <= actions
    if third.fell_back_to_a:
        assert "runbook.rollback" in actions

    # --- path A afterwards: nothing left to move, decision recorded
    moves_before = len(read_audit(ctx.engine, action="models.set_alias", limit=500))
    last = remediate(
        ctx, path="A", reason="stay on baseline", symbols=SYMBOLS, incident_id=incident
    )
    assert len(read_audit(ctx.engine, action="models.set_alias", limit=500)) == moves_before + sum(
        o.action == "rolled_back" for o in last.outcomes
    )
    assert _notes(ctx.engine, incident)[-1]["path"] == "A"
    assert all(champion(world, s)[1] == "binary" for s in SYMBOLS)


def test_bad_input_is_refused_before_any_change(engine: Engine, tmp_path: Path) -> None:
    ctx = AppContext(
        settings=Settings(home=tmp_path / "home", MLFLOW_TRACKING_URI="sqlite:///x.db"),
        engine=engine,
        actor="tester",
        clock=fixed_clock(NOW),
    )
    before = read_audit(engine, limit=100), read_config(engine)
    with pytest.raises(UserInputError, match="no symbol with negative focal expectancy"):
        remediate(ctx, path="B", reason="r")  # auto: the journal is empty
    with pytest.raises(UserInputError, match="--reason"):
        remediate(ctx, path="B", reason="  ", symbols=SYMBOLS)
    with pytest.raises(UserInputError, match="choose A, B or C"):
        remediate(ctx, path="Z", reason="r", symbols=SYMBOLS)
    with pytest.raises(UserInputError, match="--via"):
        remediate(ctx, path="B", reason="r", symbols=SYMBOLS, via="cron")
    with pytest.raises(NotFoundError, match="incident #99"):
        remediate(ctx, path="A", reason="r", symbols=SYMBOLS, incident_id=99)
    with pytest.raises(DependencyError, match="Airflow is not configured"):
        remediate(ctx, path="B", reason="r", symbols=SYMBOLS, via="airflow")
    wrong = replace(ctx, settings=ctx.settings.model_copy(update={"airflow_bin": tmp_path}))
    with pytest.raises(UserInputError, match="is not a file"):
        remediate(wrong, path="B", reason="r", symbols=SYMBOLS, via="airflow")
    assert (read_audit(engine, limit=100), read_config(engine)) == before

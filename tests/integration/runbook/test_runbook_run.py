"""`runbook run`: the guided flow on SQLite and PostgreSQL with a real MLflow registry.

Journal drills give the verdicts: `single-symbol` is transient (stop, exit 0), `focal-regression`
with focal configured is real (the whole flow: rollback, no focal predictions so path A, escalation
not yet known, report pending), and with focal no longer active it is stale (stop). Interactive
mode answers Rich prompts from stdin: declining the rollback stops with exit 130 and changes no
alias. The drill scenario world (concept drift) is in test_runbook_run_world.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from runbook_support import FOCAL_REGRESSION, MakeModels
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.cli import main
from cvntrade.clock import fixed_clock
from cvntrade.config import set_config
from cvntrade.db.tables import incident_notes
from cvntrade.drill.journal_drill import run_journal_drill
from cvntrade.errors import ExitCode
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.runbook.checklist import read_checklist
from cvntrade.runbook.guided import run_runbook
from cvntrade.runbook.incidents import get_incident, list_incidents
from cvntrade.settings import Settings, get_settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

NOW = dt.datetime(2026, 11, 30, 12)
STEPS = ["confirm", "check-config", "rollback", "diagnose", "remediate", "escalate", "report"]


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path, tracking_uri: str) -> AppContext:
    settings = Settings.model_validate(
        {"home": tmp_path / "home", "MLFLOW_TRACKING_URI": tracking_uri}
    )
    return AppContext(settings=settings, engine=engine, actor="oncall", clock=fixed_clock(NOW))


def _world(engine: Engine, make_models: MakeModels, scenario: str, loss: str) -> None:
    make_models(FOCAL_REGRESSION)
    set_config(engine, {"CVN_LOSS_FUNCTION": loss}, reason="setup", actor="setup")
    run_journal_drill(engine, scenario, actor="drill", clock=fixed_clock(NOW))


def _losses(registry: MlflowRegistry) -> dict[str, str | None]:
    out = {}
    for symbol in FOCAL_REGRESSION:
        name = model_name(symbol, DEFAULT_STRATEGY)
        out[symbol] = registry.get_version(name, registry.aliases(name)[CHAMPION]).loss_function
    return out


def test_transient_alert_stops_after_step_1(
    ctx: AppContext, engine: Engine, make_models: MakeModels, registry: MlflowRegistry
) -> None:
    _world(engine, make_models, "single-symbol", "focal")
    lines: list[str] = []
    result = run_runbook(ctx, yes=True, incident_id=None, now=NOW, say=lines.append)
    assert result.stopped == "transient" and result.exit_code == ExitCode.OK
    assert [s.name for s in result.steps] == ["confirm"]
    assert "false positive" in lines[0]
    assert result.incident_id is not None
    assert get_incident(engine, result.incident_id).status == "false_positive"
    assert set(_losses(registry).values()) == {"focal"}
    assert read_audit(engine, action="runbook.rollback") == []


def test_stale_alert_stops_after_step_1(
    ctx: AppContext, engine: Engine, make_models: MakeModels, registry: MlflowRegistry
) -> None:
    _world(engine, make_models, "focal-regression", "binary:logistic")
    result = run_runbook(ctx, yes=True, incident_id=None, now=NOW, say=lambda _l: None)
    assert result.stopped == "stale" and result.exit_code == ExitCode.OK
    assert [s.name for s in result.steps] == ["confirm"]
    assert set(_losses(registry).values()) == {"focal"}


def test_real_alert_runs_every_step_to_the_report(
    ctx: AppContext, engine: Engine, make_models: MakeModels, registry: MlflowRegistry
) -> None:
    _world(engine, make_models, "focal-regression", "focal")
    result = run_runbook(ctx, yes=True, incident_id=None, now=NOW, say=lambda _l: None)
    assert [s.name for s in result.steps] == STEPS
    assert result.stopped is None and result.exit_code == ExitCode.OK
    assert all(s.duration_s >= 0 for s in result.steps)
    assert result.path == "A"  # the journal drill has no predictions: nothing to diagnose
    assert set(_losses(registry).values()) == {"binary"}
    steps = {s.name: s for s in result.steps}
    assert "60 s SLA" in steps["rollback"].outcome
    assert steps["escalate"].data["verdict"] == "not_yet_known"
    assert "cvntrade runbook escalate --incident" in steps["escalate"].outcome
    incident = result.incident_id
    assert incident is not None and get_incident(engine, incident).status == "mitigated"
    # the report: OPERATIONS.md holds the incident's section, every checklist item is definite
    operations = Path(steps["report"].data["path"])
    assert steps["report"].data["section"] == "§17.1"
    assert f"<!-- cvntrade:incident {incident} -->" in operations.read_text(encoding="utf-8")
    checklist = read_checklist(engine, incident)
    assert checklist and all(item.state in ("done", "not_applicable") for item in checklist)
    with engine.connect() as conn:
        notes = conn.execute(
            select(incident_notes.c.kind, incident_notes.c.data).where(
                incident_notes.c.incident_id == incident
            )
        ).all()
    kinds = [n.kind for n in notes]
    assert "confirm" in kinds and "remediation" in kinds
    remediation = next(n.data for n in notes if n.kind == "remediation")
    assert remediation["path"] == "A"
    assert sorted(remediation["symbols"]) == sorted(FOCAL_REGRESSION)


@pytest.fixture
def cli_context(
    ctx: AppContext, db_url: str, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    for key, value in {
        "CVN_HOME": str(ctx.settings.home),
        "CVN_DATABASE_URL": db_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "CVN_ACTOR": "oncall",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_context")
def test_interactive_prompts_read_stdin_and_declining_changes_nothing(
    engine: Engine, make_models: MakeModels, registry: MlflowRegistry
) -> None:
    _world(engine, make_models, "focal-regression", "focal")
    args = ["runbook", "run", "--now", NOW.isoformat()]
    declined = CliRunner().invoke(main.app, args, input="n\n")
    assert declined.exit_code == ExitCode.ABORTED, declined.output
    assert "Roll back the focal champions" in declined.output
    assert set(_losses(registry).values()) == {"focal"}
    assert read_audit(engine, action="models.set_alias", limit=50) == []
    (incident,) = list_incidents(engine, ongoing_only=True)
    accepted = CliRunner().invoke(
        main.app, [*args, "--incident", str(incident.id)], input="y\nA\nn\n"
    )
    assert accepted.exit_code == ExitCode.OK, accepted.output
    assert "Remediation path (recommended A)" in accepted.output
    assert "Abandon focal for now" in accepted.output
    assert read_audit(engine, action="story.reopen") == []  # the operator answered no
    assert set(_losses(registry).values()) == {"binary"}

"""`incident export` / `close` and the checklist on a whole incident, on SQLite and PostgreSQL.

The incident is built through the real code paths: journal trades before and after, predictions
and PSI snapshots, the evaluator's firing event (it opens the incident) and its acknowledgement,
a real rollback against an MLflow store, a recorded diagnosis and a remediation note.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from runbook_support import ALL_SYMBOLS, FOCAL_REGRESSION, MakeModels
from sqlalchemy import Engine, func, insert, select

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.config import set_config
from cvntrade.db import write_transaction
from cvntrade.db.tables import audit_log, incident_checklist, monitor_snapshots, predictions
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.journal import Trade
from cvntrade.journal.repository import insert_trades
from cvntrade.monitoring.evaluator import TransitionRecord, ack_event, record_transition
from cvntrade.registry import MlflowRegistry
from cvntrade.runbook import get_incident, open_incident, rollback
from cvntrade.runbook.checklist import auto_checklist, mark, read_checklist
from cvntrade.runbook.diagnose import ImplementationEvidence, SymbolEvidence, diagnose
from cvntrade.runbook.incident_export import close_incident, export_incident, export_report
from cvntrade.runbook.incident_records import record_diagnosis
from cvntrade.runbook.incidents import insert_note
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

T0 = dt.datetime(2026, 11, 24, 12, 0)
HOUR = dt.timedelta(hours=1)
BEFORE_PNL = {"BTCUSDC": (-0.4, -0.2), "ETHUSDC": (-0.3, -0.1), "SOLUSDC": (-0.5, 0.1)}
AFTER_PNL = {"BTCUSDC": (0.2, 0.4), "ETHUSDC": (0.1, 0.3), "SOLUSDC": (0.3, -0.1)}
PREVIOUS = (
    "# OPERATIONS\n\nHand-written intro.\n\n## §17.1 — one\nx\n\n## §17.2 — two\ny\n\n"
    "### §17.3 — three\nz\n\n## Appendix\nkeep\n"
)


def at(t: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock frozen at `t`."""
    return lambda: t


def _trade(symbol: str, loss: str, entry: dt.datetime, pnl: float, k: int) -> Trade:
    return Trade(
        trade_id=f"{symbol}-{loss}-{k}",
        crypto_symbol=symbol,
        strategy=DEFAULT_STRATEGY,
        model_name=model_name(symbol, DEFAULT_STRATEGY),
        model_version=3 if loss == "focal" else 2,
        model_loss_function=loss,
        entry_time=entry,
        exit_time=entry + HOUR,
        entry_price=100.0,
        exit_price=100.0 * (1 + pnl / 100),
        exit_reason="horizon",
        fees_pct=0.1,
        realized_pnl_pct=pnl,
    )


def _market_records(engine: Engine) -> None:
    trades = []
    for symbol in FOCAL_REGRESSION:
        for k, pnl in enumerate(BEFORE_PNL[symbol]):
            trades.append(_trade(symbol, "focal", T0 - (10 + 5 * k) * HOUR, pnl, k))
        for k, pnl in enumerate(AFTER_PNL[symbol]):
            trades.append(_trade(symbol, "binary", T0 + (2 + 5 * k) * HOUR, pnl, k))
    trades.append(_trade("BTCUSDC", "focal", T0 - 60 * HOUR, 9.0, 99))  # outside both windows
    with write_transaction(engine) as conn:
        insert_trades(conn, trades)
        conn.execute(
            insert(predictions),
            [
                {
                    "crypto_symbol": symbol,
                    "strategy": DEFAULT_STRATEGY,
                    "bar_time": T0 + h * HOUR,
                    "model_name": model_name(symbol, DEFAULT_STRATEGY),
                    "model_version": 3 if h < 0 else 2,
                    "model_loss_function": "focal" if h < 0 else "binary",
                    "probability": (0.8 if h < 0 else 0.4) + 0.01 * (h % 5),
                    "created_at": T0 + h * HOUR,
                }
                for symbol in ("BTCUSDC", "ETHUSDC")
                for h in range(-24, 24)
            ],
        )
        conn.execute(
            insert(monitor_snapshots),
            [
                {
                    "at": T0 - HOUR,
                    "crypto_symbol": symbol,
                    "signal": "psi_max",
                    "value": 0.31,
                    "data": {"psi": {"ret_1": 0.31, "vol_24": 0.05 * (k + 1), "gap": None}},
                }
                for k, symbol in enumerate(FOCAL_REGRESSION)
            ],
        )


def build_incident(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, remediation: bool = True
) -> int:
    """The whole incident; returns its id."""
    _market_records(engine)
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    make_models(ALL_SYMBOLS)
    values = {"BTCUSDC": -0.3, "ETHUSDC": -0.2, "SOLUSDC": -0.2}
    event = record_transition(
        engine,
        TransitionRecord(
            alert="expectancy_negative_focal",
            fingerprint="fp-export-test",
            state="firing",
            at=T0 - 2 * HOUR,
            labels={"negative_symbols": ",".join(FOCAL_REGRESSION)},
            values=values,
            summary="3 negative symbols",
            title="expectancy_negative_focal: BTC, ETH, SOL negative | <b>48 h</b>",
            severity="P1",
            reason="built-in evaluator: alert firing",
            note_data={"values": values},
        ),
    )
    assert event.incident_id is not None
    ack_event(
        engine, event.id, actor="oncall", reason="on it", clock=at(T0 - 90 * 60 * HOUR / 3600)
    )
    rollback(
        engine,
        registry,
        reason="expectancy_negative_focal: rollback",
        actor="oncall",
        symbols=FOCAL_REGRESSION,
        incident_id=event.incident_id,
        wait_s=0,
        clock=at(T0),
    )
    evidence = [
        SymbolEvidence(s, psi={"ret_1": 0.4, "vol_24": 0.1}, exp_48h=-0.3, exp_14d_baseline=0.2)
        for s in FOCAL_REGRESSION
    ]
    diagnosis = diagnose(evidence, ImplementationEvidence("same", 0.0, False))
    record_diagnosis(
        engine, event.incident_id, diagnosis, actor="oncall", at=T0 + HOUR, evidence=evidence
    )
    if remediation:
        with write_transaction(engine) as conn:
            insert_note(
                conn,
                event.incident_id,
                "path A: stay on binary; focal abandoned for this regime",
                actor="lead",
                at=T0 + 2 * HOUR,
                kind="remediation",
                data={"path": "A", "focal_abandoned": True},
            )
    return event.incident_id


def context(engine: Engine, home: Path, when: dt.datetime = T0 + 3 * HOUR) -> AppContext:
    return AppContext(settings=Settings(home=home), engine=engine, actor="oncall", clock=at(when))


def _section(text: str, incident_id: int) -> str:
    """The incident's section: from the heading above its begin marker to its end marker."""
    begin = text.index(f"<!-- cvntrade:incident {incident_id} -->")
    end_marker = f"<!-- cvntrade:end incident {incident_id} -->\n"
    return text[text.rindex("## §17.", 0, begin) : text.index(end_marker) + len(end_marker)]


def test_export_writes_section_17_4_with_everything_and_reexport_replaces_it(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, tmp_path: Path
) -> None:
    incident_id = build_incident(engine, registry, make_models)
    ops_file = tmp_path / "home" / "OPERATIONS.md"
    ops_file.parent.mkdir()
    ops_file.write_bytes(PREVIOUS.encode())
    ctx = context(engine, tmp_path / "home")

    result = export_report(ctx, incident_id)

    assert (result.path, result.section, result.heading, result.replaced) == (
        ops_file,
        4,
        "§17.4",
        False,
    )
    text = ops_file.read_text(encoding="utf-8")
    assert text.startswith(PREVIOUS)  # §17.1 to §17.3, intro and appendix byte for byte
    section = _section(text, incident_id)
    assert section.startswith(
        "## §17.4 — expectancy_negative_focal: BTC, ETH, SOL negative \\| &lt;b&gt;48 h&lt;/b&gt;\n"
    )
    # severity / status / opened
    assert "| severity | P1 |" in section and "| status | mitigated |" in section
    assert f"| opened | {T0 - 2 * HOUR:%Y-%m-%d %H:%M:%S} UTC by cvntrade-monitor |" in section
    assert "| symbols | BTCUSDC, ETHUSDC, SOLUSDC |" in section
    # the timeline: audit rows and notes, in time order
    kinds = re.findall(r"^\| [\d-]+ [\d:]+ \| [^|]+ \| ([\w.]+) \|", section, re.M)
    # (a note comes first on equal time: the firing note, then the open it caused)
    assert kinds[:4] == ["alert.firing", "incident.open", "alert.ack", "alert.ack"]
    assert kinds.count("models.set_alias") == 3
    assert (
        kinds.index("config.set")
        < kinds.index("models.set_alias")
        < kinds.index("runbook.rollback")
    )
    assert {"diagnosis", "remediation", "incident.status"} <= set(kinds)
    # alert events with their acknowledgement
    assert re.search(
        r"\| #\d+ \| firing \| .* \| BTCUSDC,ETHUSDC,SOLUSDC \| oncall at .* on it \|", section
    )
    # diagnosis, path decision
    assert "**Diagnosis** — diagnosis: likely" in section
    assert "| concept-drift |" in section
    assert "**Path A** — path A: stay on binary" in section
    # per-symbol numbers before / after the rollback (mean of the trades in each window)
    assert f"Pivot: rollback at {T0:%Y-%m-%d %H:%M:%S} UTC." in section
    assert "| BTCUSDC | focal | -0.3000 % (n=2) | — |" in section  # the 60 h-old +9 % is out
    assert "| BTCUSDC | binary | — | +0.3000 % (n=2) |" in section
    assert "| SOLUSDC | focal | -0.2000 % (n=2) | — |" in section
    # the checklist as exported
    assert "| logged | done | §17.4 in " in section
    assert "| root_cause | done | path A: stay on binary" in section
    assert re.search(r"\| gate_rechecked \| done \| gate check .*BTCUSDC not judged", section)
    assert "| story_reopened | done | story.reopen story:CVN-N001-EE-S02 (audited) |" in section
    assert "| committee_session | done | committee.open committee:pr_review (audited) |" in section
    # charts beside the file, linked relatively, valid PNGs
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", section)
    assert links == [
        "OPERATIONS_assets/incident-1/expectancy.png".replace("1", str(incident_id), 1),
        f"OPERATIONS_assets/incident-{incident_id}/probability_distribution.png",
        f"OPERATIONS_assets/incident-{incident_id}/psi.png",
    ]
    for link in links:
        with Image.open(ops_file.parent / link) as image:
            assert image.format == "PNG"
            image.verify()
    assert all(entry.definite for entry in result.checklist)

    # re-export: same number, replaced in place, nothing duplicated; then stable byte for byte
    again = export_report(ctx, incident_id)
    assert (again.section, again.replaced) == (4, True)
    second = ops_file.read_text(encoding="utf-8")
    assert second.startswith(PREVIOUS)
    assert second.count("<!-- cvntrade:incident") == 1 and second.count("## §17.4") == 1
    charts = {c.name: c.read_bytes() for c in again.charts}
    assert export_incident(ctx, incident_id) == ops_file
    assert ops_file.read_text(encoding="utf-8") == second
    assert {c.name: c.read_bytes() for c in again.charts} == charts

    # a second incident takes the next number
    other = open_incident(engine, alert="expectancy_negative_focal", title="later", actor="a")
    assert export_report(ctx, other.id).section == 5
    assert ops_file.read_text(encoding="utf-8").startswith(second)


def test_checklist_decisions_are_audited_and_definite_after_auto_checklist(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, tmp_path: Path
) -> None:
    incident_id = build_incident(engine, registry, make_models, remediation=False)
    ctx = context(engine, tmp_path)
    assert {e.item: e.state for e in read_checklist(engine, incident_id)} == dict.fromkeys(
        ("logged", "root_cause", "gate_rechecked", "story_reopened", "committee_session"),
        "pending",
    )
    after = {e.item: e for e in auto_checklist(ctx, incident_id, focal_abandoned=False)}
    assert after["root_cause"].data == {"path": "A", "source": "rollback"}
    assert after["gate_rechecked"].state == "done"
    assert set(after["gate_rechecked"].data["results"]) == set(FOCAL_REGRESSION)
    assert after["story_reopened"].state == after["committee_session"].state == "not_applicable"
    assert after["logged"].state == "pending"  # only an export logs it
    assert read_audit(engine, action="story.reopen") == []
    changes = read_audit(engine, action="incident.checklist")
    assert len(changes) == 4 and {c.incident_id for c in changes} == {incident_id}
    # an explicit override is audited with before / after; repeating it writes nothing
    mark(ctx, incident_id, "story-reopened", "done", "reopened by hand in the tracker")
    audit = read_audit(engine, action="incident.checklist", limit=1)[0]
    assert audit.before == {"item": "story_reopened", "state": "not_applicable"}
    assert audit.after["state"] == "done" and audit.reason == "reopened by hand in the tracker"
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    mark(ctx, incident_id, "story_reopened", "done", "reopened by hand in the tracker")
    auto_checklist(ctx, incident_id, focal_abandoned=True)  # decided items are left alone
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == count


def test_focal_abandoned_records_story_and_committee_actions(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, tmp_path: Path
) -> None:
    incident_id = build_incident(engine, registry, make_models, remediation=False)
    auto_checklist(context(engine, tmp_path), incident_id, focal_abandoned=True)
    story = read_audit(engine, action="story.reopen")
    committee = read_audit(engine, action="committee.open")
    assert [(a.target, a.after, a.incident_id) for a in story] == [
        ("story:CVN-N001-EE-S02", {"verdict": "abandoned"}, incident_id)
    ]
    assert [(a.target, a.incident_id) for a in committee] == [("committee:pr_review", incident_id)]


def test_close_resolves_then_exports(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, tmp_path: Path
) -> None:
    incident_id = build_incident(engine, registry, make_models)
    ops_file = tmp_path / "elsewhere.md"
    result = close_incident(
        context(engine, tmp_path), incident_id, reason="binary recovered", path=ops_file
    )
    incident = get_incident(engine, incident_id)
    assert (incident.status, incident.closed_at) == ("resolved", T0 + 3 * HOUR)
    assert result.path == ops_file and result.section == 1
    text = ops_file.read_text(encoding="utf-8")
    assert text.startswith("# OPERATIONS\n")
    assert (
        "| status | resolved |" in text and "status mitigated → resolved (binary recovered)" in text
    )


def _state(engine: Engine, home: Path) -> tuple[object, ...]:
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (audit_log, incident_checklist)
        )
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if "lock" not in p.name)
    return counts, files, (home / "OPERATIONS.md").read_bytes()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ctx, i: export_report(ctx, 999), NotFoundError, "incident #999 not found"),
        (lambda ctx, i: close_incident(ctx, 999), NotFoundError, "incident #999 not found"),
        (lambda ctx, i: close_incident(ctx, i, status="open"), UserInputError, "--status"),
        (lambda ctx, i: close_incident(ctx, i, reason="x\x1b[2J"), UserInputError, "--reason"),
        (
            lambda ctx, i: export_report(ctx, i, path=ctx.settings.home / "a\nb.md"),
            UserInputError,
            "control character",
        ),
        (lambda ctx, i: export_report(ctx, i, path=ctx.settings.home), UserInputError, "directory"),
        (lambda ctx, i: mark(ctx, i, "bogus", "done", "n"), UserInputError, "unknown checklist"),
        (lambda ctx, i: mark(ctx, i, "logged", "done", " "), UserInputError, "--note"),
        (lambda ctx, i: mark(ctx, i, "logged", "done", "n\x00"), UserInputError, "control"),
        (lambda ctx, i: mark(ctx, 999, "logged", "done", "n"), NotFoundError, "#999"),
    ],
)
def test_bad_input_changes_nothing(
    engine: Engine,
    tmp_path: Path,
    call: Callable[[AppContext, int], object],
    error: type[Exception],
    message: str,
) -> None:
    incident = open_incident(engine, alert="expectancy_negative_focal", title="t", actor="a")
    home = tmp_path / "home"
    home.mkdir()
    (home / "OPERATIONS.md").write_bytes(PREVIOUS.encode())
    ctx = context(engine, home)
    before = _state(engine, home)
    with pytest.raises(error, match=re.escape(message)):
        call(ctx, incident.id)
    assert _state(engine, home) == before
    assert get_incident(engine, incident.id).status == "open"

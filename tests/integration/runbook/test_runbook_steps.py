"""Runbook steps 1 and 2 on the drill scenarios, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from cvntrade.audit import read_audit
from cvntrade.config import set_config
from cvntrade.drill import run_journal_drill
from cvntrade.runbook import (
    check_config,
    confirm,
    get_incident,
    incident_timeline,
    list_incidents,
    open_incident,
)


def _focal_configured(engine: Engine) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal promoted", actor="setup")


def test_confirm_gives_the_runbook_verdict_for_each_drill(engine: Engine) -> None:
    _focal_configured(engine)
    for scenario, verdict, negative in [
        ("focal-regression", "real", ("BTCUSDC", "ETHUSDC", "SOLUSDC")),
        ("single-symbol", "transient", ("SOLUSDC",)),
        ("healthy", "transient", ()),
    ]:
        run_journal_drill(engine, scenario, actor="drill")
        result = confirm(engine, actor="oncall")
        assert result.verdict == verdict
        assert result.negative_symbols == negative
        assert [s.crypto_symbol for s in result.symbols] == [
            "ADAUSDC",
            "BTCUSDC",
            "ETHUSDC",
            "SOLUSDC",
            "XRPUSDC",
        ]
        assert all(s.n_trades > 0 for s in result.symbols)
        audit = read_audit(engine, action="runbook.confirm", limit=1)[0]
        assert audit.actor == "oncall"
        assert audit.after["verdict"] == verdict
        assert audit.after["negative_symbols"] == list(negative)


def test_real_alert_without_incident_records_none_and_says_how_to_open_one(
    engine: Engine,
) -> None:
    _focal_configured(engine)
    run_journal_drill(engine, "focal-regression", actor="drill")
    result = confirm(engine, actor="oncall")
    assert result.real
    assert (result.focal_loss_active, result.focal_source) == (True, "config")
    assert result.incident_id is None
    assert list_incidents(engine) == []
    assert any("cvntrade incident open" in step for step in result.next_steps)
    assert any("cvntrade runbook rollback" in step for step in result.next_steps)


def test_two_negative_symbols_without_focal_active_are_stale_not_real(engine: Engine) -> None:
    run_journal_drill(engine, "focal-regression", actor="drill")  # config stays binary:logistic
    result = confirm(engine, actor="oncall")
    assert result.verdict == "stale"
    assert not result.real
    assert result.negative_symbols == ("BTCUSDC", "ETHUSDC", "SOLUSDC")
    assert (result.focal_loss_active, result.focal_source) == (False, "none")
    assert list_incidents(engine) == []
    audit = read_audit(engine, action="runbook.confirm", limit=1)[0]
    assert (audit.after["verdict"], audit.after["focal_loss_active"]) == ("stale", False)


def test_transient_alert_is_logged_as_a_closed_false_positive_with_what_to_check(
    engine: Engine,
) -> None:
    run_journal_drill(engine, "single-symbol", actor="drill")
    result = confirm(engine, actor="oncall")
    assert result.verdict == "transient"
    assert result.incident_id is not None
    incident = get_incident(engine, result.incident_id)
    assert (incident.status, incident.alert, incident.severity) == (
        "false_positive",
        "expectancy_negative_focal",
        "P1",
    )
    assert incident.closed_at is not None
    timeline = incident_timeline(engine, incident.id)
    kinds = [e.kind for e in timeline.entries]
    assert kinds == ["false_positive", "incident.open", "runbook.confirm"]
    note = timeline.entries[0]
    assert "SOLUSDC is negative" in note.text
    assert "noisy data" in note.text


def test_transient_alert_closes_the_only_open_incident(engine: Engine) -> None:
    run_journal_drill(engine, "healthy", actor="drill")
    opened = open_incident(engine, alert="expectancy_negative_focal", title="paged", actor="a")
    result = confirm(engine, actor="oncall")
    assert result.incident_id == opened.id
    assert "incident #" in result.attachment
    assert get_incident(engine, opened.id).status == "false_positive"
    assert len(list_incidents(engine)) == 1


def test_check_config_reads_ftf_config_and_audits(engine: Engine) -> None:
    opened = open_incident(engine, alert="expectancy_negative_focal", title="paged", actor="a")
    for changes, verdict in [
        (
            {"CVN_LOSS_FUNCTION": "focal", "CVN_FOCAL_GAMMA": "2", "CVN_FOCAL_ALPHA": "0.25"},
            "active",
        ),
        ({"CVN_LOSS_FUNCTION": "binary:logistic"}, "stale"),
    ]:
        change = set_config(engine, changes, reason="setup", actor="setup")
        result = check_config(engine, actor="oncall", incident_id=opened.id)
        assert result.verdict == verdict
        assert result.loss_function == changes["CVN_LOSS_FUNCTION"]
        assert result.version == change.after.version
        assert result.updated_at == change.after.updated_at
        assert (result.focal_gamma, result.focal_alpha) == ("2.0", "0.25")
        audit = read_audit(engine, action="runbook.check_config", limit=1)[0]
        assert audit.reason.endswith(f"[incident #{opened.id}]")
        assert audit.after["verdict"] == verdict
    assert "no action" in result.advice
    entries = incident_timeline(engine, opened.id).entries
    assert [e.kind for e in entries] == [
        "incident.open",
        "runbook.check_config",
        "runbook.check_config",
    ]

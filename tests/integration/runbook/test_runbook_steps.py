"""Runbook steps 1 and 2 on the drill scenarios, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from runbook_support import ALL_SYMBOLS, MakeModels
from sqlalchemy import Engine, insert

from cvntrade.audit import read_audit
from cvntrade.clock import utc_now
from cvntrade.config import read_config, set_config
from cvntrade.db.tables import engine_status
from cvntrade.drill import run_journal_drill
from cvntrade.errors import DependencyError
from cvntrade.registry import MlflowRegistry, ModelVersionInfo
from cvntrade.runbook import (
    check_config,
    confirm,
    get_incident,
    incident_timeline,
    list_incidents,
    open_incident,
)
from cvntrade.runbook.serving import Serving, serving_by_symbol
from cvntrade.strategy import DEFAULT_STRATEGY, model_name


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


def _serving(engine: Engine, registry: MlflowRegistry) -> Serving:
    return serving_by_symbol(
        engine, registry, symbols=ALL_SYMBOLS, strategy=DEFAULT_STRATEGY, now=utc_now()
    )


def test_check_config_reads_ftf_config_and_audits(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    make_models(ALL_SYMBOLS, losses=("binary",))
    opened = open_incident(engine, alert="expectancy_negative_focal", title="paged", actor="a")
    for changes, verdict in [
        (
            {"CVN_LOSS_FUNCTION": "focal", "CVN_FOCAL_GAMMA": "2", "CVN_FOCAL_ALPHA": "0.25"},
            "active",
        ),
        ({"CVN_LOSS_FUNCTION": "binary:logistic"}, "stale"),
    ]:
        change = set_config(engine, changes, reason="setup", actor="setup")
        result = check_config(
            engine, actor="oncall", incident_id=opened.id, serving=_serving(engine, registry)
        )
        assert result.verdict == verdict
        assert result.loss_function == changes["CVN_LOSS_FUNCTION"]
        assert result.version == change.after.version
        assert result.updated_at == change.after.updated_at
        assert (result.focal_gamma, result.focal_alpha) == ("2.0", "0.25")
        audit = read_audit(engine, action="runbook.check_config", limit=1)[0]
        assert (audit.reason, audit.incident_id) == (
            "runbook step 2: check the active config",
            opened.id,
        )
        assert audit.after["verdict"] == verdict
    assert "no action" in result.advice
    entries = incident_timeline(engine, opened.id).entries
    assert [e.kind for e in entries] == [
        "incident.open",
        "runbook.check_config",
        "runbook.check_config",
    ]


def test_check_config_says_mismatch_when_focal_champions_serve_under_a_binary_config(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    make_models(("BTCUSDC", "ETHUSDC"), losses=("binary", "focal"))  # promoted with `promote`
    make_models(("SOLUSDC",), losses=("binary",))
    result = check_config(engine, actor="oncall", serving=_serving(engine, registry))
    assert read_config(engine).loss_function == "binary:logistic"
    assert result.verdict == "mismatch"
    assert result.focal_symbols == ("BTCUSDC", "ETHUSDC")
    assert "no action" not in result.advice
    assert "--symbols BTCUSDC,ETHUSDC" in result.advice
    by_symbol = {row.crypto_symbol: row for row in result.serving}
    assert (by_symbol["BTCUSDC"].champion_version, by_symbol["BTCUSDC"].champion_loss) == (
        2,
        "focal",
    )
    assert by_symbol["SOLUSDC"].champion_loss == "binary"
    assert by_symbol["XRPUSDC"].champion_version is None  # no model registered
    audit = read_audit(engine, action="runbook.check_config", limit=1)[0]
    assert audit.after["verdict"] == "mismatch"
    assert audit.after["focal_symbols"] == ["BTCUSDC", "ETHUSDC"]


def test_check_config_counts_a_live_engine_still_serving_focal(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    make_models(("BTCUSDC",), losses=("binary",))
    now = utc_now()
    heartbeat = {
        "strategy": DEFAULT_STRATEGY,
        "model_name": model_name("BTCUSDC", DEFAULT_STRATEGY),
        "model_version": 7,
        "model_loss_function": "focal",
        "stale": False,
        "crypto_symbol": "BTCUSDC",
    }
    with engine.begin() as conn:
        conn.execute(
            insert(engine_status),
            [
                {**heartbeat, "engine_id": "live:a", "mode": "live", "heartbeat_at": now},
                # stopped and long-silent engines do not serve
                {**heartbeat, "engine_id": "paper:b", "mode": "stopped", "heartbeat_at": now},
                {
                    **heartbeat,
                    "engine_id": "live:c",
                    "mode": "live",
                    "heartbeat_at": now - dt.timedelta(days=2),
                },
            ],
        )
    result = check_config(engine, actor="oncall", serving=_serving(engine, registry))
    assert result.verdict == "mismatch"
    assert result.focal_symbols == ("BTCUSDC",)
    btc = next(row for row in result.serving if row.crypto_symbol == "BTCUSDC")
    assert [e.engine_id for e in btc.engines] == ["live:a"]


def test_check_config_without_the_registry_is_never_an_all_clear(engine: Engine) -> None:
    result = check_config(engine, actor="oncall")
    assert result.verdict == "unverified"
    serving = serving_by_symbol(
        engine,
        _StoppedRegistry(),
        symbols=("BTCUSDC",),
        strategy=DEFAULT_STRATEGY,
        now=utc_now(),
    )
    assert serving.registry_error is not None
    assert check_config(engine, actor="oncall", serving=serving).verdict == "unverified"


class _StoppedRegistry:
    """A registry whose server went away: every call is a `DependencyError`."""

    def aliases(self, name: str) -> dict[str, int]:
        raise DependencyError(f"model registry unreachable while reading {name!r}")

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        raise DependencyError("model registry unreachable")

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        raise DependencyError("model registry unreachable")

    def set_alias(self, name: str, alias: str, version: int) -> None:
        raise DependencyError("model registry unreachable")


def test_confirm_run_twice_records_one_false_positive_incident(engine: Engine) -> None:
    run_journal_drill(engine, "single-symbol", actor="drill")
    first = confirm(engine, actor="oncall")
    second = confirm(engine, actor="oncall")
    [logged] = list_incidents(engine)
    assert first.incident_id == second.incident_id == logged.id
    assert logged.status == "false_positive"
    assert "no new incident" in second.attachment
    notes = [e for e in incident_timeline(engine, logged.id).entries if e.kind == "false_positive"]
    assert len(notes) == 2


def test_a_transient_confirm_much_later_is_a_new_false_positive(engine: Engine) -> None:
    run_journal_drill(engine, "single-symbol", actor="drill")
    first = confirm(engine, actor="oncall")
    later = utc_now() + dt.timedelta(hours=2)
    second = confirm(engine, actor="oncall", clock=lambda: later, window=dt.timedelta(hours=50))
    assert first.incident_id != second.incident_id
    assert len(list_incidents(engine, status="false_positive")) == 2

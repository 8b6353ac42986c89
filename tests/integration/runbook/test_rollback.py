"""Runbook step 3 against a real MLflow store, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from runbook_support import ALL_SYMBOLS, FOCAL_REGRESSION, MakeModels
from sqlalchemy import Engine, func, select

from cvntrade.audit import read_audit
from cvntrade.config import read_config, set_config
from cvntrade.db.tables import alias_events, audit_log
from cvntrade.drill import run_journal_drill
from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.registry import MlflowRegistry, ModelVersionInfo
from cvntrade.runbook import (
    ALREADY_BINARY,
    MOVE,
    NO_LIVE_ENGINE,
    UNTAGGED,
    get_incident,
    incident_timeline,
    open_incident,
    rollback,
)

REASON = "expectancy_negative_focal: rollback"


def _focal_setup(engine: Engine, make_models: MakeModels) -> dict[str, str]:
    run_journal_drill(engine, "focal-regression", actor="drill")
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    return make_models(ALL_SYMBOLS)


def _champions(registry: MlflowRegistry, names: dict[str, str]) -> dict[str, int]:
    return {symbol: registry.aliases(name)["champion"] for symbol, name in names.items()}


State = tuple[int, str | None, dict[str, int], int, int]


def _state(engine: Engine, registry: MlflowRegistry, names: dict[str, str]) -> State:
    config = read_config(engine)
    with engine.connect() as conn:
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        events = conn.execute(select(func.count()).select_from(alias_events)).scalar_one()
    return (
        config.version,
        config.loss_function,
        _champions(registry, names),
        int(audits),
        int(events),
    )


def test_rollback_auto_acceptance_and_second_run_changes_nothing(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    names = _focal_setup(engine, make_models)
    incident = open_incident(
        engine, alert="expectancy_negative_focal", title="focal negative", actor="oncall"
    )
    result = rollback(engine, registry, reason=REASON, actor="oncall", wait_s=0)

    assert read_config(engine).loss_function == "binary:logistic"
    assert result.config_changed
    assert _champions(registry, names) == {
        "BTCUSDC": 2,
        "ETHUSDC": 2,
        "SOLUSDC": 2,
        "XRPUSDC": 3,
        "ADAUSDC": 3,
    }
    assert [s.crypto_symbol for s in result.symbols] == list(FOCAL_REGRESSION)
    assert all(s.action == MOVE and s.done for s in result.symbols)
    moves = read_audit(engine, action="models.set_alias")
    assert sorted(a.target for a in moves) == sorted(
        f"{names[s]}@champion" for s in FOCAL_REGRESSION
    )
    for audit in moves:
        assert (audit.reason, audit.incident_id) == (REASON, incident.id)
        name = audit.target.removesuffix("@champion")
        assert audit.after == {
            "version": 2,
            "command": f"cvntrade models set-alias --name {name} --alias champion --version 2",
        }
    assert result.propagation is not None
    assert result.propagation.by_status(NO_LIVE_ENGINE) == FOCAL_REGRESSION
    assert result.propagation.complete
    assert result.timing.within_sla
    assert result.timing.total_s < 60
    assert get_incident(engine, incident.id).status == "mitigated"
    kinds = [e.kind for e in incident_timeline(engine, incident.id).entries]
    assert kinds == [
        "incident.open",
        "config.set",
        *["models.set_alias"] * 3,
        "runbook.rollback",
        "incident.status",
    ]

    before = _state(engine, registry, names)
    again = rollback(engine, registry, reason=REASON, actor="oncall", wait_s=0)
    assert not again.changed
    assert not again.config_changed
    assert [s.action for s in again.symbols] == [ALREADY_BINARY] * 3
    after = _state(engine, registry, names)
    assert after[:3] == before[:3]
    assert after[4] == before[4]  # no alias event: nothing for the engines to reload
    assert after[3] == before[3] + 1  # only the run's own runbook.rollback row


def test_dry_run_prints_the_plan_and_changes_nothing(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    names = _focal_setup(engine, make_models)
    before = _state(engine, registry, names)
    plan = rollback(
        engine, registry, reason=REASON, actor="oncall", dry_run=True, symbols=["BTCUSDC"]
    )
    assert plan.dry_run
    assert not plan.changed
    [item] = plan.symbols
    assert (item.champion_version, item.target_version, item.action, item.done) == (
        3,
        2,
        MOVE,
        False,
    )
    assert item.command == (
        f"cvntrade models set-alias --name {names['BTCUSDC']} --alias champion --version 2"
    )
    assert plan.config_loss_before == "focal"
    assert _state(engine, registry, names) == before


def test_explicit_symbols_skip_binary_and_untagged_champions(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    names = make_models(["BTCUSDC"], losses=["binary", "focal", "focal"])
    names |= make_models(["ETHUSDC"], losses=["focal", "binary"])
    names |= make_models(["XRPUSDC"], losses=["binary", None])
    result = rollback(
        engine,
        registry,
        reason=REASON,
        actor="oncall",
        symbols=["BTCUSDC", "ETHUSDC", "XRPUSDC"],
        wait_s=0,
    )
    assert [(s.crypto_symbol, s.action, s.target_version) for s in result.symbols] == [
        ("BTCUSDC", MOVE, 1),
        ("ETHUSDC", ALREADY_BINARY, 2),
        ("XRPUSDC", UNTAGGED, 2),
    ]
    assert _champions(registry, names) == {"BTCUSDC": 1, "ETHUSDC": 2, "XRPUSDC": 2}
    assert result.propagation is not None
    assert [s.crypto_symbol for s in result.propagation.symbols] == ["BTCUSDC", "ETHUSDC"]


BAD_INPUT: list[tuple[dict[str, object], type[Exception], str]] = [
    ({"symbols": ["BTCUSDC", "SOLUSDC"]}, NotFoundError, "no version tagged loss_function"),
    ({"symbols": ["BTCUSDC", "DOGEUSDC"]}, NotFoundError, "DOGEUSDC"),
    ({"reason": "  "}, UserInputError, "--reason"),
    ({"incident_id": 999}, NotFoundError, "incident #999"),
    ({"wait_s": -1}, UserInputError, "--wait-s"),
    ({"strategy": "SL0_TP1"}, UserInputError, "invalid strategy"),
]


def test_bad_input_is_refused_before_anything_changes(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    names = make_models(["BTCUSDC"])
    names |= make_models(["SOLUSDC"], losses=["focal", "focal"])  # no binary to roll back to
    before = _state(engine, registry, names)
    for kwargs, error, message in BAD_INPUT:
        args: dict[str, object] = {"reason": REASON, "symbols": ["BTCUSDC"], **kwargs}
        with pytest.raises(error, match=message):
            rollback(engine, registry, actor="oncall", **args)  # type: ignore[arg-type]
        assert _state(engine, registry, names) == before, kwargs


@dataclass
class RegistryStoppingAfter:
    """The real registry, stopped (an unreachable MLflow server) after `moves` alias moves."""

    real: MlflowRegistry
    moves: int
    stopped: MlflowRegistry = field(default_factory=lambda: MlflowRegistry("http://127.0.0.1:9"))

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        return self.real.list_versions(name, max_results)

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        return (self.stopped if self.moves <= 0 else self.real).get_version(name, version)

    def aliases(self, name: str) -> dict[str, int]:
        return self.real.aliases(name)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.moves -= 1
        self.real.set_alias(name, alias, version)


def test_registry_stopped_half_way_is_finished_by_a_second_run_without_repeats(
    engine: Engine,
    registry: MlflowRegistry,
    make_models: MakeModels,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    names = _focal_setup(engine, make_models)
    flaky = RegistryStoppingAfter(registry, moves=1)
    with pytest.raises(DependencyError) as failure:
        rollback(engine, flaky, reason=REASON, actor="oncall", wait_s=0)
    assert "rolled back so far: BTCUSDC; run the same command again" in str(failure.value)
    assert read_config(engine).loss_function == "binary:logistic"
    assert _champions(registry, names)["ETHUSDC"] == 3
    [interrupted] = read_audit(engine, action="runbook.rollback")
    assert interrupted.after["interrupted"] is True
    assert interrupted.after["finished"] == ["BTCUSDC"]

    result = rollback(engine, registry, reason=REASON, actor="oncall", wait_s=0)
    assert [(s.crypto_symbol, s.action) for s in result.symbols] == [
        ("BTCUSDC", ALREADY_BINARY),
        ("ETHUSDC", MOVE),
        ("SOLUSDC", MOVE),
    ]
    assert not result.config_changed
    targets = [a.target for a in read_audit(engine, action="models.set_alias")]
    assert sorted(targets) == sorted(f"{names[s]}@champion" for s in FOCAL_REGRESSION)
    assert {_champions(registry, names)[s] for s in FOCAL_REGRESSION} == {2}

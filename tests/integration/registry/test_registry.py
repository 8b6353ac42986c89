"""Registry wrapper and audited alias moves against a real MLflow store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events
from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.registry import (
    MlflowRegistry,
    champion_of,
    list_versions,
    previous_non_focal,
    set_alias,
)


def test_versions_are_listed_newest_first_with_tags_and_aliases(
    registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    versions = list_versions(registry, name, max_results=2)
    assert [v.version for v in versions] == [3, 2]
    assert versions[0].loss_function == "focal"
    assert versions[0].aliases == ("champion",)
    assert versions[1].aliases == ()
    assert versions[0].runbook_line().startswith("version=3 run_id=")
    assert versions[0].runbook_line().endswith("tags={loss_function: focal} aliases=[champion]")


def test_previous_non_focal_skips_focal_and_untagged_versions(
    registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "focal", None, "focal", "focal"], champion=5)
    assert champion_of(registry, name).version == 5
    assert previous_non_focal(registry, name).version == 1
    assert previous_non_focal(registry, name, before_version=5).version == 1
    with pytest.raises(NotFoundError, match="no version tagged loss_function=binary older than"):
        previous_non_focal(registry, name, before_version=1)


def test_missing_model_champion_and_version_are_named(
    registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    with pytest.raises(NotFoundError, match="model 'CVNTrade_nope' not found"):
        list_versions(registry, "CVNTrade_nope")
    name = make_model(["binary"])
    with pytest.raises(NotFoundError, match="has no 'champion' alias"):
        champion_of(registry, name)
    with pytest.raises(NotFoundError, match="version 9 not found"):
        registry.get_version(name, 9)


def test_set_alias_moves_champion_and_audits_once(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    move = set_alias(
        engine, registry, name=name, alias="champion", version=1, reason="rollback", actor="ops"
    )
    assert (move.old_version, move.new_version, move.changed) == (2, 1, True)
    assert champion_of(registry, name).version == 1
    again = set_alias(
        engine, registry, name=name, alias="champion", version=1, reason="rollback", actor="ops"
    )
    assert not again.changed
    [audit] = read_audit(engine, action="models.set_alias")
    assert (audit.actor, audit.reason, audit.target) == ("ops", "rollback", f"{name}@champion")
    assert audit.before == {"version": 2}
    assert audit.after == {
        "version": 1,
        "command": f"cvntrade models set-alias --name {name} --alias champion --version 1",
    }
    with engine.connect() as conn:
        events = conn.execute(select(alias_events.c.model_name, alias_events.c.version)).all()
    assert [tuple(e) for e in events] == [(name, 1)]


@pytest.mark.parametrize(
    ("alias", "version", "reason", "error", "message"),
    [
        ("champion", 7, "r", NotFoundError, "version 7 not found"),
        ("latest", 1, "r", UserInputError, "reserved"),
        ("v1", 1, "r", UserInputError, "reserved"),
        ("champion", 1, " ", UserInputError, "--reason"),
    ],
)
def test_refused_moves_change_nothing(
    engine: Engine,
    registry: MlflowRegistry,
    make_model: Callable[..., str],
    alias: str,
    version: int,
    reason: str,
    error: type[Exception],
    message: str,
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    with pytest.raises(error, match=message):
        set_alias(
            engine, registry, name=name, alias=alias, version=version, reason=reason, actor="a"
        )
    assert champion_of(registry, name).version == 2
    assert read_audit(engine, action="models.set_alias") == []


def test_unreachable_registry_is_a_dependency_error_and_writes_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    down = MlflowRegistry("http://127.0.0.1:9")
    with pytest.raises(DependencyError, match="registry"):
        set_alias(
            engine, down, name="CVNTrade_x", alias="champion", version=1, reason="r", actor="a"
        )
    assert read_audit(engine) == []

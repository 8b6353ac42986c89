"""Issue 12.5: every alias move is recorded as an intent first, then confirmed or reconciled.

A process death is simulated in-process by `_Killed` (a BaseException, like the SystemExit of a
signal handler: no `except CvnError` catches it), raised right after or right before the real
MLflow write. tests/e2e/test_alias_kill.py does the same with a real SIGKILL.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.locks import model_lock
from cvntrade.db.tables import alias_events, alias_intents, audit_log
from cvntrade.doctor import alias_intents_check
from cvntrade.errors import ConflictError, DependencyError
from cvntrade.registry import (
    MlflowRegistry,
    pending_intents,
    reconcile_intents,
    set_alias,
)
from cvntrade.registry.records import ModelVersionInfo

SECRET = "IntentPass314xyz"


class _Killed(BaseException):
    """The process 'dies' here: nothing after this point runs."""


class _DyingRegistry:
    """The real registry, except that its alias write 'kills the process' (after or before)."""

    def __init__(self, inner: MlflowRegistry, point: str) -> None:
        self.inner, self.point = inner, point

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        return self.inner.list_versions(name, max_results)

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        return self.inner.get_version(name, version)

    def aliases(self, name: str) -> dict[str, int]:
        return self.inner.aliases(name)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        if self.point == "after":
            self.inner.set_alias(name, alias, version)
        raise _Killed


def _move(engine: Engine, registry: object, name: str, version: int, **extra: object) -> object:
    return set_alias(
        engine,
        registry,  # type: ignore[arg-type]
        name=name,
        alias="champion",
        version=version,
        reason="roll back",
        actor="oncall",
        **extra,  # type: ignore[arg-type]
    )


def _states(engine: Engine) -> list[tuple[int | None, int, str, str | None]]:
    query = select(
        alias_intents.c.from_version,
        alias_intents.c.to_version,
        alias_intents.c.state,
        alias_intents.c.settled_by,
    ).order_by(alias_intents.c.id)
    with engine.connect() as conn:
        return [(r[0], r[1], r[2], r[3]) for r in conn.execute(query)]


def _events(engine: Engine) -> list[int | None]:
    with engine.connect() as conn:
        query = select(alias_events.c.version).order_by(alias_events.c.id)
        return list(conn.execute(query).scalars())


def _kill(engine: Engine, registry: MlflowRegistry, name: str, version: int, point: str) -> None:
    with pytest.raises(_Killed):
        _move(engine, _DyingRegistry(registry, point), name, version)


def test_a_move_is_recorded_then_confirmed_and_a_no_op_records_nothing(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    _move(engine, registry, name, 1)
    _move(engine, registry, name, 1)  # already there
    assert _states(engine) == [(2, 1, "done", "oncall")]
    assert len(read_audit(engine, action="models.set_alias")) == 1
    assert _events(engine) == [1]


def test_a_conflicting_move_records_no_intent(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    with pytest.raises(ConflictError):
        _move(engine, registry, name, 1, expected_old=2)
    assert _states(engine) == []


def test_a_move_killed_after_the_write_is_completed_by_the_next_move_first(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    _kill(engine, registry, name, 2, "after")
    assert registry.aliases(name) == {"champion": 2}
    assert _states(engine) == [(3, 2, "pending", None)]
    assert read_audit(engine, action="models.set_alias") == []

    move = _move(engine, registry, name, 1)
    [settled] = move.reconciled  # type: ignore[attr-defined]
    assert (settled.state, settled.found_version) == ("done", 2)
    audit = list(reversed(read_audit(engine, action="models.set_alias")))
    assert [(a.before, a.after["version"]) for a in audit] == [
        ({"version": 3}, 2),
        ({"version": 2}, 1),
    ]
    assert audit[0].reason.startswith("completed by reconciliation")
    assert audit[0].after["intent_id"] == settled.intent.id
    assert audit[1].reason == "roll back"
    assert _events(engine) == [2, 1]
    assert _states(engine) == [(3, 2, "done", "oncall"), (2, 1, "done", "oncall")]


def test_a_move_killed_before_the_write_is_abandoned_and_audited_as_such(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    _kill(engine, registry, name, 1, "before")
    [settled] = reconcile_intents(engine, registry, actor="auditor")
    assert (settled.state, settled.found_version) == ("abandoned", 2)
    assert _states(engine) == [(2, 1, "abandoned", "auditor")]
    assert read_audit(engine, action="models.set_alias") == [] and _events(engine) == []
    [row] = read_audit(engine, action="models.intent_abandoned")
    assert row.after == {"version": 2, "intent_id": settled.intent.id, "intended": 1}
    assert reconcile_intents(engine, registry, actor="auditor") == ()


def test_an_alias_moved_elsewhere_abandons_the_intent(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    _kill(engine, registry, name, 2, "after")
    registry.client.set_registered_model_alias(name, "champion", "1")  # by hand, outside cvntrade
    [settled] = reconcile_intents(engine, registry, model_name=name, actor="auditor")
    assert (settled.state, settled.found_version) == ("abandoned", 1)
    assert "at version 1, not 2" in settled.note


def test_an_intent_of_a_model_missing_from_the_registry_stays_pending(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str], tracking_uri: str
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    _kill(engine, registry, name, 1, "after")
    other = MlflowRegistry(tracking_uri.replace("mlflow.db", "other.db"))
    [settled] = reconcile_intents(engine, other, actor="auditor")
    assert settled.state == "pending" and "MLFLOW_TRACKING_URI" in settled.note
    assert [i.id for i in pending_intents(engine)] == [settled.intent.id]
    assert read_audit(engine) == []


def test_a_failed_registry_write_is_settled_from_what_the_registry_shows(
    engine: Engine,
    registry: MlflowRegistry,
    make_model: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    name = make_model(["binary", "focal"], champion=2)
    with socket.socket() as sock:  # a port nobody listens on: a dead tracking server
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = MlflowRegistry(f"http://oncall:{SECRET}@127.0.0.1:{port}")

    class _WritesToDead(_DyingRegistry):
        def set_alias(self, name: str, alias: str, version: int) -> None:
            dead.set_alias(name, alias, version)

    with pytest.raises(DependencyError):
        _move(engine, _WritesToDead(registry, "after"), name, 1)
    [(_, _, state, _)] = _states(engine)
    assert state == "abandoned"
    assert read_audit(engine, action="models.set_alias") == []
    with engine.connect() as conn:
        stored = repr(conn.execute(select(alias_intents)).all())
        stored += repr(conn.execute(select(audit_log)).all())
    assert "registry write failed" in stored and "oncall:***@" in stored
    assert SECRET not in stored


def test_doctor_fails_on_an_interrupted_move_but_not_on_one_in_flight(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "focal"], champion=2)
    assert alias_intents_check(engine).status == "ok"
    _kill(engine, registry, name, 1, "after")
    with model_lock(engine, name):  # a live mover holds the lock: its intent is in flight
        in_flight = alias_intents_check(engine)
    assert in_flight.status == "warn" and "in progress" in in_flight.detail
    stuck = alias_intents_check(engine)
    assert stuck.status == "fail" and f"{name}@champion 2 → 1 by oncall" in stuck.detail
    assert stuck.fix is not None and "cvntrade models reconcile" in stuck.fix
    reconcile_intents(engine, registry, actor="auditor")
    assert alias_intents_check(engine).status == "ok"

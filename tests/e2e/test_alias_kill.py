"""Issue 12.5 "no unaudited change": SIGKILL at the alias write, then a re-run completes the record.

A real `cvntrade` process (tests/e2e/alias_kill_wrapper.py: the unmodified CLI whose MLflow alias
write kills the process right after — or right before — the real registry call) dies at that
exact point. Afterwards the registry, the intent table and the audit log are inspected, then a
re-run (`models set-alias`, `runbook rollback` or `models reconcile`) must leave exactly one
audit row and one `alias_events` row per move that happened, and none for one that did not.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events, alias_intents
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

pytestmark = pytest.mark.slow
WRAPPER = Path(__file__).with_name("alias_kill_wrapper.py")
BTC = model_name("BTCUSDC", DEFAULT_STRATEGY)
ETH = model_name("ETHUSDC", DEFAULT_STRATEGY)
HANG_GUARD_S = 1800


def _registry(tmp_path: Path, mlflow_template: Path, names: tuple[str, ...]) -> MlflowClient:
    """A fresh MLflow store where each model has versions binary, binary, focal; champion 3."""
    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for name in names:
        client.create_registered_model(name)
        for loss in ("binary", "binary", "focal"):
            client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", "3")
    return client


def _env(cli_env: dict[str, str], client: MlflowClient) -> dict[str, str]:
    return {**cli_env, "MLFLOW_TRACKING_URI": client.tracking_uri}


def _run(
    env: dict[str, str], *args: str, kill: str | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = [str(WRAPPER), kill] if kill else ["-m", "cvntrade.cli.main"]
    return subprocess.run(
        [sys.executable, *prefix, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_S,
    )


def _set_alias(version: int) -> tuple[str, ...]:
    return (
        "models", "set-alias", "--name", BTC, "--alias", "champion",
        "--version", str(version), "--reason", "roll back focal", "--actor", "oncall",
    )  # fmt: skip


def _intents(engine: Engine) -> list[tuple[str, int | None, int, str]]:
    query = select(
        alias_intents.c.model_name,
        alias_intents.c.from_version,
        alias_intents.c.to_version,
        alias_intents.c.state,
    ).order_by(alias_intents.c.id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def _events(engine: Engine) -> list[tuple[str, int | None]]:
    query = select(alias_events.c.model_name, alias_events.c.version).order_by(alias_events.c.id)
    with engine.connect() as conn:
        return [(row[0], row[1]) for row in conn.execute(query)]


def _moves(engine: Engine) -> list[tuple[str, object, object]]:
    return [
        (a.target, a.before, a.after["version"])
        for a in reversed(read_audit(engine, action="models.set_alias"))
    ]


def test_set_alias_killed_after_the_registry_write_is_completed_by_a_rerun(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, mlflow_template: Path
) -> None:
    client = _registry(tmp_path, mlflow_template, (BTC,))
    env = _env(cli_env, client)

    killed = _run(env, *_set_alias(2), kill="after")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert client.get_registered_model(BTC).aliases == {"champion": 2}  # the alias moved ...
    assert _intents(engine) == [(BTC, 3, 2, "pending")]  # ... recorded as an intent ...
    assert _moves(engine) == [] and _events(engine) == []  # ... but not audited yet

    doctor = _run(env, "doctor", "--json", "--symbols", "BTCUSDC", "--timeout-s", "0.5")
    assert doctor.returncode == 1, doctor.stderr
    [check] = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "alias intents"]
    assert check["status"] == "fail"
    assert f"{BTC}@champion 3 → 2 by oncall" in check["detail"]
    assert "cvntrade models reconcile" in check["fix"]

    rerun = _run(env, *_set_alias(2))
    assert rerun.returncode == 0, rerun.stderr
    assert "reconciled first: intent #" in rerun.stdout and ": done (" in rerun.stdout
    assert "already at version 2: nothing to do" in rerun.stdout
    assert _moves(engine) == [(f"{BTC}@champion", {"version": 3}, 2)]
    [audit] = read_audit(engine, action="models.set_alias")
    assert audit.actor == "oncall"
    assert audit.reason.startswith("completed by reconciliation (intent #")
    assert audit.reason.endswith(": roll back focal")
    assert _events(engine) == [(BTC, 2)]
    assert _intents(engine) == [(BTC, 3, 2, "done")]

    again = _run(env, "models", "reconcile", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"settled": []}
    assert len(read_audit(engine, action="models.set_alias")) == 1


def test_set_alias_killed_before_the_registry_write_is_abandoned_by_reconcile(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, mlflow_template: Path
) -> None:
    client = _registry(tmp_path, mlflow_template, (BTC,))
    env = _env(cli_env, client)

    killed = _run(env, *_set_alias(2), kill="before")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert client.get_registered_model(BTC).aliases == {"champion": 3}
    assert _intents(engine) == [(BTC, 3, 2, "pending")]

    reconciled = _run(env, "models", "reconcile", "--json", "--actor", "auditor")
    assert reconciled.returncode == 0, reconciled.stderr
    [settled] = json.loads(reconciled.stdout)["settled"]
    assert (settled["state"], settled["found_version"]) == ("abandoned", 3)
    assert _intents(engine) == [(BTC, 3, 2, "abandoned")]
    assert _moves(engine) == [] and _events(engine) == []
    [abandoned] = read_audit(engine, action="models.intent_abandoned")
    assert (abandoned.actor, abandoned.target) == ("auditor", f"{BTC}@champion")
    assert client.get_registered_model(BTC).aliases == {"champion": 3}  # reconcile moves nothing


def test_rollback_killed_after_a_registry_write_is_finished_by_a_rerun(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, mlflow_template: Path
) -> None:
    client = _registry(tmp_path, mlflow_template, (BTC, ETH))
    env = _env(cli_env, client)
    rollback = ("runbook", "rollback", "--symbols", "BTCUSDC,ETHUSDC", "--reason", "focal down")

    killed = _run(env, *rollback, "--wait-s", "0", kill="after")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    aliases = {n: client.get_registered_model(n).aliases["champion"] for n in (BTC, ETH)}
    assert aliases == {BTC: 2, ETH: 3}  # killed right after BTC's registry write
    assert _intents(engine) == [(BTC, 3, 2, "pending")]
    assert _moves(engine) == [] and _events(engine) == []

    rerun = _run(env, *rollback, "--wait-s", "0", "--json")
    assert rerun.returncode in (0, 1), rerun.stderr  # 1: no live engine switched (there is none)
    result = json.loads(rerun.stdout)
    assert [r["state"] for r in result["reconciled"]] == ["done"]
    actions = {s["crypto_symbol"]: s["action"] for s in result["symbols"]}
    assert actions == {"BTCUSDC": "already_binary", "ETHUSDC": "move"}
    assert "BTCUSDC: reconciled intent #" in rerun.stderr  # progress lines go to stderr with --json
    assert sorted(_moves(engine)) == [
        (f"{BTC}@champion", {"version": 3}, 2),
        (f"{ETH}@champion", {"version": 3}, 2),
    ]
    assert sorted(_events(engine)) == [(BTC, 2), (ETH, 2)]
    assert _intents(engine) == [(BTC, 3, 2, "done"), (ETH, 3, 2, "done")]
    [record] = read_audit(engine, action="runbook.rollback", limit=1)
    assert record.after["reconciled"]["counts"] == {"done": 1}

    third = _run(env, *rollback, "--wait-s", "0")
    assert third.returncode in (0, 1), third.stderr
    assert len(read_audit(engine, action="models.set_alias")) == 2
    assert len(_events(engine)) == 2

"""Issue 16.4: parallel alias moves and rollbacks audit each real change exactly once.

Eight `cvntrade models set-alias` processes race on one model: one audit row and one
`alias_events` row per real move, the others say "nothing to do". Parallel rollbacks move each
symbol once and report the others as unchanged. (Processes start at different speeds, so these
show the behaviour end to end; tests/integration/registry/test_alias_race.py provokes the race
deterministically, mixed targets included.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

PARALLEL = 8
ROLLBACKS = 3
pytestmark = pytest.mark.slow
BTC = model_name("BTCUSDC", DEFAULT_STRATEGY)
ETH = model_name("ETHUSDC", DEFAULT_STRATEGY)


def _registry(
    tmp_path: Path, mlflow_template: Path, names: tuple[str, ...]
) -> tuple[str, MlflowClient]:
    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for name in names:
        client.create_registered_model(name)
        for loss in ("binary", "binary", "focal"):
            client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", "3")
    return uri, client


def _in_parallel(env: dict[str, str], commands: list[list[str]]) -> list[tuple[int, str, str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "cvntrade.cli.main", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        results.append((process.returncode, out, err))
    return results


def _set_alias(version: int) -> list[str]:
    return [
        "models",
        "set-alias",
        "--name",
        BTC,
        "--alias",
        "champion",
        "--version",
        str(version),
        "--reason",
        "race",
        "--actor",
        f"op{version}",
    ]


def _events(engine: Engine) -> list[int | None]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(alias_events.c.version).order_by(alias_events.c.id)).scalars()
        )


def test_parallel_identical_moves_write_one_audit_row(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, mlflow_template: Path
) -> None:
    uri, client = _registry(tmp_path, mlflow_template, (BTC,))
    results = _in_parallel({**cli_env, "MLFLOW_TRACKING_URI": uri}, [_set_alias(2)] * PARALLEL)
    assert [code for code, _, _ in results] == [0] * PARALLEL, [err for _, _, err in results]
    moved = [out for _, out, _ in results if "3 → 2 (audited)" in out]
    unchanged = [out for _, out, _ in results if "nothing to do" in out]
    assert (len(moved), len(unchanged)) == (1, PARALLEL - 1)
    audit = read_audit(engine, action="models.set_alias")
    assert [(a.before, a.after["version"]) for a in audit] == [({"version": 3}, 2)]
    assert _events(engine) == [2]
    assert client.get_registered_model(BTC).aliases == {"champion": 2}


def test_parallel_rollbacks_move_each_symbol_once(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path, mlflow_template: Path
) -> None:
    uri, client = _registry(tmp_path, mlflow_template, (BTC, ETH))
    rollback = [
        "runbook",
        "rollback",
        "--symbols",
        "BTCUSDC,ETHUSDC",
        "--reason",
        "race",
        "--wait-s",
        "0",
    ]
    results = _in_parallel({**cli_env, "MLFLOW_TRACKING_URI": uri}, [rollback] * ROLLBACKS)
    # exit 1: no live engine switched within --wait-s 0 (there is none); everything else done
    assert {code for code, _, _ in results} <= {0, 1}, [err for _, _, err in results]
    audit = read_audit(engine, action="models.set_alias")
    assert sorted(a.target for a in audit) == [f"{BTC}@champion", f"{ETH}@champion"]
    assert sorted(_events(engine)) == [2, 2]
    outputs = "".join(out for _, out, _ in results)
    assert outputs.count("BTCUSDC: champion 3 (focal) → 2 (binary), audited") == 1
    # the others either planned after the move (already binary) or lost the race (unchanged)
    assert (
        outputs.count("BTCUSDC: champion already at 2 (binary): unchanged")
        + outputs.count("BTCUSDC: champion already binary (version 2), skipped")
    ) == ROLLBACKS - 1
    for name in (BTC, ETH):
        assert client.get_registered_model(name).aliases == {"champion": 2}

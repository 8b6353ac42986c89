"""`cvntrade sweep`, `gate check` and `promote` end to end: real data, database and MLflow store.

Commands run in-process through a Typer app that registers the gate commands as `cli.main`
does and maps `CvnError` to exit codes like `cvntrade.cli.main.run`; bad input also runs in a
real subprocess to prove the one-line error, exit code 2 and that nothing changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from cvntrade.cli import main
from cvntrade.db import create_db_engine
from cvntrade.db.tables import alias_events, audit_log, sweep_results
from cvntrade.errors import CvnError
from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.settings import get_settings

NAME = "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4"
SWEEP = (
    "sweep",
    "--symbols",
    "BTCUSDC",
    "--gammas",
    "1,2",
    "--alphas",
    "0.25",
    "--folds",
    "2",
    "--rounds",
    "10",
    "--workers",
    "1",
)
LENIENT = """\
version: 7
min_net_expectancy_uplift_pct: 0.0
min_winning_folds: 0
max_fold_shortfall_pct: 1000.0
min_f1_buy_uplift: -1.0
max_ece_hold: 1.0
min_trades_per_fold: 0
"""
STRICT = LENIENT.replace("version: 7", "version: 8").replace(
    "min_trades_per_fold: 0", "min_trades_per_fold: 1000000"
)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(
    sqlite_url: str, tmp_path: Path, mlflow_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """CVN_HOME with 60 days of synthetic BTCUSDC bars, a migrated database, an MLflow store."""
    home = tmp_path / "home"
    market = generate_market(["BTCUSDC"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01"))
    frame = validate_ohlcv(market.frames["BTCUSDC"], source="synthetic", interval="1h").frame
    ParquetStore(home / "data").write("BTCUSDC", "1h", frame, source="synthetic")
    shutil.copyfile(mlflow_template, tmp_path / "mlflow.db")
    values = {
        "CVN_HOME": str(home),
        "CVN_DATABASE_URL": sqlite_url,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CVN_ACTOR": "tester",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    (tmp_path / "lenient.yaml").write_text(LENIENT)
    (tmp_path / "strict.yaml").write_text(STRICT)
    yield {**{k: v for k, v in os.environ.items() if not k.startswith("CVN_")}, **values}
    get_settings.cache_clear()


def cli(*args: str) -> Outcome:
    result = CliRunner().invoke(main.app, list(args))
    if isinstance(result.exception, CvnError):
        return Outcome(result.exception.exit_code, result.stdout, f"error: {result.exception}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run(env: dict[str, str], *args: str) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def state(env: dict[str, str]) -> tuple[int, ...]:
    engine = create_db_engine(env["CVN_DATABASE_URL"])
    with engine.connect() as conn:
        counts = tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (sweep_results, audit_log, alias_events)
        )
    engine.dispose()
    return counts


def test_sweep_resume_gate_check_both_ways_then_refused_and_forced_promotion(
    env: dict[str, str], tmp_path: Path
) -> None:
    first = cli(*SWEEP)
    assert first.code == 0, first.stderr
    for text in ("BTCUSDC SL0.5_TP1_H4", "focal_g1_a0.25", "focal_g2_a0.25", "fold 2"):
        assert text in first.stdout
    assert "3 cells trained, 0 already stored" in first.stdout
    assert "(3/3)" in first.stderr, "progress on stderr"

    again = cli(*SWEEP, "--json")
    assert again.code == 0, again.stderr
    payload = json.loads(again.stdout)
    assert (payload["trained"], payload["skipped"]) == (0, 3)
    [symbol] = payload["symbols"]
    assert [c["cell"] for c in symbol["cells"]] == ["binary", "focal_g1_a0.25", "focal_g2_a0.25"]
    assert len(symbol["cells"][1]["folds"]) == 2

    lenient, strict = str(tmp_path / "lenient.yaml"), str(tmp_path / "strict.yaml")
    checks = [
        cli("gate", "check", "--symbol", "BTCUSDC", "--criteria", f)
        for f in (lenient, strict, lenient)
    ]
    assert [c.code for c in checks] == [0, 1, 0]
    assert "FTF gate PASSED" in checks[0].stdout and "FTF gate FAILED" in checks[1].stdout
    assert "criteria v8" in checks[1].stdout and "trades_per_fold" in checks[1].stdout
    as_json = cli("gate", "check", "--symbol", "BTCUSDC", "--criteria", strict, "--json")
    assert as_json.code == 1
    verdict = json.loads(as_json.stdout)
    assert verdict["passed"] is False and verdict["sweep_key"] == symbol["sweep_key"]

    before = state(env)
    refused = cli("promote", "--symbol", "BTCUSDC", "--loss", "focal", "--criteria", strict)
    assert refused.code == 1 and "--force --reason" in refused.stderr
    assert state(env) == before

    forced = cli(
        "promote",
        "--symbol",
        "BTCUSDC",
        "--loss",
        "focal",
        "--gamma",
        "2",
        "--alpha",
        "0.25",
        "--criteria",
        strict,
        "--force",
        "--reason",
        "drill",
        "--json",
    )
    assert forced.code == 0, forced.stderr
    result = json.loads(forced.stdout)
    assert (result["version"], result["gate"], result["forced"]) == (1, "forced", True)
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    assert client.get_registered_model(NAME).aliases == {"champion": 1}

    passed = cli("promote", "--symbol", "BTCUSDC", "--loss", "binary")
    assert passed.code == 0, passed.stderr
    assert f"{NAME}: champion 1 → 2 (binary, trained a new version; gate baseline" in passed.stdout


BAD_INPUT: list[tuple[tuple[str, ...], str]] = [
    (("sweep", "--symbols", "BTCUSDC", "--gammas", "-1"), "invalid --gammas value -1"),
    (("sweep", "--symbols", "BTCUSDC", "--workers", "2", "--scheduler", "tcp://h:1"), "exclude"),
    (("gate", "check", "--symbol", "BTCUSDC", "--criteria", "{bad}"), "field 'max_ece_hold'"),
    (("promote", "--symbol", "BTCUSDC", "--loss", "focal", "--force"), "--force needs"),
]


def test_bad_input_is_one_line_exit_two_and_changes_nothing_in_a_real_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert cli(*SWEEP).code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(LENIENT.replace("max_ece_hold: 1.0", "max_ece_hold: 2"))
    before = state(env)
    for args, message in BAD_INPUT:
        outcome = run(env, *(a.replace("{bad}", str(bad)) for a in args))
        assert outcome.code == 2, outcome.stderr
        [line] = outcome.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line, line
        if "--criteria" in args:
            assert str(bad) in line
        assert outcome.stdout == ""
    assert state(env) == before


def test_the_same_sweep_on_dask_reproduces_the_local_numbers(env: dict[str, str]) -> None:
    from distributed import LocalCluster

    local = cli(*SWEEP, "--json")
    assert local.code == 0, local.stderr
    engine = create_db_engine(env["CVN_DATABASE_URL"])
    with engine.begin() as conn:  # forget the stored cells so the Dask run computes them again
        conn.execute(sweep_results.delete())
    engine.dispose()
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        args = [a for a in SWEEP if a not in ("--workers", "1")]
        remote = cli(*args, "--scheduler", str(cluster.scheduler_address), "--json")
    assert remote.code == 0, remote.stderr
    first, second = json.loads(local.stdout), json.loads(remote.stdout)
    assert second["trained"] == 3 and second["runner"].startswith("dask: tcp://127.0.0.1:")
    strip = [
        [(c["cell"], c["overall"], c["folds"]) for c in s["cells"]]
        for s in (first["symbols"][0], second["symbols"][0])
    ]
    assert strip[0] == strip[1]
    assert first["symbols"][0]["sweep_key"] == second["symbols"][0]["sweep_key"]

"""The `launch__training` DAG in a real Airflow 3 install, run end to end on synthetic data.

Airflow is not a dependency of `cvntrade`: it lives in `.venv-airflow` (`make airflow-venv`,
Airflow + this repo installed editable). These tests run under the main venv's pytest and drive
that venv through subprocesses, the way an operator would: `airflow db migrate`, then
`airflow dags test` (plain `dag.test()` fails in Airflow 3.3 with "dag is not serialized").
Without `.venv-airflow` they skip, except under `CI=true`, where they fail.

Everything lives in a temporary directory: AIRFLOW_HOME (its SQLite metadata database holds the
XComs we read back), CVN_HOME with 90 days of synthetic BTCUSDC bars, the CVNTrade SQLite
database and the MLflow sqlite store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
AIRFLOW_VENV = Path(os.environ.get("CVN_AIRFLOW_VENV") or REPO / ".venv-airflow")  # make sets it
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"
DAGS_FOLDER = REPO / "infra" / "airflow" / "dags"
DAG_ID = "launch__training"
SYMBOL = "BTCUSDC"
STRATEGY = "SL0.5_TP1_H4"
MODEL = f"CVNTrade_XGBoost_{SYMBOL}_{STRATEGY}"
STEP_TIMEOUT_S = 1800  # a hang guard only: a busy 2-core machine must not fail the test

pytestmark = pytest.mark.slow

# Runs inside .venv-airflow: loads the DAG folder the way the scheduler does and reports it.
DAGBAG_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
out = {
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dags),
}
dag = bag.dags.get(sys.argv[2])
if dag is not None:
    out["params"] = {
        name: {"default": dag.params.get_param(name).value,
               "schema": dag.params.get_param(name).schema}
        for name in dag.params
    }
    out["doc_md"] = dag.doc_md
    out["schedule"] = repr(dag.schedule)
    out["is_paused_upon_creation"] = dag.is_paused_upon_creation
    out["tasks"] = {
        t.task_id: {
            "retries": t.retries,
            "retry_delay_s": t.retry_delay.total_seconds(),
            "backoff": t.retry_exponential_backoff,
        }
        for t in dag.tasks
    }
print("DAGBAG_JSON=" + json.dumps(out, default=str))
"""

MLFLOW_INIT = (
    "import sys; from mlflow import MlflowClient; MlflowClient(sys.argv[1]).search_experiments()"
)


@dataclass(frozen=True)
class AirflowSandbox:
    """A migrated Airflow home and a CVNTrade home with market data, plus their environment."""

    root: Path
    env: dict[str, str]

    @property
    def airflow_db(self) -> Path:
        return self.root / "airflow" / "airflow.db"

    @property
    def tracking_uri(self) -> str:
        return self.env["MLFLOW_TRACKING_URI"]


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _start(args: Sequence[str | Path], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(a) for a in args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], what: str) -> str:
    """Wait for a command started with `_start`; fail with its output's tail when it fails."""
    try:
        output, _ = proc.communicate(timeout=STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"{what} timed out after {STEP_TIMEOUT_S} s:\n{_tail(output)}")
    assert proc.returncode == 0, f"{what} exited {proc.returncode}:\n{_tail(output)}"
    return output


def _run(args: Sequence[str | Path], env: dict[str, str], what: str) -> str:
    """Run a command to completion; fail the test with its output's tail when it fails."""
    return _finish(_start(args, env), what)


def _cvntrade(*args: str, env: dict[str, str]) -> str:
    """The main venv's `cvntrade` CLI (the operator's side of the runbook)."""
    return _run([sys.executable, "-m", "cvntrade.cli.main", *args], env, f"cvntrade {args[0]}")


def _require_airflow_venv() -> None:
    if AIRFLOW.is_file() and os.access(AIRFLOW, os.X_OK):
        return
    reason = f"{AIRFLOW} not found: run `make airflow-venv` to create the Airflow venv"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the Airflow venv: {reason}")
    pytest.skip(reason)


def _environment(root: Path) -> dict[str, str]:
    """This process's environment with Airflow, CVNTrade and MLflow homes under `root`."""
    home, cvn_home = root / "airflow", root / "cvn"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CVN_", "AIRFLOW_", "AIRFLOW__", "MLFLOW_"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        CVN_HOME=str(cvn_home),
        CVN_DATABASE_URL=f"sqlite:///{cvn_home / 'cvntrade.db'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{cvn_home / 'mlflow.db'}",
        CVN_ACTOR="airflow-test",
        # this checkout first: a cached venv (CVN_AIRFLOW_VENV) may be bound to another clone
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p
        ),
    )
    return env


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AirflowSandbox:
    """Airflow metadata migrated; CVNTrade schema, market data and MLflow store in place."""
    _require_airflow_venv()
    root = tmp_path_factory.mktemp("airflow-dag")
    env = _environment(root)
    # Airflow's migration and MLflow's first-use migration of its store (~3-6 s; a store that
    # exists already in production) run while the main venv prepares CVNTrade's side.
    # `airflow dags test` serializes the DAG itself in 3.3: no `dags reserialize` needed.
    started = [
        _start([AIRFLOW, "db", "migrate"], env),
        _start([sys.executable, "-c", MLFLOW_INIT, env["MLFLOW_TRACKING_URI"]], env),
    ]
    try:
        _cvntrade("db", "upgrade", env=env)
        _cvntrade(
            "data",
            "synth",
            "--symbols",
            SYMBOL,
            "--start",
            "2026-01-01",
            "--end",
            "2026-04-01",
            "--interval",
            "1h",
            "--seed",
            "1",
            env=env,
        )
        _finish(started[0], "airflow db migrate")
        _finish(started[1], "MLflow store initialisation")
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # `dags test` would sleep through the 5-minute retry delays before reporting a failure.
    env["CVN_AIRFLOW_TRAIN_RETRIES"] = "0"
    return AirflowSandbox(root=root, env=env)


def _dags_test(sandbox: AirflowSandbox, conf: dict[str, Any]) -> dict[str, Any]:
    """`airflow dags test launch__training -c CONF`; the train task's XCom `return_value`."""
    _run(
        [AIRFLOW, "dags", "test", DAG_ID, "-c", json.dumps(conf)],
        sandbox.env,
        f"airflow dags test {DAG_ID} {conf}",
    )
    with sqlite3.connect(sandbox.airflow_db) as db:
        row = db.execute(
            "SELECT x.value FROM xcom AS x JOIN dag_run AS r ON r.id = x.dag_run_id "
            "WHERE x.dag_id = ? AND x.task_id = 'train' AND x.key = 'return_value' "
            "ORDER BY r.id DESC LIMIT 1",
            (DAG_ID,),
        ).fetchone()
    assert row is not None, "the train task pushed no return_value XCom"
    value = json.loads(row[0])
    assert isinstance(value, dict), value
    return value


def _versions(tracking_uri: str) -> dict[int, dict[str, str]]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    found = client.search_model_versions(f"name = '{MODEL}'", order_by=["version_number DESC"])
    return {int(v.version): dict(v.tags) for v in found}


def _champion(tracking_uri: str) -> int | None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    aliases = client.get_registered_model(MODEL).aliases  # not from search: mlflow#9783
    return int(aliases["champion"]) if "champion" in aliases else None


def test_dagbag_loads_the_dag_without_import_errors(tmp_path: Path) -> None:
    _require_airflow_venv()
    # The DAG's own settings (no retries override); parsing needs no metadata database.
    env = _environment(tmp_path)
    output = _run([AIRFLOW_PYTHON, "-c", DAGBAG_PROBE, DAGS_FOLDER, DAG_ID], env, "DagBag probe")
    line = next((x for x in output.splitlines() if x.startswith("DAGBAG_JSON=")), None)
    assert line is not None, f"DagBag probe printed no result:\n{_tail(output)}"
    bag = json.loads(line.removeprefix("DAGBAG_JSON="))

    assert bag["import_errors"] == {}
    assert bag["dag_ids"] == [DAG_ID]
    params = bag["params"]
    assert set(params) == {"symbol", "strategy", "recalibrate_only", "recalibrate_version"}
    assert params["symbol"]["default"] == SYMBOL
    assert params["strategy"]["default"] == STRATEGY
    assert params["recalibrate_only"]["default"] is False
    assert params["recalibrate_only"]["schema"]["type"] == "boolean"
    assert params["recalibrate_version"]["default"] is None
    assert params["recalibrate_version"]["schema"]["type"] == ["null", "integer"]
    assert bag["schedule"] == "None"  # triggered by operators and the runbook, never on a timer
    assert bag["is_paused_upon_creation"] is False  # a paused DAG would only queue triggers
    assert "recalibrate_only" in bag["doc_md"]
    assert "temperature_scaling" in bag["doc_md"]
    assert bag["tasks"] == {"train": {"retries": 2, "retry_delay_s": 300.0, "backoff": 2.0}}


def test_dag_trains_then_recalibrates_and_registers_versions(sandbox: AirflowSandbox) -> None:
    # A full training run: loss and calibration from ftf_config defaults (binary, none).
    trained = _dags_test(sandbox, {"symbol": SYMBOL, "strategy": STRATEGY})

    assert trained["model_name"] == MODEL
    assert trained["version"] == 1
    assert trained["loss_function"] == "binary"
    assert trained["recalibrate_only"] is False
    assert trained["became_champion"] is True  # a model's first version becomes champion
    assert 0.0 <= trained["metrics"]["auc"] <= 1.0
    assert trained["metrics"]["n_trades"] >= 0
    versions = _versions(sandbox.tracking_uri)
    assert sorted(versions) == [1]
    assert versions[1]["loss_function"] == "binary"
    assert versions[1]["calibration"] == "none"
    assert versions[1]["dataset_hash"] == trained["dataset_hash"]
    assert _champion(sandbox.tracking_uri) == 1

    # Runbook Path B: calibration flipped in ftf_config, then recalibrate_only=true.
    _cvntrade(
        "config",
        "set",
        "CVN_CALIBRATION=temperature_scaling",
        "--reason",
        "airflow DAG test: runbook Path B",
        env=sandbox.env,
    )
    recalibrated = _dags_test(
        sandbox, {"symbol": SYMBOL, "strategy": STRATEGY, "recalibrate_only": True}
    )

    assert recalibrated["model_name"] == MODEL
    assert recalibrated["version"] == 2
    assert recalibrated["recalibrate_only"] is True
    assert recalibrated["recalibrated_from"] == 1
    assert recalibrated["calibration"] == "temperature_scaling"
    assert recalibrated["loss_function"] == "binary"  # the champion's loss is kept
    assert recalibrated["temperature"] > 0
    assert "ece_hold_before" in recalibrated["metrics"]  # the old calibration, for comparison
    versions = _versions(sandbox.tracking_uri)
    assert sorted(versions) == [1, 2]
    assert versions[2]["loss_function"] == "binary"
    assert versions[2]["calibration"] == "temperature_scaling"
    assert float(versions[2]["temperature"]) == pytest.approx(recalibrated["temperature"])
    assert _champion(sandbox.tracking_uri) == 1  # promotion is the gate's decision, not ours


def test_runbook_remediate_path_b_via_airflow_recalibrates_the_focal_version(
    sandbox: AirflowSandbox,
) -> None:
    """`cvntrade runbook remediate --path B --via airflow`: one DAG run per symbol recalibrates
    the focal version (given as `recalibrate_version`, the champion may be binary), ECE_HOLD
    before/after is read from the run, and the champion moves only when it improved."""
    _cvntrade(
        "train",
        "--symbol",
        SYMBOL,
        "--strategy",
        STRATEGY,
        "--loss",
        "focal",
        "--rounds",
        "20",
        "--folds",
        "2",
        env=sandbox.env,
    )
    focal = max(
        v
        for v, tags in _versions(sandbox.tracking_uri).items()
        if tags.get("loss_function") == "focal" and "recalibrated_from" not in tags
    )
    champion_before = _champion(sandbox.tracking_uri)
    env = {**sandbox.env, "CVN_AIRFLOW_BIN": str(AIRFLOW)}
    output = _cvntrade(
        "runbook",
        "remediate",
        "--path",
        "B",
        "--via",
        "airflow",
        "--symbols",
        SYMBOL,
        "--reason",
        "calibration drift (airflow test)",
        "--json",
        env=env,
    )
    result = json.loads(output[output.index("{\n") :])  # progress lines (stderr) come first
    (outcome,) = result["outcomes"]
    assert outcome["from_version"] == focal
    new = outcome["candidate_version"]
    assert _versions(sandbox.tracking_uri)[new]["recalibrated_from"] == str(focal)
    assert _versions(sandbox.tracking_uri)[new]["calibration"] == "temperature_scaling"
    before, after = outcome["before"]["ece_hold"], outcome["after"]["ece_hold"]
    if after <= before - 0.005:
        assert outcome["action"] == "promoted" and _champion(sandbox.tracking_uri) == new
    else:
        assert outcome["action"] == "kept" and _champion(sandbox.tracking_uri) == champion_before

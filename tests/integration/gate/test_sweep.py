"""The FTF sweep end to end: real XGBoost, real MLflow store, SQLite and PostgreSQL, Dask."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_support import (
    CELLS,
    FOLDS,
    STRATEGY,
    SYMBOLS,
    CountingRunner,
    numbers,
    request,
    row_state,
)
from mlflow import MlflowClient
from sqlalchemy import Engine, select

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import sweep_results
from cvntrade.errors import DependencyError, UserInputError
from cvntrade.gate import DaskRunner, ProcessPoolRunner, load_sweep, run_sweep
from cvntrade.market import ParquetStore
from cvntrade.settings import Settings
from cvntrade.training.booster import BoosterParams
from cvntrade.training.tracking import experiment_name


def sweep_runs(tracking_uri: str, symbol: str) -> dict[str, list[dict[str, str]]]:
    """Tags of the sweep runs in the symbol's experiment, by role."""
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name(symbol, STRATEGY))
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    by_role: dict[str, list[dict[str, str]]] = {"parent": [], "cell": []}
    for run in runs:
        tags = {**run.data.tags, "status": run.info.status, "run_id": run.info.run_id}
        by_role[tags["sweep_role"]].append(tags)
    return by_role


def test_sweep_stores_every_fold_of_every_cell_and_a_rerun_trains_nothing(
    engine: Engine, tracking_uri: str, gate_store: ParquetStore, gate_settings: Settings
) -> None:
    options = {"tracking_uri": tracking_uri, "store": gate_store, "settings": gate_settings}
    first = CountingRunner()
    report = run_sweep(engine, request(), runner=first, **options)  # type: ignore[arg-type]
    assert (report.trained, report.skipped, len(first.jobs)) == (6, 0, 6)
    assert row_state(engine)[0] == len(SYMBOLS) * len(CELLS) * (FOLDS + 1)
    for swept in report.symbols:
        results = swept.results
        assert [c.cell.name for c in results.cells] == list(CELLS)
        assert all(len(c.folds) == FOLDS for c in results.cells)
        assert [f["fold"] for f in results.cells[0].folds] == [1.0, 2.0]
        assert {"net_expectancy_pct", "f1_buy", "ece_hold", "n_trades"} <= set(
            results.cells[1].folds[0]
        )
        baseline, focal = results.cells[0], results.cells[1]
        for a, b in zip(baseline.folds, focal.folds, strict=True):  # the same purged folds
            assert (a["train_rows"], a["test_rows"]) == (b["train_rows"], b["test_rows"])
        runs = sweep_runs(tracking_uri, swept.config.symbol)
        [parent] = runs["parent"]
        assert parent["status"] == "FINISHED" and parent["run_id"] == swept.mlflow_run_id
        assert sorted(r["sweep_cell"] for r in runs["cell"]) == sorted(CELLS)
        assert {r["mlflow.parentRunId"] for r in runs["cell"]} == {parent["run_id"]}
        assert {c.mlflow_run_id for c in results.cells} == {r["run_id"] for r in runs["cell"]}

    before = row_state(engine)
    again = CountingRunner()
    resumed = run_sweep(engine, request(), runner=again, **options)  # type: ignore[arg-type]
    assert (resumed.trained, resumed.skipped, len(again.jobs)) == (0, 6, 0)
    assert row_state(engine) == before, "no row written"
    for old, new in zip(report.symbols, resumed.symbols, strict=True):
        assert new.sweep_key == old.sweep_key and new.mlflow_run_id == old.mlflow_run_id
        assert numbers(new.results) == numbers(old.results)
        assert len(sweep_runs(tracking_uri, new.config.symbol)["cell"]) == len(CELLS)


def test_an_interrupted_sweep_resumes_with_exactly_the_missing_cells(
    sqlite_url: str, tracking_uri: str, gate_store: ParquetStore, gate_settings: Settings
) -> None:
    engine = create_db_engine(sqlite_url)
    options = {"tracking_uri": tracking_uri, "store": gate_store, "settings": gate_settings}
    broken = CountingRunner(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(engine, request(), runner=broken, **options)  # type: ignore[arg-type]
    assert row_state(engine)[0] == 2 * (FOLDS + 1), "the two finished cells are stored"
    assert sweep_runs(tracking_uri, "BTCUSDC")["parent"][0]["status"] == "FAILED"
    finish = CountingRunner()
    report = run_sweep(engine, request(), runner=finish, **options)  # type: ignore[arg-type]
    done_first = {(j.symbol, j.cell.name) for j in broken.jobs}
    done_now = {(j.symbol, j.cell.name) for j in finish.jobs}
    assert len(done_now) == 4 and not done_first & done_now
    assert (report.trained, report.skipped) == (4, 2)
    assert all(len(s.results.cells) == len(CELLS) for s in report.symbols)
    assert sweep_runs(tracking_uri, "BTCUSDC")["parent"][0]["status"] == "FINISHED"
    engine.dispose()


@pytest.fixture
def dask_scheduler() -> Iterator[str]:
    """A real Dask scheduler with one in-process worker (2 threads), on loopback TCP."""
    from distributed import LocalCluster

    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_local_pool_and_dask_give_identical_results_on_the_same_seed(
    sqlite_url: str,
    new_tracking_uri: Callable[[str], str],
    gate_store: ParquetStore,
    gate_settings: Settings,
    dask_scheduler: str,
    tmp_path: Path,
) -> None:
    dask_db = f"sqlite:///{tmp_path / 'dask.db'}"
    upgrade(create_db_engine(dask_db))
    results = {}
    for name, url, runner in (
        ("local", sqlite_url, ProcessPoolRunner(2)),
        ("dask", dask_db, DaskRunner(dask_scheduler)),
    ):
        engine = create_db_engine(url)
        report = run_sweep(
            engine,
            request(),
            runner=runner,
            tracking_uri=new_tracking_uri(name),
            store=gate_store,
            settings=gate_settings,
        )
        assert report.trained == len(SYMBOLS) * len(CELLS), name
        assert report.runner.startswith(name)
        results[name] = {s.sweep_key: numbers(s.results) for s in report.symbols}
        engine.dispose()
    assert results["local"] == results["dask"]
    engine = create_db_engine(sqlite_url)
    other = run_sweep(
        engine,
        request(params=BoosterParams(rounds=10, nthread=1, seed=1)),
        runner=CountingRunner(),
        tracking_uri=new_tracking_uri("other-seed"),
        store=gate_store,
        settings=gate_settings,
    )
    assert {s.sweep_key for s in other.symbols}.isdisjoint(results["local"]), "a new sweep"
    assert other.trained == len(SYMBOLS) * len(CELLS)
    engine.dispose()


def test_an_unreachable_registry_stops_the_sweep_before_any_training(
    sqlite_url: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    engine = create_db_engine(sqlite_url)
    runner = CountingRunner()
    with pytest.raises(DependencyError, match="registry"):
        run_sweep(
            engine,
            request(),
            runner=runner,
            tracking_uri="http://127.0.0.1:9",
            store=gate_store,
            settings=gate_settings,
        )
    assert runner.jobs == [] and row_state(engine) == (0, None)
    engine.dispose()


def test_an_unreachable_dask_scheduler_is_a_dependency_error(
    sqlite_url: str, tracking_uri: str, gate_store: ParquetStore, gate_settings: Settings
) -> None:
    engine = create_db_engine(sqlite_url)
    with pytest.raises(DependencyError, match=r"Dask scheduler tcp://127\.0\.0\.1:9 unreachable"):
        run_sweep(
            engine,
            request(),
            runner=DaskRunner("tcp://127.0.0.1:9", connect_timeout_s=1.0),
            tracking_uri=tracking_uri,
            store=gate_store,
            settings=gate_settings,
        )
    assert row_state(engine) == (0, None)
    engine.dispose()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "2024-02-27"}, "too few for 2 folds|training rows remain"),
        ({"symbols": ("SOLUSDC",)}, "no 1h market data for SOLUSDC"),
        ({"calibration": "platt"}, "unknown calibration 'platt'"),
        ({"gammas": (-1.0,)}, "must be >= 0"),
        ({"folds": 0}, "--folds must be between 1 and 20"),
    ],
)
def test_bad_sweep_options_are_refused_before_anything_is_written(
    sqlite_url: str,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
    changes: dict[str, Any],
    message: str,
) -> None:
    engine = create_db_engine(sqlite_url)
    runner = CountingRunner()
    with pytest.raises(UserInputError, match=message):
        run_sweep(
            engine,
            request(**changes),
            runner=runner,
            tracking_uri=tracking_uri,
            store=gate_store,
            settings=gate_settings,
        )
    assert runner.jobs == []
    with engine.connect() as conn:
        assert conn.execute(select(sweep_results.c.id)).first() is None
    client = MlflowClient(tracking_uri=tracking_uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    engine.dispose()


def test_results_of_a_sweep_are_read_back_by_symbol_and_latest_key(
    sqlite_url: str, tracking_uri: str, gate_store: ParquetStore, gate_settings: Settings
) -> None:
    engine = create_db_engine(sqlite_url)
    options = {"tracking_uri": tracking_uri, "store": gate_store, "settings": gate_settings}
    first = run_sweep(engine, request(("BTCUSDC",)), runner=CountingRunner(), **options)  # type: ignore[arg-type]
    second = run_sweep(
        engine,
        request(("BTCUSDC",), alphas=(0.5,)),
        runner=CountingRunner(),
        **options,  # type: ignore[arg-type]
    )
    latest = load_sweep(engine, "BTCUSDC", STRATEGY)
    assert latest.sweep_key == second.symbols[0].sweep_key != first.symbols[0].sweep_key
    assert [c.cell.name for c in latest.cells] == ["binary", "focal_g1_a0.5", "focal_g2_a0.5"]
    pinned = load_sweep(engine, "BTCUSDC", STRATEGY, first.symbols[0].sweep_key)
    assert [c.cell.name for c in pinned.cells] == list(CELLS)
    engine.dispose()

"""Production mode: `cvntrade sweep --scheduler tcp://…` on a real Dask cluster of processes.

A `dask scheduler` and two `dask worker` processes (one thread each) run as an operator starts
them (docs/deployment.md). The same sweep runs once on the local process pool and once on the
cluster, each into its own database and MLflow store: the `sweep_results` rows (key, cells,
folds, every metric) must be identical, and the cluster's workers must have run the cells.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from production_support import (
    READY_BOUND_S,
    Server,
    child_env,
    free_port,
    require_binary,
    wait_until_http_ok,
)
from sqlalchemy import select

from cvntrade.db import create_db_engine
from cvntrade.db.tables import sweep_results

pytestmark = pytest.mark.slow

SWEEP = ("sweep", "--symbols", "BTCUSDC", "--gammas", "1,2", "--alphas", "0.25",
         "--folds", "2", "--rounds", "10", "--json")  # fmt: skip
CELLS = 3  # binary + two focal cells


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A `dask scheduler` and two single-thread `dask worker` processes on loopback."""
    from distributed import Client

    dask = str(require_binary("dask"))
    port, dashboard = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = child_env()
    scheduler = Server(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            f"127.0.0.1:{dashboard}",
        ],
        tmp_path / "scheduler.log",
        env,
    ).start()
    workers = [
        Server(
            [
                dask,
                "worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--memory-limit",
                "0",
                "--local-directory",
                str(tmp_path / f"worker{i}"),
            ],
            tmp_path / f"worker{i}.log",
            env,
        )
        for i in (1, 2)
    ]
    try:
        wait_until_http_ok(scheduler, f"http://127.0.0.1:{dashboard}/health")
        for worker in workers:
            worker.start()
        with Client(address, timeout=READY_BOUND_S, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(2, timeout=READY_BOUND_S)
        yield address
    finally:
        for server in (*workers, scheduler):
            server.stop()


def sweep_rows(db_url: str) -> list[tuple[Any, ...]]:
    """Every sweep_results row without ids, run ids and times, in a stable order."""
    engine = create_db_engine(db_url)
    c = sweep_results.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                c.sweep_key,
                c.crypto_symbol,
                c.strategy,
                c.cell,
                c.loss_function,
                c.gamma,
                c.alpha,
                c.fold,
                c.metrics,
            )
        ).all()
    engine.dispose()
    return sorted((*row[:-1], json.dumps(row[-1], sort_keys=True)) for row in rows)


def cells_seen_by_workers(address: str) -> dict[str, set[str]]:
    """Worker address → the sweep cell keys in its transition log (a stolen task is in two)."""
    from distributed import Client

    def seen(dask_worker: Any) -> list[str]:
        return sorted({str(entry[0]) for entry in dask_worker.state.log
                       if str(entry[0]).startswith("cvntrade-sweep-")})  # fmt: skip

    with Client(address, timeout=READY_BOUND_S, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        return {w: set(keys) for w, keys in client.run(seen).items()}


def test_sweep_on_a_dask_cluster_matches_the_local_pool(
    dask_cluster: str, tmp_path: Path, mlflow_template: Path
) -> None:
    from cvntrade.db import upgrade

    home = tmp_path / "home"
    reports = {}
    for name, runner in (("local", ("--workers", "2")), ("dask", ("--scheduler", dask_cluster))):
        db_url = f"sqlite:///{tmp_path / f'{name}.db'}"
        upgrade(create_db_engine(db_url))
        shutil.copy(mlflow_template, tmp_path / f"{name}-mlflow.db")
        env = child_env(
            CVN_HOME=str(home),
            CVN_DATABASE_URL=db_url,
            MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / f'{name}-mlflow.db'}",
        )
        if name == "local":
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cvntrade.cli.main",
                    "data",
                    "synth",
                    "--symbols",
                    "BTCUSDC",
                    "--start",
                    "2025-09-01",
                    "--end",
                    "2025-12-01",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
        done = subprocess.run(
            [sys.executable, "-m", "cvntrade.cli.main", *SWEEP, *runner],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        reports[name] = (json.loads(done.stdout), sweep_rows(db_url))

    local, dask = reports["local"], reports["dask"]
    assert len(local[1]) == CELLS * (2 + 1), "two folds and the overall row per cell"
    assert dask[1] == local[1], "same keys, cells, folds and metrics on the cluster"
    assert dask[0]["runner"] == f"dask: {dask_cluster}"
    assert local[0]["runner"].startswith("local")
    seen = cells_seen_by_workers(dask_cluster)
    assert len(seen) == 2 and len(set().union(*seen.values())) == CELLS, seen

"""numba's threading layer is chosen by the package (no spinning against XGBoost's OpenMP)."""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = """
import numpy as np, xgboost
from numba.np.ufunc.parallel import threading_layer
from cvntrade.training.xgboost.focal_loss import focal_objective
label = np.array([0.0, 1.0] * 50)
matrix = xgboost.DMatrix(np.zeros((100, 1)), label=label)
focal_objective(2.0, 0.25)(np.zeros(100), matrix)
print(threading_layer())
"""


def _layer_in_fresh_process(**env: str) -> str:
    """The numba threading layer a fresh interpreter uses after one focal objective call."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "OMP_"))}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_focal_objective_runs_on_the_non_spinning_workqueue_layer_without_any_env() -> None:
    assert _layer_in_fresh_process() == "workqueue"


def test_a_layer_chosen_by_the_user_is_respected() -> None:
    assert _layer_in_fresh_process(NUMBA_THREADING_LAYER="omp") == "omp"


_CONCURRENT = """
from concurrent.futures import ThreadPoolExecutor
import numpy as np, xgboost
from cvntrade.features import triple_barrier
from cvntrade.training.xgboost.focal_loss import focal_objective
n = 50_000
label = (np.arange(n) % 3 == 0).astype(float)
matrix = xgboost.DMatrix(np.zeros((n, 1)), label=label)
margin = np.linspace(-5.0, 5.0, n)
bars = np.linspace(100.0, 120.0, 300_000)
def work(k):
    if k % 2:
        triple_barrier(bars, bars * 1.01, bars * 0.99, bars, 0.5, 1.0, 4, parallel=True)
    for _ in range(10):
        focal_objective(2.0, 0.25)(margin, matrix)
    return k
with ThreadPoolExecutor(4) as pool:
    print(sum(pool.map(work, range(8))))
"""


def test_parallel_kernels_launched_from_several_threads_do_not_abort_the_process() -> None:
    """A Dask runner calls the objective from several threads; workqueue must not abort."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "OMP_"))}
    result = subprocess.run(
        [sys.executable, "-c", _CONCURRENT], env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(sum(range(8)))

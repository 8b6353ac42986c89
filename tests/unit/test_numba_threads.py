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

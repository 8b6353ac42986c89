"""Benchmark the focal-loss XGBoost objective; prints one JSON line.

Two measurements, on synthetic data (no network, no files):

1. The objective alone: median time per call of `focal_objective` (fused numba kernel) and of a
   plain NumPy float64 implementation of the same objective (`focal_grad_hess`, floor, float32
   cast) on ``--objective-rows`` margins.
2. Training: ``xgboost.train`` with ``tree_method=hist`` on ``--rows`` x ``--features`` for
   ``--rounds`` rounds and ``--threads`` threads, built-in ``binary:logistic`` vs the focal
   objective on the same DMatrix and parameters, in ``--pairs`` (>= 5) interleaved pairs whose
   order alternates (binary first, then focal first) so a drift of the machine's speed during
   the run cancels out. Each pair gives a ratio focal / binary of wall time and one of process
   CPU time (user + system of this process, all threads; less sensitive to other jobs on a
   busy machine). The headline figures are the **medians of the per-pair ratios** (target
   <= 1.10 on wall time), never one pair and never a ratio of medians.

The package itself picks numba's threading layer (`cvntrade.numba_threads`); run with
``NUMBA_THREADING_LAYER=omp`` to measure the old default. No ``OMP_*`` variable is needed.

Usage: ``.venv/bin/python benchmarks/bench_focal.py [--rows 200000 --rounds 100 ...]``.
Wall times depend on other load on the machine: the JSON records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import xgboost
from numba.np.ufunc.parallel import threading_layer
from numpy.typing import NDArray

from cvntrade.training.xgboost.focal_loss import FocalObjective, focal_grad_hess, focal_objective

Gradients = tuple[NDArray[np.float32], NDArray[np.float32]]


def numpy_objective(gamma: float, alpha: float, hess_floor: float = 1e-6) -> FocalObjective:
    """The same objective as `focal_objective`, in plain float64 NumPy (the baseline)."""

    def objective(preds: NDArray[Any], dtrain: xgboost.DMatrix) -> Gradients:
        """Reference gradient and floored hessian, cast to float32 like the fast path."""
        grad, hess = focal_grad_hess(preds, dtrain.get_label(), gamma, alpha)
        return grad.astype(np.float32), np.maximum(hess, hess_floor).astype(np.float32)

    return objective


def synthetic_problem(
    rows: int, features: int, seed: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Features and imbalanced (~25 % positive) noisy linear labels, float32 like real data."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    coefficients = rng.normal(0.0, 1.0 / np.sqrt(features), features).astype(np.float32)
    score = x @ coefficients + rng.standard_normal(rows, dtype=np.float32)
    label = (score > np.quantile(score, 0.75)).astype(np.float32)
    return x, label


def median_call_seconds(
    objective: FocalObjective, margin: NDArray[np.float32], dtrain: xgboost.DMatrix, calls: int
) -> float:
    """Median wall time of one objective call, after one untimed warm-up call."""
    objective(margin, dtrain)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        objective(margin, dtrain)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class TimedObjective:
    """Wraps an objective to add up the wall time XGBoost spends inside it."""

    def __init__(self, objective: FocalObjective) -> None:
        self.objective = objective
        self.seconds = 0.0

    def __call__(self, preds: NDArray[Any], dtrain: xgboost.DMatrix) -> Gradients:
        """Delegate to the wrapped objective, timing the call."""
        start = time.perf_counter()
        result = self.objective(preds, dtrain)
        self.seconds += time.perf_counter() - start
        return result


def train_seconds(
    params: dict[str, Any],
    dtrain: xgboost.DMatrix,
    rounds: int,
    objective: Callable[[NDArray[Any], xgboost.DMatrix], Gradients] | None,
) -> tuple[float, float]:
    """Wall and process CPU seconds of one ``xgboost.train`` run (no evaluation sets)."""
    wall, cpu = time.perf_counter(), time.process_time()
    xgboost.train(params, dtrain, num_boost_round=rounds, obj=objective)
    return time.perf_counter() - wall, time.process_time() - cpu


def ratio_summary(ratios: list[float]) -> dict[str, Any]:
    """Median (the headline), min, max and every per-pair ratio, rounded."""
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
        "per_pair": [round(r, 3) for r in ratios],
    }


def main() -> None:
    """Run both measurements and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--objective-rows", type=int, default=1_000_000)
    parser.add_argument("--objective-calls", type=int, default=15)
    parser.add_argument("--gamma", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.25)
    args = parser.parse_args()
    if args.pairs < 5:
        parser.error("--pairs must be at least 5 (the headline is a median of pairs)")
    load_at_start = os.getloadavg()[0]
    numba.set_num_threads(min(args.threads, numba.get_num_threads()))

    x, label = synthetic_problem(args.objective_rows, 1, seed=1)
    dlabels = xgboost.DMatrix(x, label=label)
    margin = np.random.default_rng(2).normal(0.0, 3.0, args.objective_rows).astype(np.float32)
    fast = median_call_seconds(
        focal_objective(args.gamma, args.alpha), margin, dlabels, args.objective_calls
    )
    slow = median_call_seconds(
        numpy_objective(args.gamma, args.alpha), margin, dlabels, max(3, args.objective_calls // 3)
    )
    del x, label, dlabels, margin

    x, label = synthetic_problem(args.rows, args.features, seed=3)
    dtrain = xgboost.DMatrix(x, label=label, nthread=args.threads)
    common = {"tree_method": "hist", "nthread": args.threads, "max_depth": 6, "eta": 0.1}
    binary_params = {**common, "objective": "binary:logistic"}
    focal_params = {**common, "base_score": 0.0}
    binary_wall, focal_wall, binary_cpu, focal_cpu, objective_times = [], [], [], [], []
    train_seconds(binary_params, dtrain, 2, None)  # warm-up: allocations, thread pools
    train_seconds(focal_params, dtrain, 2, focal_objective(args.gamma, args.alpha))
    for pair in range(args.pairs):
        timed = TimedObjective(focal_objective(args.gamma, args.alpha))
        if pair % 2 == 0:
            binary = train_seconds(binary_params, dtrain, args.rounds, None)
            focal = train_seconds(focal_params, dtrain, args.rounds, timed)
        else:
            focal = train_seconds(focal_params, dtrain, args.rounds, timed)
            binary = train_seconds(binary_params, dtrain, args.rounds, None)
        binary_wall.append(binary[0])
        binary_cpu.append(binary[1])
        focal_wall.append(focal[0])
        focal_cpu.append(focal[1])
        objective_times.append(timed.seconds)
    wall_ratio = ratio_summary([f / b for f, b in zip(focal_wall, binary_wall, strict=True)])
    cpu_ratio = ratio_summary([f / b for f, b in zip(focal_cpu, binary_cpu, strict=True)])

    print(
        json.dumps(
            {
                "objective_rows": args.objective_rows,
                "gamma": args.gamma,
                "alpha": args.alpha,
                "numba_ms_per_call": round(fast * 1e3, 2),
                "numpy_ms_per_call": round(slow * 1e3, 2),
                "numpy_over_numba": round(slow / fast, 2),
                "train_rows": args.rows,
                "train_features": args.features,
                "rounds": args.rounds,
                "threads": args.threads,
                "pairs": args.pairs,
                "focal_over_binary_wall": wall_ratio["median"],
                "focal_over_binary_cpu": cpu_ratio["median"],
                "target_focal_over_binary_wall": 1.10,
                "wall_ratio": wall_ratio,
                "cpu_ratio": cpu_ratio,
                "binary_wall_s_median": round(statistics.median(binary_wall), 3),
                "focal_wall_s_median": round(statistics.median(focal_wall), 3),
                "binary_cpu_s_median": round(statistics.median(binary_cpu), 3),
                "focal_cpu_s_median": round(statistics.median(focal_cpu), 3),
                "objective_s_per_focal_run": round(statistics.median(objective_times), 3),
                "objective_ms_per_call_in_training": round(
                    statistics.median(objective_times) / args.rounds * 1e3, 2
                ),
                "load_average_1m_start_end": [
                    round(load_at_start, 2),
                    round(os.getloadavg()[0], 2),
                ],
                "numba_threading_layer": threading_layer(),  # type: ignore[no-untyped-call]
                "env": {
                    k: os.environ.get(k)
                    for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER")
                },
                "cpu_count": os.cpu_count(),
                "xgboost": xgboost.__version__,
                "numba": numba.__version__,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()

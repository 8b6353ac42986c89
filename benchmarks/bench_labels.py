"""Benchmark: numba triple-barrier labels vs the pure-Python reference, and feature building.

Prints one JSON line. Labels: 1 M synthetic 1h bars, SL0.5/TP1 with a 4-bar (H4) and a 48-bar
horizon; numba (default: threaded for long series; and forced single-thread, `_serial`) timed as
the best of 5 runs after warm-up calls (compile or cache load reported as `numba_first_call_s`);
the pure-Python reference from tests/unit/features is timed (best of 2) on the first
`REFERENCE_BARS` bars and scaled linearly to 1 M (its cost per bar does not depend on n), and
its labels are checked equal to numba's on that subset. Features: the default set for 5 symbols
x 2 years of 1h bars, best of 3 after a warm-up.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cvntrade.features import compute_features, triple_barrier
from cvntrade.market import generate_market

ROOT = Path(__file__).resolve().parents[1]
BARS = 1_000_000
REFERENCE_BARS = 50_000
SYMBOLS = ["BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC"]


def _reference():  # type: ignore[no-untyped-def]
    path = ROOT / "tests" / "unit" / "features" / "triple_barrier_reference.py"
    spec = importlib.util.spec_from_file_location("triple_barrier_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module.reference_triple_barrier


def _best_of(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    """Run both benchmarks and print the figures as one JSON line."""
    start = pd.Timestamp("2000-01-01")
    end = start + pd.Timedelta(hours=BARS)
    bars = generate_market(["BTCUSDC"], start, end, seed=1).frames["BTCUSDC"]
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    began = time.perf_counter()
    triple_barrier(o[:100], h[:100], lo[:100], c[:100], 0.5, 1.0, 4, parallel=False)
    triple_barrier(o[:100], h[:100], lo[:100], c[:100], 0.5, 1.0, 4, parallel=True)
    first_call = time.perf_counter() - began
    reference = _reference()
    sub = slice(0, REFERENCE_BARS)
    sub_lists = [a[sub].tolist() for a in (o, h, lo, c)]
    figures: dict[str, object] = {
        "benchmark": "bench_labels",
        "machine": f"{platform.machine()} {platform.python_version()}",
        "bars": BARS,
        "numba_first_call_s": round(first_call, 3),
        "reference_timed_on_bars": REFERENCE_BARS,
        "reference_scaled_linearly_to_bars": BARS,
    }
    for name, horizon in (("h4", 4), ("h48", 48)):
        serial_s = _best_of(
            5,
            lambda horizon=horizon: triple_barrier(o, h, lo, c, 0.5, 1.0, horizon, parallel=False),
        )
        numba_s = _best_of(
            5, lambda horizon=horizon: triple_barrier(o, h, lo, c, 0.5, 1.0, horizon)
        )
        reference_s = _best_of(2, lambda horizon=horizon: reference(*sub_lists, 0.5, 1.0, horizon))
        reference_s *= BARS / REFERENCE_BARS
        expected = reference(*sub_lists, 0.5, 1.0, horizon)
        got = triple_barrier(o[sub], h[sub], lo[sub], c[sub], 0.5, 1.0, horizon)
        agree = [e.label for e in expected] == got.label.tolist() and [
            e.exit_index for e in expected
        ] == got.exit_index.tolist()
        figures |= {
            f"labels_{name}_numba_s": round(numba_s, 4),
            f"labels_{name}_numba_serial_s": round(serial_s, 4),
            f"labels_{name}_reference_s": round(reference_s, 2),
            f"labels_{name}_speedup": round(reference_s / numba_s, 1),
            f"labels_{name}_speedup_serial": round(reference_s / serial_s, 1),
            f"labels_{name}_agree_on_subset": agree,
            f"labels_{name}_target_met": numba_s < 0.3 and reference_s / numba_s >= 200,
        }
    market = generate_market(
        SYMBOLS, pd.Timestamp("2024-01-01"), pd.Timestamp("2026-01-01"), seed=1
    )
    frames = list(market.frames.values())
    compute_features(frames[0].iloc[:200])
    features_s = _best_of(3, lambda: [compute_features(f) for f in frames])
    figures |= {
        "features_symbols": len(frames),
        "features_bars_per_symbol": len(frames[0]),
        "features_s": round(features_s, 4),
        "features_target_met": features_s < 2.0,
        "feature_count": int(compute_features(frames[0].iloc[:200]).shape[1]),
        "numpy": np.__version__,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

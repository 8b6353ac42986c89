"""`runbook diagnose` on scenario worlds with a known cause: the true cause is ranked first and
judged likely; in `healthy` no cause is likely. Prints the confusion matrix (true cause x top
cause). Each world is built once (15-60 s) through `build_world`, like `drill scenario`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from cvntrade.db import create_db_engine
from cvntrade.drill.scenario import build_world, plan_world, world_settings
from cvntrade.runbook.diagnose import CAUSES, Diagnosis
from cvntrade.runbook.diagnose_gather import run_diagnosis

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 30, 12)
CASES = [
    ("distribution-drift", 1),
    ("calibration-drift", 1),
    ("concept-drift", 1),
    ("implementation-regression", 1),
    ("healthy", 1),
    ("concept-drift", 2),
    ("distribution-drift", 2),
]
MATRIX: Counter[tuple[str, str]] = Counter()


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Diagnosis]:
    """Build every world of CASES once and diagnose it as of its `now`."""
    out = {}
    for cause, seed in CASES:
        home = tmp_path_factory.mktemp(f"diag-{cause}-{seed}")
        build_world(plan_world(cause, seed=seed, now=NOW), home)
        settings = world_settings(home)
        engine = create_db_engine(settings.effective_database_url)
        try:
            out[cause, seed] = run_diagnosis(engine, settings, now=NOW)
        finally:
            engine.dispose()
        top = out[cause, seed]
        MATRIX[cause, top.likely[0] if top.likely else "none"] += 1
    rows = [*CAUSES, "healthy"]
    print("\nconfusion matrix (rows: true cause, columns: top likely cause)")
    print(" " * 26 + " ".join(f"{c[:12]:>12}" for c in [*CAUSES, "none"]))
    for r in rows:
        cells = [MATRIX[r, c] for c in [*CAUSES, "none"]]
        print(f"{r:>26}" + " ".join(f"{n:>12}" for n in cells))
    return out


@pytest.mark.parametrize(("cause", "seed"), CASES)
def test_true_cause_ranks_first(
    diagnosed: dict[tuple[str, int], Diagnosis], cause: str, seed: int
) -> None:
    result = diagnosed[cause, seed]
    if cause == "healthy":
        assert result.likely == ()
        assert result.path == "A"
    else:
        assert result.ranking[0] == cause
        assert result.likely[0] == cause
        assert result.scope == "market-wide"
        assert result.path == {"calibration-drift": "B", "concept-drift": "C"}.get(cause, "A")

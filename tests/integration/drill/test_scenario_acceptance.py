"""Acceptance of the scenario drills (issue 12): for every cause and seeds 1-5, the world built
by `drill scenario` (its function, `build_world(plan_world(...))`) confirms the incident at step 1
and fires the alert - except `healthy`, which does neither - and `runbook diagnose` ranks the true
cause first and judges it likely (`healthy`: no cause likely), with the runbook's path.

One case per world, so xdist spreads the 25 worlds over its workers. Each case records its cell
of the confusion matrix (true cause x likely cause ranked first) as the property
`confusion_cell`; `tests/conftest.py` gathers the cells of the whole run and prints the matrix in
the terminal summary (the JUnit report keeps each cell).
"""

from __future__ import annotations

import json

import pytest
from scenario_world_support import WorldFactory

from cvntrade.clock import fixed_clock
from cvntrade.db import create_db_engine
from cvntrade.drill.scenario import CAUSES as WORLD_CAUSES
from cvntrade.drill.scenario import world_settings
from cvntrade.monitoring.alerts import evaluate, read_focal_active
from cvntrade.runbook.diagnose import Diagnosis
from cvntrade.runbook.diagnose_gather import run_diagnosis
from cvntrade.runbook.steps import confirm, negative_focal_symbols

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3, 4, 5)
PATHS = {"calibration-drift": "B", "concept-drift": "C"}
NONE = "none likely"


def check(cause: str, step1: str, firing: bool, result: Diagnosis) -> list[str]:
    """What is wrong with one world's step 1, alert and diagnosis (empty when all is right)."""
    misses = []
    if cause == "healthy":
        if step1 != "transient" or firing:
            misses.append(f"step 1 {step1}, alert firing {firing} (expected transient, silent)")
        if result.likely:
            misses.append(f"likely {result.likely} (expected none)")
        if result.path != "A":
            misses.append(f"path {result.path} (expected A)")
        return misses
    if step1 != "real" or not firing:
        misses.append(f"step 1 {step1}, alert firing {firing} (expected real, firing)")
    if result.ranking[0] != cause or result.likely[:1] != (cause,):
        scores = {c.cause: c.score for c in result.causes}
        misses.append(f"ranking {result.ranking}, likely {result.likely}, scores {scores}")
    elif result.path != PATHS.get(cause, "A") or result.scope != "market-wide":
        misses.append(f"path {result.path}, scope {result.scope}")
    return misses


@pytest.mark.parametrize(
    ("cause", "seed"),
    [(cause, seed) for seed in SEEDS for cause in WORLD_CAUSES],
    ids=[f"{cause}-seed{seed}" for seed in SEEDS for cause in WORLD_CAUSES],
)
def test_the_world_is_confirmed_and_its_cause_diagnosed(
    world: WorldFactory, record_property: pytest.RecordProperty, cause: str, seed: int
) -> None:
    built = world(cause, seed)
    settings = world_settings(built.home)
    engine = create_db_engine(settings.effective_database_url)
    try:
        clock = fixed_clock(built.now)
        rows, _ = negative_focal_symbols(engine, clock=clock)
        alert = evaluate(
            {r.crypto_symbol: r.expectancy_pct for r in rows},
            read_focal_active(engine, now=built.now),
        )
        step1 = confirm(engine, actor="acceptance-test", clock=clock).verdict
        result = run_diagnosis(engine, settings, now=built.now)
    finally:
        engine.dispose()
    likely = result.likely[0] if result.likely else NONE
    record_property("confusion_cell", json.dumps({"cause": cause, "seed": seed, "likely": likely}))
    misses = check(cause, step1, alert.firing, result)
    assert not misses, f"{cause} seed {seed}: " + "; ".join(misses)

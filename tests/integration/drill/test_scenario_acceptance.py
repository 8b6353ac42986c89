"""Acceptance of the scenario drills (issue 12): for every cause and seeds 1-5, the world built
by `drill scenario` (its function, `build_world(plan_world(...))`) confirms the incident at step 1
and fires the alert - except `healthy`, which does neither - and `runbook diagnose` ranks the true
cause first and judges it likely (`healthy`: no cause likely), with the runbook's path.

All 25 worlds are checked in one test, so that a busy CI machine builds each once (xdist would
spread parametrised cases over workers, each building its own worlds); every miss is collected
and reported together. The confusion matrix (true cause x likely cause ranked first) is printed
to the terminal whatever the capture mode, attached to the test's report (shown with `-rA`) and
recorded as the JUnit property `confusion_matrix`.
"""

from __future__ import annotations

from collections import Counter

import pytest
from scenario_world_support import WorldFactory

from cvntrade.clock import fixed_clock
from cvntrade.db import create_db_engine
from cvntrade.drill.scenario import CAUSES as WORLD_CAUSES
from cvntrade.drill.scenario import world_settings
from cvntrade.monitoring.alerts import evaluate, read_focal_active
from cvntrade.runbook.diagnose import CAUSES, Diagnosis
from cvntrade.runbook.diagnose_gather import run_diagnosis
from cvntrade.runbook.steps import confirm, negative_focal_symbols

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3, 4, 5)
PATHS = {"calibration-drift": "B", "concept-drift": "C"}
NONE = "none likely"


def confusion_matrix(cells: Counter[tuple[str, str]]) -> str:
    """The matrix as text: rows true cause, columns the likely cause ranked first."""
    columns = [*CAUSES, NONE]
    width = max(len(c) for c in columns) + 1
    lines = [
        "confusion matrix (rows: true cause; columns: likely cause ranked first), seeds "
        + ", ".join(map(str, SEEDS)),
        " " * 26 + "".join(f"{c:>{width}}" for c in columns),
    ]
    for row in WORLD_CAUSES:
        lines.append(f"{row:>26}" + "".join(f"{cells[row, c]:>{width}}" for c in columns))
    return "\n".join(lines)


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


def test_every_cause_is_confirmed_and_diagnosed_on_seeds_1_to_5(
    world: WorldFactory,
    capsys: pytest.CaptureFixture[str],
    record_property: pytest.RecordProperty,
    request: pytest.FixtureRequest,
) -> None:
    cells: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for seed in SEEDS:
        for cause in WORLD_CAUSES:
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
            cells[cause, result.likely[0] if result.likely else NONE] += 1
            misses += [
                f"{cause} seed {seed}: {m}" for m in check(cause, step1, alert.firing, result)
            ]
    matrix = confusion_matrix(cells)
    with capsys.disabled():
        print(f"\n{matrix}\n")
    record_property("confusion_matrix", matrix)
    request.node.add_report_section("call", "confusion matrix", matrix)
    assert not misses, "\n".join([*misses, matrix])

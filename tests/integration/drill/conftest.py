"""Scenario worlds built once per test session and shared by the tests that read them.

A world costs a few CPU seconds (10-15 trainings, MLflow registrations, 14 days of paper
trading for 5 symbols) and is never modified by the tests that read it, so each (cause, seed)
is built at most once per session (per xdist worker).
"""

from __future__ import annotations

import pytest
from scenario_world_support import NOW, WorldFactory

from cvntrade.drill.scenario import ScenarioResult, build_world, plan_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldFactory:
    """Build (once per session) and return the world of (cause, seed), `now` = NOW."""
    built: dict[tuple[str, int], ScenarioResult] = {}

    def get(cause: str, seed: int) -> ScenarioResult:
        if (cause, seed) not in built:
            home = tmp_path_factory.mktemp(f"world-{cause}-{seed}")
            built[cause, seed] = build_world(plan_world(cause, seed=seed, now=NOW), home)
        return built[cause, seed]

    return get

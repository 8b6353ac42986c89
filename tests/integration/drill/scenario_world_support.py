"""Constants and types shared by the scenario-world tests (imported by their conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cvntrade.drill.scenario import ScenarioResult

NOW = dt.datetime(2026, 11, 30, 12)
"""Every test world's present."""
WorldFactory = Callable[[str, int], ScenarioResult]
"""`world(cause, seed)` → the world, built once per session."""

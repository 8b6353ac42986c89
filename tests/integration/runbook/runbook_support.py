"""Constants and types shared by the runbook integration tests (imported by their conftest)."""

from __future__ import annotations

from collections.abc import Callable

FOCAL_REGRESSION = ("BTCUSDC", "ETHUSDC", "SOLUSDC")
"""The symbols `cvntrade drill journal --scenario focal-regression` makes negative."""
ALL_SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")

MakeModels = Callable[..., dict[str, str]]
"""`make_models(symbols, losses, champion)` → symbol → registered model name."""

"""Fixtures for the infra/ tests: the Prometheus and Alertmanager binaries (Debian packages)."""

from __future__ import annotations

import pytest
from infra_support import require_tool


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of `promtool` (package `prometheus`)."""
    return require_tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    """Path of `amtool` (package `prometheus-alertmanager`)."""
    return require_tool("amtool")

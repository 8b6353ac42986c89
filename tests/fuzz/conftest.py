"""Fixtures of the fuzz suite: a world (CVN_HOME + database + in-process CLI) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_support import World, make_world


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory `fuzz` (`pytest -m fuzz` runs the suite alone)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture
def world(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[World]:
    """A fresh world on SQLite and on PostgreSQL (`db_url` is parametrised)."""
    world = make_world(db_url, tmp_path / "home", monkeypatch, capsys)
    yield world
    world.db.dispose()


@pytest.fixture
def sqlite_world(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[World]:
    """A fresh world on SQLite only (for the expensive properties)."""
    world = make_world(sqlite_url, tmp_path / "home", monkeypatch, capsys)
    yield world
    world.db.dispose()

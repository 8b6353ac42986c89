"""The application context: one engine, a lazily created registry, the actor swapped per user."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvntrade.app import open_app
from cvntrade.cli.common import open_engine
from cvntrade.db import create_db_engine
from cvntrade.errors import NotInitialisedError
from cvntrade.registry import MlflowRegistry
from cvntrade.settings import Settings


def test_open_app_uses_the_settings_and_shares_the_registry(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, database_url=db_url, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'm.db'}"
    )
    ctx = open_app(actor="cli", settings=settings)
    try:
        assert ctx.engine.url.render_as_string(hide_password=False) == db_url
        registry = ctx.registry
        assert isinstance(registry, MlflowRegistry)
        assert registry.tracking_uri == settings.effective_tracking_uri
        console_user = ctx.acting_as("olivia")
        assert (console_user.actor, ctx.actor) == ("olivia", "cli")
        assert console_user.registry is registry and console_user.engine is ctx.engine
    finally:
        ctx.engine.dispose()


def test_an_unmigrated_database_is_refused_by_app_and_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    create_db_engine(url).dispose()
    with pytest.raises(NotInitialisedError):
        open_app(actor="cli", settings=Settings(home=tmp_path, database_url=url))
    assert open_engine(require_schema=False) is not None

"""A real console on a loopback port for the end-to-end tests (schemathesis, browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher, profiles

from cvntrade.app import AppContext
from cvntrade.console.serving import serve_in_thread
from cvntrade.console.users import add_user, create_token
from cvntrade.console.web import create_app
from cvntrade.db import create_db_engine
from cvntrade.registry import MlflowRegistry
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

PASSWORD = "correct-horse-9"
USERS = {"viewer": "victor", "operator": "olivia", "admin": "ada"}


@dataclass(frozen=True)
class RunningConsole:
    """Base URL, bearer token per role, and the context the server runs on."""

    url: str
    tokens: dict[str, str]
    ctx: AppContext


@contextmanager
def running_console(db_url: str, mlflow_template: Path, tmp_path: Path) -> Iterator[RunningConsole]:
    """Users (viewer/operator/admin), BTCUSDC + ETHUSDC models (binary, binary, focal champion)."""
    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    uri = f"sqlite:///{store}"
    registry = MlflowRegistry(uri)
    for symbol in ("BTCUSDC", "ETHUSDC"):
        name = model_name(symbol, DEFAULT_STRATEGY)
        registry.client.create_registered_model(name)
        for loss in ("binary", "binary", "focal"):
            registry.client.create_model_version(
                name, source=str(tmp_path), tags={"loss_function": loss}
            )
        registry.client.set_registered_model_alias(name, "champion", "3")
    engine = create_db_engine(db_url)
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    tokens = {}
    for role, username in USERS.items():
        add_user(engine, username, PASSWORD, role, actor="setup", hasher=cheap)
        tokens[role] = create_token(engine, username, label="e2e", actor="setup")
    settings = Settings(home=tmp_path / "home", database_url=db_url, MLFLOW_TRACKING_URI=uri)
    ctx = AppContext(settings=settings, engine=engine, actor="console", _registry=[registry])
    try:
        with serve_in_thread(create_app(ctx, secret="e2e-secret")) as url:
            yield RunningConsole(url, tokens, ctx)
    finally:
        engine.dispose()

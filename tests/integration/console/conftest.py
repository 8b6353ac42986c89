"""Console fixtures: a real database (SQLite and PostgreSQL), a real MLflow store, real users.

Users are created with argon2's cheapest profile (verification reads the parameters from the
hash, so the login path is the production one, only faster).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from console_support import CHEAP, PASSWORD, USERNAMES, csrf_of
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cvntrade.app import AppContext
from cvntrade.console.security import LoginLimiter
from cvntrade.console.users import add_user, create_token
from cvntrade.console.web import create_app
from cvntrade.registry import MlflowRegistry
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

MakeModels = Callable[..., dict[str, str]]


@pytest.fixture
def tracking_uri(mlflow_template: Path, tmp_path: Path) -> str:
    """A fresh MLflow store for one test."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def registry(tracking_uri: str) -> MlflowRegistry:
    """Our registry wrapper on the test's MLflow store."""
    return MlflowRegistry(tracking_uri)


@pytest.fixture
def ctx(
    engine: Engine, db_url: str, tracking_uri: str, registry: MlflowRegistry, tmp_path: Path
) -> AppContext:
    """The application context the console runs on."""
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, MLFLOW_TRACKING_URI=tracking_uri
    )
    return AppContext(settings=settings, engine=engine, actor="console", _registry=[registry])


@pytest.fixture
def tokens(engine: Engine) -> dict[str, str]:
    """A viewer, an operator and an admin; role → bearer token ('' for anonymous)."""
    result = {"anonymous": ""}
    for role, username in USERNAMES.items():
        add_user(engine, username, PASSWORD, role, actor="setup", hasher=CHEAP)
        result[role] = create_token(engine, username, label="test", actor="setup")
    return result


@pytest.fixture
def client(ctx: AppContext, tokens: dict[str, str]) -> Iterator[TestClient]:
    """An HTTP client on the console app (no session)."""
    with TestClient(create_app(ctx, secret="test-secret", limiter=LoginLimiter())) as c:
        yield c


@pytest.fixture
def login(
    ctx: AppContext, tokens: dict[str, str]
) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """Log a role in through the real form: returns (its own client, its CSRF token)."""
    app = create_app(ctx, secret="test-secret")
    clients: list[TestClient] = []

    def do(role: str) -> tuple[TestClient, str]:
        c = TestClient(app)
        clients.append(c)
        if role == "anonymous":
            return c, ""
        r = c.post("/login", data={"username": USERNAMES[role], "password": PASSWORD})
        assert r.status_code == 200, r.text
        return c, csrf_of(c.get("/config").text)

    yield do
    for c in clients:
        c.close()


@pytest.fixture
def make_models(registry: MlflowRegistry, tmp_path: Path) -> MakeModels:
    """Register `CVNTrade_XGBoost_{SYMBOL}_SL0.5_TP1_H4` with tagged versions, newest champion."""

    def make(
        symbols: Sequence[str] = ("BTCUSDC",),
        losses: Sequence[str | None] = ("binary", "binary", "focal"),
    ) -> dict[str, str]:
        names = {}
        for symbol in symbols:
            name = model_name(symbol, DEFAULT_STRATEGY)
            registry.client.create_registered_model(name)
            for loss in losses:
                tags = {} if loss is None else {"loss_function": loss}
                registry.client.create_model_version(name, source=str(tmp_path), tags=tags)
            registry.client.set_registered_model_alias(name, "champion", str(len(losses)))
            names[symbol] = name
        return names

    return make

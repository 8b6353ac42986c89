"""The one application context: settings, database engine, registry, clock and actor.

The CLI, the console (and later the DAG and the demo) build an `AppContext` once and hand it to
the services, instead of each command wiring its own engine and registry. The registry is
created lazily because importing MLflow costs about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cvntrade.clock import Clock, utc_now
from cvntrade.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.registry.client import Registry


@dataclass(frozen=True)
class AppContext:
    """Everything a service call needs; `actor` is who is acting (login or console user)."""

    settings: Settings
    engine: Engine
    actor: str
    clock: Clock = utc_now
    _registry: list[Registry] = field(default_factory=list, repr=False, compare=False)

    @property
    def registry(self) -> Registry:
        """The model registry at `MLFLOW_TRACKING_URI` (created on first use)."""
        if not self._registry:
            from cvntrade.registry.client import MlflowRegistry

            self._registry.append(MlflowRegistry(self.settings.effective_tracking_uri))
        return self._registry[0]

    def acting_as(self, actor: str) -> AppContext:
        """The same context with another actor (the console's logged-in user), registry shared."""
        return replace(self, actor=actor)


def open_engine(settings: Settings | None = None, *, require_schema: bool = True) -> Engine:
    """The engine for `CVN_DATABASE_URL` (or the embedded SQLite), schema checked by default."""
    from cvntrade.db import create_db_engine, require_current

    engine = create_db_engine((settings or get_settings()).effective_database_url)
    if require_schema:
        require_current(engine)
    return engine


def open_app(
    *,
    actor: str,
    settings: Settings | None = None,
    require_schema: bool = True,
    clock: Clock = utc_now,
    registry: Registry | None = None,
) -> AppContext:
    """Build the application context from the environment (or the given settings)."""
    settings = settings or get_settings()
    engine = open_engine(settings, require_schema=require_schema)
    return AppContext(
        settings=settings,
        engine=engine,
        actor=actor,
        clock=clock,
        _registry=[] if registry is None else [registry],
    )

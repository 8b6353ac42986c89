"""The console's JSON API under `/api`: bearer tokens, roles, typed bodies, OpenAPI documented.

Reads need `viewer`; config, champions and switches need `operator`; users need `admin`.
Errors are `ErrorOut` bodies: 401/403 refused, 404 unknown, 409 stale or conflicting,
422 bad input naming the field (nothing changed), 503 a dependency down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cvntrade.console import services
from cvntrade.console.auth import api_user, state_of
from cvntrade.console.schemas import (
    AliasMoveOut,
    ConfigChangeOut,
    ConfigOut,
    ConfigUpdate,
    ErrorOut,
    ExpectancyOut,
    FlagChangeOut,
    FlagIn,
    FlagsOut,
    HistoryOut,
    IncidentOut,
    JournalOut,
    ModelOut,
    RollbackIn,
    UserIn,
    UserOut,
)
from cvntrade.console.users import ConsoleUser, add_user, list_users

_bearer = HTTPBearer(auto_error=False, description="API token from `cvntrade users token NAME`")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 422, 503)
}

router = APIRouter(prefix="/api", responses=_ERRORS)


def _role(role: str) -> Callable[..., ConsoleUser]:
    def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    ) -> ConsoleUser:
        return api_user(request, role)

    return dependency


Viewer = Annotated[ConsoleUser, Depends(_role("viewer"))]
Operator = Annotated[ConsoleUser, Depends(_role("operator"))]
Admin = Annotated[ConsoleUser, Depends(_role("admin"))]


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Liveness: a static answer (no database), also the benchmark's baseline endpoint."""
    return {"status": "ok"}


@router.get("/me", tags=["meta"])
def me(user: Viewer) -> UserOut:
    """The caller's own user."""
    return UserOut(username=user.username, role=user.role, disabled=user.disabled)


@router.get("/config", tags=["config"])
def get_config(request: Request, _user: Viewer) -> ConfigOut:
    """Every `ftf_config` key with its type, allowed values and value, and the version."""
    return services.config_view(state_of(request).ctx)


@router.get("/config/history", tags=["config"])
def get_history(
    request: Request, _user: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[HistoryOut]:
    """Past config changes with their diffs, newest first."""
    return services.history_view(state_of(request).ctx, limit)


@router.post("/config", tags=["config"])
def post_config(request: Request, user: Operator, body: ConfigUpdate) -> ConfigChangeOut:
    """Change several keys atomically; a stale `expect_version` is 409 and changes nothing."""
    ctx = state_of(request).ctx.acting_as(user.username)
    return services.change_config(
        ctx, dict(body.changes), reason=body.reason, expect_version=body.expect_version
    )


@router.get("/models", tags=["models"])
def get_models(request: Request, _user: Viewer) -> list[ModelOut]:
    """Per symbol: champion, its loss tag, the previous binary version and newest versions."""
    return services.models_view(state_of(request).ctx)


@router.post("/models/{symbol}/rollback", tags=["models"])
def post_rollback(request: Request, symbol: str, user: Operator, body: RollbackIn) -> AliasMoveOut:
    """Point the symbol's champion at its previous binary version (audited `models.set_alias`)."""
    ctx = state_of(request).ctx.acting_as(user.username)
    return services.rollback_champion(ctx, symbol, reason=body.reason, strategy=body.strategy)


@router.get("/expectancy", tags=["monitoring"])
def get_expectancy(request: Request, _user: Viewer) -> list[ExpectancyOut]:
    """Per-crypto expectancy 48 h / 7 d / 14 d with trade counts and verdicts."""
    return services.expectancy_view(state_of(request).ctx)


@router.get("/journal", tags=["journal"])
def get_journal(
    request: Request,
    _user: Viewer,
    symbol: Annotated[str | None, Query(max_length=20)] = None,
    loss: Annotated[str | None, Query(max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JournalOut:
    """Trades, newest first, filtered by symbol and/or loss function, paginated."""
    return services.journal_view(
        state_of(request).ctx, symbol=symbol, loss=loss, limit=limit, offset=offset
    )


@router.get("/controls", tags=["controls"])
def get_controls(request: Request, _user: Viewer) -> FlagsOut:
    """The kill switch and the halt."""
    return services.flags_view(state_of(request).ctx)


@router.post("/controls/{name}", tags=["controls"])
def post_control(request: Request, name: str, user: Operator, body: FlagIn) -> FlagChangeOut:
    """Switch `kill_switch` or `halt`; `confirm` must repeat the name (typed confirmation)."""
    ctx = state_of(request).ctx.acting_as(user.username)
    return services.switch_flag(ctx, name, body.active, reason=body.reason, confirm=body.confirm)


@router.get("/incidents", tags=["incidents"])
def get_incidents(
    request: Request, _user: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[IncidentOut]:
    """Incidents, newest first."""
    return services.incidents_view(state_of(request).ctx, limit)


@router.get("/users", tags=["users"])
def get_users(request: Request, _user: Admin) -> list[UserOut]:
    """Every console user."""
    return [
        UserOut(username=u.username, role=u.role, disabled=u.disabled)
        for u in list_users(state_of(request).ctx.engine)
    ]


@router.post("/users", tags=["users"], status_code=201)
def post_user(request: Request, user: Admin, body: UserIn) -> UserOut:
    """Create a console user (audited `users.add`)."""
    ctx = state_of(request).ctx
    created = add_user(
        ctx.engine, body.username, body.password, body.role, actor=user.username, clock=ctx.clock
    )
    return UserOut(username=created.username, role=created.role, disabled=created.disabled)

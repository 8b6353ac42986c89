"""Server-rendered pages (Jinja2, no JavaScript needed): login, config, models, expectancy,
journal (+ CSV), controls, incidents (monitoring and alerts: `monitoring_routes`). Forms carry
a CSRF token; writes need `operator`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.console import services
from cvntrade.console.auth import CSRF_FIELD, Denied, check_csrf, page_user, state_of
from cvntrade.console.schemas import TradeOut
from cvntrade.console.security import SESSION_COOKIE, SESSION_TTL_S
from cvntrade.console.users import ConsoleUser, authenticate
from cvntrade.console.web import render
from cvntrade.db.engine import write_transaction
from cvntrade.errors import ConflictError, UserInputError

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]
Csrf = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]
PAGE_SIZE = 50
FLAG_ACTIONS = ("trading.kill_switch", "trading.halt")


def _page_role(role: str) -> Callable[[Request], ConsoleUser]:
    def dependency(request: Request) -> ConsoleUser:
        return page_user(request, role)

    return dependency


# Dependencies run before form validation: an unauthorised post is refused (401/403, audited)
# before its fields are looked at.
Viewer = Annotated[ConsoleUser, Depends(_page_role("viewer"))]
Operator = Annotated[ConsoleUser, Depends(_page_role("operator"))]


@router.get("/")
def index() -> Response:
    """The console opens on `/config`, the runbook's primary rollback."""
    return RedirectResponse("/config", status_code=303)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/config"


@router.get("/login")
def login_page(request: Request, next: str = "/config") -> Response:
    """The login form."""
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=200)] = "/config",
) -> Response:
    """Check the password (rate limited per address and username), then set the session."""
    state = state_of(request)
    address = request.client.host if request.client else "?"
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise Denied(403, f"login posted from another site ({origin[:80]})")
    if state.limiter.blocked(address, username):
        raise Denied(429, f"too many failed logins for {username!r}: wait and retry")
    user = authenticate(state.ctx.engine, username, password)
    if user is None:
        state.limiter.failed(address, username)
        with write_transaction(state.ctx.engine) as conn:
            write_audit(
                conn,
                AuditEntry(
                    state.ctx.clock(),
                    username[:64] or "anonymous",
                    "console.login_failed",
                    "POST /login",
                    "wrong username or password (or user disabled)",
                    after={"client": address},
                ),
            )
        return render(
            request, "login.html", 401, next=_safe_next(next), error="wrong username or password"
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        state.signer.session_cookie(user.id, time.time()),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, user: Viewer, csrf: Csrf = "") -> Response:
    """End the session."""
    check_csrf(request, csrf, user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _config_page(request: Request, status: int = 200, **extra: object) -> Response:
    ctx = state_of(request).ctx
    return render(
        request,
        "config.html",
        status,
        config=services.config_view(ctx),
        history=services.history_view(ctx),
        **{"error": None, "conflict": None, "done": None, **extra},
    )


@router.get("/config")
def config_page(request: Request) -> Response:
    """Every key with type, allowed values and value; the version; the history with diffs."""
    page_user(request, "viewer")
    return _config_page(request)


@router.post("/config")
async def config_submit(request: Request, user: Operator) -> Response:
    """Several keys in one atomic submit with a reason; stale version → 409 conflict page."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or ""), user)
    ctx = state_of(request).ctx.acting_as(user.username)
    changes = {
        key[4:]: str(value)
        for key, value in form.multi_items()
        if key.startswith("key:") and str(value).strip()
    }
    raw_version = str(form.get("expect_version") or "")
    if not raw_version.isdigit():
        raise UserInputError("expect_version: the form's config version is missing")
    try:
        change = await run_in_threadpool(
            services.change_config,
            ctx,
            changes,
            reason=str(form.get("reason") or ""),
            expect_version=int(raw_version),
        )
    except ConflictError as exc:
        current = await run_in_threadpool(services.config_view, ctx)
        values = {k.name: k.value for k in current.keys}
        conflict = [
            {"key": key, "yours": value, "current": values.get(key)}
            for key, value in sorted(changes.items())
        ]
        return await run_in_threadpool(
            _config_page, request, 409, conflict=conflict, error=str(exc), user=user
        )
    except UserInputError as exc:
        return await run_in_threadpool(_config_page, request, 422, error=str(exc), user=user)
    return await run_in_threadpool(_config_page, request, 200, done=change, user=user)


@router.get("/models")
def models_page(request: Request) -> Response:
    """Per symbol: versions with loss tags, the champion, and the rollback control."""
    user = page_user(request, "viewer")
    ctx = state_of(request).ctx
    return render(
        request,
        "models.html",
        models=services.models_view(ctx),
        changes=services.recent_changes(ctx, ("models.set_alias",)),
        user=user,
        done=None,
    )


@router.post("/models/rollback")
def models_rollback(
    request: Request,
    user: Operator,
    symbol: Annotated[str, Form(max_length=20)],
    reason: Text,
    confirm: Annotated[str, Form(max_length=20)] = "",
    csrf: Csrf = "",
) -> Response:
    """Roll one champion back to its previous binary version after typing the symbol."""
    check_csrf(request, csrf, user)
    if confirm.strip() != symbol:
        raise UserInputError(f"confirm: type {symbol} to confirm the rollback")
    ctx = state_of(request).ctx.acting_as(user.username)
    move = services.rollback_champion(ctx, symbol, reason=reason)
    return render(
        request,
        "models.html",
        models=services.models_view(ctx),
        changes=services.recent_changes(ctx, ("models.set_alias",)),
        user=user,
        done=move,
    )


@router.get("/expectancy")
def expectancy_page(request: Request) -> Response:
    """Per-crypto expectancy 48 h / 7 d / 14 d with trade counts and verdicts, as a chart."""
    user = page_user(request, "viewer")
    rows = services.expectancy_view(state_of(request).ctx)
    scale = max([abs(v) for r in rows for v in (r.exp_48h, r.exp_7d, r.exp_14d) if v] or [1.0])
    return render(request, "expectancy.html", rows=rows, scale=scale, user=user)


@router.get("/journal")
def journal_page(
    request: Request,
    symbol: Annotated[str, Query(max_length=20)] = "",
    loss: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """The per-crypto trade journal, filterable, paginated."""
    user = page_user(request, "viewer")
    journal = services.journal_view(
        state_of(request).ctx,
        symbol=symbol,
        loss=loss,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-journal.total // PAGE_SIZE))
    return render(
        request,
        "journal.html",
        journal=journal,
        symbol=symbol,
        loss=loss,
        page=page,
        pages=pages,
        user=user,
    )


@router.get("/journal.csv")
def journal_csv(
    request: Request,
    symbol: Annotated[str, Query(max_length=20)] = "",
    loss: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The filtered journal as CSV (every matching trade, newest first)."""
    from cvntrade.journal.browse import EXPORT_LIMIT

    page_user(request, "viewer")
    journal = services.journal_view(
        state_of(request).ctx, symbol=symbol, loss=loss, limit=EXPORT_LIMIT
    )
    out = io.StringIO()
    writer = csv.writer(out)
    fields = list(TradeOut.model_fields)
    writer.writerow(fields)
    for trade in journal.trades:
        writer.writerow([getattr(trade, f) for f in fields])
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="trade_journal.csv"'},
    )


@router.get("/controls")
def controls_page(request: Request) -> Response:
    """The kill switch and the halt, with typed confirmation."""
    user = page_user(request, "viewer")
    ctx = state_of(request).ctx
    return render(
        request,
        "controls.html",
        flags=services.flags_view(ctx),
        changes=services.recent_changes(ctx, FLAG_ACTIONS),
        user=user,
        done=None,
    )


@router.post("/controls")
def controls_submit(
    request: Request,
    user: Operator,
    name: Annotated[str, Form(max_length=20)],
    active: Annotated[str, Form(max_length=5)],
    reason: Text,
    confirm: Annotated[str, Form(max_length=40)] = "",
    csrf: Csrf = "",
) -> Response:
    """Switch a flag on or off; `confirm` must repeat its name."""
    check_csrf(request, csrf, user)
    if active not in ("on", "off"):
        raise UserInputError("active: use on or off")
    ctx = state_of(request).ctx.acting_as(user.username)
    change = services.switch_flag(ctx, name, active == "on", reason=reason, confirm=confirm)
    return render(
        request,
        "controls.html",
        flags=services.flags_view(ctx),
        changes=services.recent_changes(ctx, FLAG_ACTIONS),
        user=user,
        done=change,
    )


@router.get("/incidents")
def incidents_page(request: Request) -> Response:
    """Incidents, newest first."""
    user = page_user(request, "viewer")
    return render(
        request,
        "incidents.html",
        incidents=services.incidents_view(state_of(request).ctx),
        user=user,
    )


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: int) -> Response:
    """One incident's timeline (notes and attached audit rows) and the runbook checklist."""
    from cvntrade.runbook.timeline import incident_timeline

    user = page_user(request, "viewer")
    timeline = incident_timeline(state_of(request).ctx.engine, incident_id)
    return render(request, "incident.html", timeline=timeline, user=user)

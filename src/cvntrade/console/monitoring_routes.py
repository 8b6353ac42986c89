"""`/monitoring` and `/alerts`: pages (viewer; ack needs operator + CSRF) and `/api` endpoints.

The acknowledgement calls `cvntrade.monitoring.evaluator.ack_event` through
`monitoring_views.ack_alert`, the function `cvntrade alerts ack` calls, as the logged-in user.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from cvntrade.console import monitoring_views as views
from cvntrade.console.api import _ERRORS, Operator, Viewer
from cvntrade.console.auth import CSRF_FIELD, check_csrf, page_user, state_of
from cvntrade.console.users import ConsoleUser
from cvntrade.console.web import render

api_router = APIRouter(prefix="/api", responses=_ERRORS)
page_router = APIRouter(include_in_schema=False)


@api_router.get("/monitoring", tags=["monitoring"])
def get_monitoring(request: Request, _user: Viewer) -> views.MonitoringOut:
    """The latest stored monitoring snapshot: PSI, sharpness, live ECE vs training, per symbol."""
    return views.monitoring_view(state_of(request).ctx)


@api_router.get("/alerts", tags=["monitoring"])
def get_alerts(
    request: Request, _user: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[views.AlertEventOut]:
    """Alert events of the built-in evaluator, newest first."""
    return views.alerts_view(state_of(request).ctx, limit)


@api_router.post("/alerts/{event_id}/ack", tags=["monitoring"])
def post_ack(
    request: Request, event_id: int, user: Operator, body: views.AckIn
) -> views.AlertEventOut:
    """Acknowledge an alert event (audited `alert.ack`, as `cvntrade alerts ack`)."""
    ctx = state_of(request).ctx.acting_as(user.username)
    return views.ack_alert(ctx, event_id, reason=body.reason)


def _page_operator(request: Request) -> ConsoleUser:
    return page_user(request, "operator")


@page_router.get("/monitoring")
def monitoring_page(request: Request) -> Response:
    """The runbook's monitoring panels from the latest snapshot, as inline SVG charts."""
    user = page_user(request, "viewer")
    ctx = state_of(request).ctx
    view = views.monitoring_view(ctx)
    return render(
        request,
        "monitoring.html",
        view=view,
        age=views.age(view, ctx.clock()),
        levels=views.levels(view),
        polyline=views.polyline,
        bar_scale=views.bar_scale,
        band=views.SHARPNESS_BAND,
        margin=views.ECE_MARGIN,
        user=user,
    )


def _alerts_page(request: Request, user: ConsoleUser, done: object = None) -> Response:
    events = views.alerts_view(state_of(request).ctx)
    return render(request, "alerts.html", events=events, done=done, user=user)


@page_router.get("/alerts")
def alerts_page(request: Request) -> Response:
    """Alert events with who acknowledged them, when and why; an ack form for operators."""
    return _alerts_page(request, page_user(request, "viewer"))


@page_router.post("/alerts/{event_id}/ack")
def alerts_ack(
    request: Request,
    event_id: int,
    user: Annotated[ConsoleUser, Depends(_page_operator)],
    reason: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    """Acknowledge one alert event as the logged-in operator (CSRF-checked, reason required)."""
    check_csrf(request, csrf, user)
    ctx = state_of(request).ctx.acting_as(user.username)
    done = views.ack_alert(ctx, event_id, reason=reason)
    return _alerts_page(request, user, done)

"""The permission matrix: every write endpoint (API and form, alert ack included) x every role,
on both backends.

A refused write changes nothing and leaves a `console.denied` audit row naming the caller; an
allowed one changes the state and is audited with the caller's user name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from console_monitoring_support import add_alert_event
from console_support import ROLES, USERNAMES, bearer
from fastapi.testclient import TestClient

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.config import read_config
from cvntrade.console.users import list_users
from cvntrade.monitoring.evaluator import list_events
from cvntrade.trading.flags import read_flags

RANK = {role: i for i, role in enumerate(ROLES)}
API_WRITES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "config": (
        "/api/config",
        {"changes": {"CVN_LOSS_FUNCTION": "focal"}, "reason": "matrix"},
        "operator",
        "config.set",
    ),
    "rollback": (
        "/api/models/BTCUSDC/rollback",
        {"reason": "matrix"},
        "operator",
        "models.set_alias",
    ),
    "kill_switch": (
        "/api/controls/kill_switch",
        {"active": True, "reason": "matrix", "confirm": "kill_switch"},
        "operator",
        "trading.kill_switch",
    ),
    "alert_ack": (
        "/api/alerts/{event}/ack",
        {"reason": "matrix"},
        "operator",
        "alert.ack",
    ),
    "users": (
        "/api/users",
        {"username": "newbie", "password": "long-enough-1", "role": "viewer"},
        "admin",
        "users.add",
    ),
}
FORM_WRITES: dict[str, tuple[str, dict[str, str], str, str]] = {
    "config": (
        "/config",
        {"key:CVN_LOSS_FUNCTION": "focal", "reason": "matrix", "expect_version": "1"},
        "operator",
        "config.set",
    ),
    "rollback": (
        "/models/rollback",
        {"symbol": "BTCUSDC", "reason": "matrix", "confirm": "BTCUSDC"},
        "operator",
        "models.set_alias",
    ),
    "controls": (
        "/controls",
        {"name": "kill_switch", "active": "on", "reason": "matrix", "confirm": "kill_switch"},
        "operator",
        "trading.kill_switch",
    ),
    "alert_ack": ("/alerts/{event}/ack", {"reason": "matrix"}, "operator", "alert.ack"),
}


def _state(ctx: AppContext) -> tuple[object, ...]:
    """Everything a write endpoint can change, and every audit row but the refusals."""
    return (
        len([a for a in read_audit(ctx.engine) if a.action != "console.denied"]),
        read_config(ctx.engine).version,
        ctx.registry.aliases("CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4").get("champion"),
        read_flags(ctx.engine).kill_switch,
        tuple(u.username for u in list_users(ctx.engine)),
        tuple(e.acked_by for e in list_events(ctx.engine)),
    )


def _check(
    ctx: AppContext, role: str, needed: str, action: str, status: int, before: object
) -> None:
    actor = USERNAMES.get(role, "anonymous")
    newest = read_audit(ctx.engine, limit=1)[0]
    if RANK[role] >= RANK[needed]:
        assert 200 <= status < 300
        assert _state(ctx) != before
        assert (newest.action, newest.actor) == (action, actor)
    else:
        assert status == (401 if role == "anonymous" else 403)
        assert _state(ctx) == before
        assert (newest.action, newest.actor) == ("console.denied", actor)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(API_WRITES))
def test_api_write_is_allowed_only_from_its_role_up(
    endpoint: str,
    role: str,
    ctx: AppContext,
    client: TestClient,
    tokens: dict[str, str],
    make_models: Callable[..., dict[str, str]],
) -> None:
    make_models()
    event = add_alert_event(ctx.engine)
    path, body, needed, action = API_WRITES[endpoint]
    path = path.format(event=event)
    before = _state(ctx)
    response = client.post(path, json=body, headers=bearer(tokens[role]))
    _check(ctx, role, needed, action, response.status_code, before)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(FORM_WRITES))
def test_form_write_is_allowed_only_from_its_role_up(
    endpoint: str,
    role: str,
    ctx: AppContext,
    login: Callable[[str], tuple[TestClient, str]],
    make_models: Callable[..., dict[str, str]],
) -> None:
    make_models()
    event = add_alert_event(ctx.engine)
    browser, csrf = login(role)
    path, form, needed, action = FORM_WRITES[endpoint]
    path = path.format(event=event)
    before = _state(ctx)
    response = browser.post(path, data={**form, "csrf_token": csrf}, follow_redirects=False)
    _check(ctx, role, needed, action, response.status_code, before)


def test_a_viewer_sees_no_write_controls(
    ctx: AppContext,
    login: Callable[[str], tuple[TestClient, str]],
    make_models: Callable[..., dict[str, str]],
) -> None:
    make_models()
    event = add_alert_event(ctx.engine)
    viewer, _ = login("viewer")
    operator, _ = login("operator")
    for path, marker in (
        ("/config", 'name="key:CVN_LOSS_FUNCTION"'),
        ("/models", 'action="/models/rollback"'),
        ("/controls", 'action="/controls"'),
        ("/alerts", f'action="/alerts/{event}/ack"'),
    ):
        assert marker not in viewer.get(path).text
        assert marker in operator.get(path).text


def test_a_disabled_user_loses_token_and_session_at_once(
    ctx: AppContext,
    client: TestClient,
    tokens: dict[str, str],
    login: Callable[[str], tuple[TestClient, str]],
) -> None:
    from cvntrade.console.users import disable_user

    browser, _ = login("operator")
    assert client.get("/api/me", headers=bearer(tokens["operator"])).status_code == 200
    disable_user(ctx.engine, "olivia", actor="ada")
    assert client.get("/api/me", headers=bearer(tokens["operator"])).status_code == 401
    assert browser.get("/config", follow_redirects=False).status_code == 303

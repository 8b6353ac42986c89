"""Who is calling: bearer tokens for the API, session cookies (+ CSRF) for pages, role checks.

Every refusal (no or bad credentials, a role too weak, a missing CSRF token) is logged and
written to the audit log as `console.denied` with the user (or `anonymous`) and the request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import Request

from cvntrade.app import AppContext
from cvntrade.audit import AuditEntry, write_audit
from cvntrade.console.security import SESSION_COOKIE, LoginLimiter, Signer
from cvntrade.console.users import ConsoleUser, user_by_id, user_for_token
from cvntrade.db.engine import write_transaction

log = logging.getLogger("cvntrade.console")
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class ConsoleState:
    """What every request handler shares: the application context, signer and login limiter."""

    ctx: AppContext
    signer: Signer
    limiter: LoginLimiter


class Denied(Exception):  # noqa: N818 - an outcome, rendered by the app's handler
    """A request refused for lack of credentials (401), role or CSRF token (403), or rate (429)."""

    def __init__(self, status: int, reason: str, user: ConsoleUser | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.user = user


def state_of(request: Request) -> ConsoleState:
    """The console state stored on the app."""
    state: ConsoleState = request.app.state.console
    return state


def audit_denied(state: ConsoleState, request: Request, denied: Denied) -> None:
    """Log and audit one refused request (`console.denied`)."""
    actor = denied.user.username if denied.user else "anonymous"
    client = request.client.host if request.client else "?"
    log.warning(
        "denied %s %s for %s from %s: %s",
        request.method,
        request.url.path,
        actor,
        client,
        denied.reason,
    )
    ctx = state.ctx
    with write_transaction(ctx.engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=ctx.clock(),
                actor=actor,
                action="console.denied",
                target=f"{request.method} {request.url.path}"[:200],
                reason=denied.reason,
                after={"status": denied.status, "client": client},
            ),
        )


def _require(user: ConsoleUser | None, role: str) -> ConsoleUser:
    if user is None:
        raise Denied(401, "not authenticated")
    if not user.may(role):
        raise Denied(403, f"role {user.role} may not do what needs {role}", user)
    return user


def api_user(request: Request, role: str) -> ConsoleUser:
    """The bearer token's user, at least `role`; else `Denied` (401/403)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = user_for_token(state_of(request).ctx.engine, token.strip())
        if user is None:
            raise Denied(401, "invalid or revoked API token")
    return _require(user, role)


def session_user(request: Request) -> ConsoleUser | None:
    """The user of a valid session cookie (enabled), else None."""
    state = state_of(request)
    user_id = state.signer.session_user_id(request.cookies.get(SESSION_COOKIE), time.time())
    if user_id is None:
        return None
    user = user_by_id(state.ctx.engine, user_id)
    return None if user is None or user.disabled else user


def page_user(request: Request, role: str) -> ConsoleUser:
    """The session's user, at least `role`; else `Denied` (401 → login page, 403)."""
    return _require(session_user(request), role)


def check_csrf(request: Request, token: str | None, user: ConsoleUser) -> None:
    """Refuse a form post whose CSRF token does not belong to the session (403, audited)."""
    if not state_of(request).signer.csrf_ok(request.cookies.get(SESSION_COOKIE), token):
        raise Denied(403, "missing or invalid CSRF token", user)


def csrf_token(request: Request) -> str:
    """The CSRF token to embed in this session's forms ('' without a session)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return state_of(request).signer.csrf_token(cookie) if cookie else ""

"""Session cookies, CSRF tokens and login rate limiting for the console.

A session cookie is `user_id.expiry.nonce.signature` signed with HMAC-SHA256 under the console's
secret (`CVN_CONSOLE_SECRET`, else random per process: sessions then end with the process). The
user row is re-read on every request, so disabling a user ends its sessions at once. The CSRF
token of a form is an HMAC of the session cookie: a forged cross-site POST cannot know it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SESSION_COOKIE = "cvn_session"
SESSION_TTL_S = 8 * 3600
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 300.0


@dataclass(frozen=True)
class Signer:
    """Signs and checks session cookies and derives CSRF tokens from them."""

    secret: bytes

    def _mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    def session_cookie(self, user_id: int, now_s: float) -> str:
        """A new signed session value for `user_id`, valid `SESSION_TTL_S` from `now_s`."""
        body = f"{user_id}.{int(now_s + SESSION_TTL_S)}.{secrets.token_hex(8)}"
        return f"{body}.{self._mac(body)}"

    def session_user_id(self, cookie: str | None, now_s: float) -> int | None:
        """The user id of a valid, unexpired cookie, else None."""
        if not cookie or cookie.count(".") != 3:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._mac(body)):
            return None
        user_id, expiry, _nonce = body.split(".")
        if not (user_id.isdigit() and expiry.isdigit()) or int(expiry) < now_s:
            return None
        return int(user_id)

    def csrf_token(self, cookie: str) -> str:
        """The CSRF token bound to one session."""
        return self._mac(f"csrf:{cookie}")

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        """True when `token` is the CSRF token of the session `cookie`."""
        if not cookie or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(cookie))


def new_signer(secret: str | None) -> Signer:
    """A signer from the configured secret, else a random one (sessions die with the process)."""
    return Signer(secret.encode() if secret else secrets.token_bytes(32))


@dataclass
class LoginLimiter:
    """At most `max_failures` failed logins per client address and per username in `window_s`.

    In-process (one console process serves the installation); a success does not erase failures,
    so guessing cannot be interleaved with a known good login.
    """

    max_failures: int = LOGIN_MAX_FAILURES
    window_s: float = LOGIN_WINDOW_S
    monotonic: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        return stamps

    def blocked(self, address: str, username: str) -> bool:
        """True when this address or this username used up its failures."""
        now = self.monotonic()
        with self._lock:
            return any(
                len(self._recent(key, now)) >= self.max_failures
                for key in (f"ip:{address}", f"user:{username}")
            )

    def failed(self, address: str, username: str) -> None:
        """Record one failed login."""
        now = self.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{username}"):
                self._recent(key, now).append(now)

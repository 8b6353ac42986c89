"""Session signing, CSRF binding, the login limiter and the loopback check, without a server."""

from __future__ import annotations

from cvntrade.cli.console_cmd import is_loopback
from cvntrade.console.security import SESSION_TTL_S, LoginLimiter, Signer


def test_session_cookie_round_trips_and_rejects_tampering_and_expiry() -> None:
    signer = Signer(b"k" * 32)
    cookie = signer.session_cookie(7, now_s=1000.0)
    assert signer.session_user_id(cookie, now_s=1001.0) == 7
    _user_id, rest = cookie.split(".", 1)
    assert signer.session_user_id(f"8.{rest}", now_s=1001.0) is None
    assert signer.session_user_id(cookie, now_s=1000.0 + SESSION_TTL_S + 1) is None
    assert Signer(b"x" * 32).session_user_id(cookie, now_s=1001.0) is None
    assert signer.session_user_id("garbage", now_s=1001.0) is None


def test_csrf_token_belongs_to_one_session() -> None:
    signer = Signer(b"k" * 32)
    a, b = signer.session_cookie(1, 0.0), signer.session_cookie(1, 0.0)
    assert signer.csrf_ok(a, signer.csrf_token(a))
    assert not signer.csrf_ok(a, signer.csrf_token(b))
    assert not signer.csrf_ok(a, "")
    assert not signer.csrf_ok(None, signer.csrf_token(a))


def test_login_limiter_blocks_per_address_and_per_user_then_forgets() -> None:
    now = [0.0]
    limiter = LoginLimiter(max_failures=2, window_s=60, monotonic=lambda: now[0])
    limiter.failed("1.1.1.1", "olivia")
    assert not limiter.blocked("1.1.1.1", "olivia")
    limiter.failed("2.2.2.2", "olivia")
    assert limiter.blocked("3.3.3.3", "olivia")  # the username used up its failures
    assert not limiter.blocked("3.3.3.3", "victor")
    now[0] = 61.0
    assert not limiter.blocked("3.3.3.3", "olivia")


def test_only_loopback_addresses_count_as_local() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "example.com", "::"))

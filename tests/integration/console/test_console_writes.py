"""Console writes: CSRF, stale versions (409), bad values (422), login rate limit, and audit rows
identical to the ones the CLI writes for the same action (on SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from console_support import PASSWORD, bearer
from fastapi.testclient import TestClient

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.config import config_history, read_config
from cvntrade.console.security import LoginLimiter
from cvntrade.console.web import create_app

Login = Callable[[str], tuple[TestClient, str]]
FLIP = {"key:CVN_LOSS_FUNCTION": "focal", "reason": "flip", "expect_version": "1"}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_form_without_or_with_a_foreign_csrf_token_is_refused(
    ctx: AppContext, login: Login
) -> None:
    operator, csrf = login("operator")
    _admin, admin_csrf = login("admin")
    assert csrf and admin_csrf and csrf != admin_csrf
    for token in ("", "0" * 64, admin_csrf):
        response = operator.post("/config", data={**FLIP, "csrf_token": token})
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert read_config(ctx.engine).version == 1
    denied = read_audit(ctx.engine, action="console.denied")
    assert [(a.actor, a.reason) for a in denied][:3] == [
        ("olivia", "missing or invalid CSRF token")
    ] * 3


def test_form_flip_changes_config_and_history_shows_who_and_why(
    ctx: AppContext, login: Login
) -> None:
    operator, csrf = login("operator")
    page = operator.post(
        "/config",
        data={
            "csrf_token": csrf,
            "expect_version": "1",
            "key:CVN_LOSS_FUNCTION": "focal",
            "key:CVN_FOCAL_GAMMA": "3",
            "reason": "two keys at once",
        },
    )
    assert page.status_code == 200
    assert 'id="version">version 2<' in page.text
    snapshot = read_config(ctx.engine)
    assert (
        snapshot.version,
        snapshot.env["CVN_LOSS_FUNCTION"],
        snapshot.env["CVN_FOCAL_GAMMA"],
    ) == (
        2,
        "focal",
        "3.0",
    )
    [entry] = config_history(ctx.engine)
    assert (entry.actor, entry.reason) == ("olivia", "two keys at once")
    assert set(entry.diff) == {"CVN_LOSS_FUNCTION", "CVN_FOCAL_GAMMA"}
    assert "two keys at once" in page.text and "olivia" in page.text


def test_stale_version_is_409_showing_both_values_and_changes_nothing(
    ctx: AppContext, login: Login, client: TestClient, tokens: dict[str, str]
) -> None:
    operator, csrf = login("operator")
    first = client.post(
        "/api/config",
        json={"changes": {"CVN_LOSS_FUNCTION": "focal"}, "reason": "first", "expect_version": 1},
        headers=bearer(tokens["admin"]),
    )
    assert first.status_code == 200 and first.json()["version_after"] == 2
    stale_api = client.post(
        "/api/config",
        json={"changes": {"CVN_CALIBRATION": "none"}, "reason": "late", "expect_version": 1},
        headers=bearer(tokens["operator"]),
    )
    assert stale_api.status_code == 409
    assert stale_api.json()["error"] == "ConflictError"
    assert "expected 1, current is 2" in stale_api.json()["detail"]
    page = operator.post(
        "/config",
        data={
            "csrf_token": csrf,
            "expect_version": "1",
            "key:CVN_LOSS_FUNCTION": "binary:logistic",
            "reason": "late",
        },
    )
    assert page.status_code == 409
    conflict = page.text[page.text.index('id="conflict"') :]
    row = conflict[
        conflict.index("CVN_LOSS_FUNCTION") : conflict.index(
            "</tr>", conflict.index("CVN_LOSS_FUNCTION")
        )
    ]
    assert "binary:logistic" in row and "focal" in row
    assert read_config(ctx.engine).version == 2
    assert [a.reason for a in read_audit(ctx.engine, action="config.set")] == ["first"]


def test_bad_value_is_422_naming_the_field_and_changes_nothing(
    ctx: AppContext, login: Login, client: TestClient, tokens: dict[str, str]
) -> None:
    cases = [
        ({"changes": {"CVN_LOSS_FUNCTION": "hinge"}, "reason": "x"}, "CVN_LOSS_FUNCTION"),
        ({"changes": {"CVN_FOCAL_ALPHA": "1.5"}, "reason": "x"}, "CVN_FOCAL_ALPHA"),
        ({"changes": {"CVN_NOPE": "1"}, "reason": "x"}, "CVN_NOPE"),
        ({"changes": {"CVN_FOCAL_GAMMA": "2"}, "reason": "x", "surprise": 1}, "surprise"),
        ({"changes": {"CVN_FOCAL_GAMMA": "2"}}, "reason"),
        ({"changes": {"CVN_FOCAL_GAMMA": "2"}, "reason": "   "}, "reason"),
    ]
    for body, field in cases:
        response = client.post("/api/config", json=body, headers=bearer(tokens["operator"]))
        assert response.status_code == 422, body
        assert field in response.json()["detail"], (field, response.json())
    operator, csrf = login("operator")
    page = operator.post(
        "/config",
        data={**FLIP, "key:CVN_FOCAL_GAMMA": "-1", "csrf_token": csrf},
    )
    assert page.status_code == 422
    assert "CVN_FOCAL_GAMMA" in page.text
    assert read_config(ctx.engine).version == 1
    assert read_audit(ctx.engine, action="config.set") == []


def test_rollback_needs_typed_confirmation(
    ctx: AppContext, login: Login, make_models: Callable[..., dict[str, str]]
) -> None:
    [name] = make_models().values()
    operator, csrf = login("operator")
    data = {"csrf_token": csrf, "symbol": "BTCUSDC", "reason": "runbook 3B"}
    assert operator.post("/models/rollback", data={**data, "confirm": "ETHUSDC"}).status_code == 422
    assert ctx.registry.aliases(name)["champion"] == 3
    done = operator.post("/models/rollback", data={**data, "confirm": "BTCUSDC"})
    assert done.status_code == 200
    assert ctx.registry.aliases(name)["champion"] == 2
    assert "3 → 2" in done.text
    changes = done.text[done.text.index('id="changes"') :]
    assert "olivia" in changes and "runbook 3B" in changes and "models.set_alias" in changes


def test_login_is_rate_limited_and_failures_are_audited(
    ctx: AppContext, tokens: dict[str, str]
) -> None:
    limiter = LoginLimiter(max_failures=3, window_s=3600)
    with TestClient(create_app(ctx, secret="s", limiter=limiter)) as browser:
        for _ in range(3):
            wrong = browser.post("/login", data={"username": "olivia", "password": "wrong-pass-1"})
            assert wrong.status_code == 401
        blocked = browser.post("/login", data={"username": "olivia", "password": PASSWORD})
        assert blocked.status_code == 429
        assert "cvn_session" not in browser.cookies
    failed = read_audit(ctx.engine, action="console.login_failed")
    assert [a.actor for a in failed] == ["olivia"] * 3
    assert read_audit(ctx.engine, action="console.denied")[0].after["status"] == 429


def test_session_cookie_is_httponly_and_samesite(ctx: AppContext, tokens: dict[str, str]) -> None:
    with TestClient(create_app(ctx, secret="s")) as browser:
        response = browser.post(
            "/login",
            data={"username": "victor", "password": PASSWORD, "next": "//evil.example/"},
            follow_redirects=False,
        )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert response.headers["location"] == "/config"


def test_console_writes_the_same_audit_rows_as_the_cli(
    ctx: AppContext,
    client: TestClient,
    tokens: dict[str, str],
    make_models: Callable[..., dict[str, str]],
    cli_env: dict[str, str],
    tracking_uri: str,
) -> None:
    [name] = make_models(losses=("binary", "focal", "binary", "focal")).values()
    env = {**cli_env, "MLFLOW_TRACKING_URI": tracking_uri, "CVN_ACTOR": "cli-user"}
    operator = bearer(tokens["operator"])
    assert (
        client.post(
            "/api/config",
            json={"changes": {"CVN_LOSS_FUNCTION": "focal"}, "reason": "r"},
            headers=operator,
        ).status_code
        == 200
    )
    done = _cli(env, "config", "set", "CVN_LOSS_FUNCTION=binary:logistic", "--reason", "r")
    assert done.returncode == 0, done.stderr
    moved = client.post("/api/models/BTCUSDC/rollback", json={"reason": "r"}, headers=operator)
    assert moved.json() == {
        "model_name": name,
        "alias": "champion",
        "old_version": 4,
        "new_version": 3,
        "changed": True,
        "command": f"cvntrade models set-alias --name {name} --alias champion --version 3",
    }
    done = _cli(
        env,
        "models",
        "set-alias",
        "--name",
        name,
        "--alias",
        "champion",
        "--version",
        "1",
        "--reason",
        "r",
    )
    assert done.returncode == 0, done.stderr
    for action in ("config.set", "models.set_alias"):
        cli_row, console_row = read_audit(ctx.engine, action=action)
        assert (cli_row.actor, console_row.actor) == ("cli-user", "olivia")
        assert cli_row.target == console_row.target
        assert set(cli_row.before) == set(console_row.before)
        assert set(cli_row.after) == set(console_row.after)


def test_switch_needs_its_name_typed_and_is_audited_with_the_user(
    ctx: AppContext, client: TestClient, tokens: dict[str, str]
) -> None:
    from cvntrade.trading.flags import read_flags

    operator = bearer(tokens["operator"])
    body = {"active": True, "reason": "ADR-71 drill", "confirm": "kill_switch"}
    wrong = client.post("/api/controls/halt", json=body, headers=operator)
    assert wrong.status_code == 422 and "confirm" in wrong.json()["detail"]
    unknown = client.post(
        "/api/controls/panic", json={**body, "confirm": "panic"}, headers=operator
    )
    assert unknown.status_code == 422 and "panic" in unknown.json()["detail"]
    assert read_flags(ctx.engine).halt is False
    done = client.post("/api/controls/halt", json={**body, "confirm": "halt"}, headers=operator)
    assert done.json() == {"name": "halt", "before": False, "after": True, "changed": True}
    [row] = read_audit(ctx.engine, action="trading.halt")
    assert (row.actor, row.reason, row.after) == ("olivia", "ADR-71 drill", {"active": True})


def test_cross_site_login_is_refused_and_pages_cannot_be_framed(
    ctx: AppContext, tokens: dict[str, str]
) -> None:
    with TestClient(create_app(ctx, secret="s")) as browser:
        form = {"username": "olivia", "password": PASSWORD}
        forged = browser.post("/login", data=form, headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403 and "cvn_session" not in browser.cookies
        page = browser.post("/login", data=form, headers={"Origin": "http://testserver"})
        assert page.status_code == 200 and "cvn_session" in browser.cookies
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert read_audit(ctx.engine, action="console.denied")[0].reason.startswith("login posted")

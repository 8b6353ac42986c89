"""The console in a real headless Chromium (Debian `chromium`, driven by Playwright).

An operator does the runbook's primary rollback through the real `/config` form and sees the new
version in the history, then rolls one champion back from `/models`; a viewer sees no write
controls and forged posts (cross-site, or with a viewer's own session) are refused.
Set `CVN_UPDATE_SCREENSHOTS=1` to refresh `docs/img/console-config.png`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_server import PASSWORD, USERS, RunningConsole, running_console

from cvntrade.config import read_config, set_config

CHROMIUM = Path(os.environ.get("CVN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "img" / "console-config.png"

pytestmark = pytest.mark.slow


@pytest.fixture
def console(sqlite_url: str, mlflow_template: Path, tmp_path: Path) -> Iterator[RunningConsole]:
    """A running console whose config is in the incident state (focal active, version 2)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} missing: `make infra-tools` (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with running_console(sqlite_url, mlflow_template, tmp_path) as running:
        set_config(
            running.ctx.engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal rollout", actor="ml"
        )
        yield running


@pytest.fixture
def browser_for(tmp_path: Path) -> Iterator[object]:
    """`browser_for(role_dir)`: a fresh Chromium profile (own user data dir) per user."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        contexts = []

        def launch(name: str) -> object:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / f"profile-{name}"),
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1280, "height": 900},
            )
            contexts.append(context)
            return context

        yield launch
        for context in contexts:
            context.close()


def _login(context: object, url: str, role: str) -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{url}/config")
    assert "/login" in page.url  # not logged in: sent to the login form
    page.fill("#username", USERS[role])
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{url}/config")
    return page


def test_operator_flips_config_and_rolls_back_a_champion(
    console: RunningConsole, browser_for: object, tmp_path: Path
) -> None:
    page = _login(browser_for("operator"), console.url, "operator")  # type: ignore[operator]
    assert page.inner_text("#version") == "version 2"
    page.select_option("#key-CVN_LOSS_FUNCTION", "binary:logistic")
    page.fill("#reason", "runbook step 3: primary rollback")
    page.click("#save")
    page.wait_for_selector("#done")
    assert "Saved version 3" in page.inner_text("#done")
    assert page.inner_text("#version") == "version 3"
    newest = page.locator("#history tr").nth(1).inner_text()
    assert "olivia" in newest and "focal → binary:logistic" in newest
    assert read_config(console.ctx.engine).loss_function == "binary:logistic"
    shot = tmp_path / "console-config.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CVN_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

    page.goto(f"{console.url}/models")
    section = page.locator("#model-BTCUSDC")
    section.locator("input[name=reason]").fill("runbook step 3B")
    section.locator("input[name=confirm]").fill("BTCUSDC")
    section.locator("button[type=submit]").click()
    page.wait_for_selector("#done")
    assert "3 → 2" in page.inner_text("#done")
    assert console.ctx.registry.aliases("CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4")["champion"] == 2
    assert console.ctx.registry.aliases("CVNTrade_XGBoost_ETHUSDC_SL0.5_TP1_H4")["champion"] == 3


def test_viewer_sees_no_write_controls_and_forged_posts_are_refused(
    console: RunningConsole, browser_for: object
) -> None:
    viewer = _login(browser_for("viewer"), console.url, "viewer")  # type: ignore[operator]
    assert viewer.locator("select, #save").count() == 0
    assert "changes need operator" in viewer.inner_text("#readonly")
    for path in ("/models", "/controls"):
        viewer.goto(f"{console.url}{path}")
        assert viewer.locator("main form").count() == 0
    csrf = viewer.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = viewer.request.post(
        f"{console.url}/config",
        form={
            "csrf_token": csrf,
            "expect_version": "2",
            "key:CVN_LOSS_FUNCTION": "binary:logistic",
            "reason": "viewer tries",
        },
    )
    assert forged.status == 403

    operator = _login(browser_for("operator"), console.url, "operator")  # type: ignore[operator]
    operator.set_content(
        f'<form id="f" method="post" action="{console.url}/config">'
        '<input name="expect_version" value="2">'
        '<input name="key:CVN_LOSS_FUNCTION" value="binary:logistic">'
        '<input name="reason" value="cross-site"></form>'
    )
    with operator.expect_navigation():
        operator.evaluate("document.getElementById('f').submit()")
    assert "Refused" in operator.content()
    snapshot = read_config(console.ctx.engine)
    assert (snapshot.version, snapshot.loss_function) == (2, "focal")

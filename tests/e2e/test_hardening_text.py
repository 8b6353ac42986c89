"""Issue 16.3: reasons, titles, actors, notes and statuses are printed literally, everywhere.

Rich markup (`[/bold]`, `[/]`, `[open]`) and emoji codes in user text used to crash or be
swallowed by the tables; control characters are refused with exit 2 and nothing changed.
"""

from __future__ import annotations

import pytest
from hardening_support import cli_in_process, cvntrade
from sqlalchemy import Engine

from cvntrade.audit import read_audit
from cvntrade.config import read_config
from cvntrade.runbook import list_incidents

REASON = "fix [/bold] rollout [red]x[/red] :rocket:"
TITLE = "BTC [/] down [bold]now"


@pytest.fixture
def wide_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI environment with a wide console, so table cells are not wrapped."""
    assert cvntrade(cli_env, "db", "upgrade").returncode == 0
    return {**cli_env, "COLUMNS": "250"}


def test_config_reason_with_markup_is_printed_literally(wide_env: dict[str, str]) -> None:
    done = cvntrade(
        wide_env, "config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", REASON, "--actor", "[b]ob"
    )
    assert done.returncode == 0, done.stderr
    history = cvntrade(wide_env, "config", "history")
    assert history.returncode == 0, history.stderr
    assert REASON in history.stdout
    assert "[b]ob" in history.stdout


def test_incident_title_with_markup_is_printed_literally_everywhere(
    wide_env: dict[str, str],
) -> None:
    opened = cvntrade(wide_env, "incident", "open", "--title", TITLE)
    assert opened.returncode == 0, opened.stderr
    assert TITLE in opened.stdout
    listed = cvntrade(wide_env, "incident", "list")
    assert listed.returncode == 0, listed.stderr
    assert TITLE in listed.stdout
    shown = cvntrade(wide_env, "incident", "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert f"incident #1 [open] P1 expectancy_negative_focal: {TITLE}" in shown.stdout
    noted = cvntrade(wide_env, "incident", "note", "1", "see [/] [link=x]here[/link]")
    assert noted.returncode == 0, noted.stderr
    assert "see [/] [link=x]here[/link]" in cvntrade(wide_env, "incident", "show", "1").stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "ok\x1b[31m red"], "reason"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "line\rover"], "reason"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "del\x7fchar"], "reason"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "two\nlines"], "reason"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "ok", "--actor", "a\x07"], "actor"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "hid\u202eden"], "reason"),
        (["incident", "open", "--title", "BTC\x1b]0;pwned\x07 down"], "title"),
        (["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "ok", "--actor", "x" * 121], "actor"),
    ],
)
def test_control_characters_in_user_text_are_refused_and_nothing_changes(
    engine: Engine,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    field: str,
) -> None:
    done = cli_in_process(cli_env, monkeypatch, capsys)(*args)
    assert done.code == 2, done.err
    assert done.err.startswith("error: ") and done.err.count("\n") == 1
    assert field in done.err
    assert read_config(engine).version == 1
    assert read_audit(engine) == []
    assert list_incidents(engine) == []

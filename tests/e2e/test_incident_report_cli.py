"""`cvntrade incident export / close / checklist` as an operator types them (in-process CLI)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cvntrade.cli import main
from cvntrade.db.tables import audit_log, incident_checklist, incidents
from cvntrade.settings import get_settings


@dataclass(frozen=True)
class Run:
    """Exit code and output of one in-process `cvntrade` invocation."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@pytest.fixture
def cli(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., Run]]:
    """`cvntrade ARGS` in this process, in `cli_env`'s environment."""
    monkeypatch.delenv("CVN_OPERATIONS_FILE", raising=False)
    for key, value in cli_env.items():
        if key.startswith("CVN_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        with pytest.raises(SystemExit) as exit_info:
            main.run()
        captured = capsys.readouterr()
        return Run(int(exit_info.value.code or 0), captured.out, captured.err)

    yield invoke
    get_settings.cache_clear()


def test_export_close_and_checklist_from_the_command_line(
    cli: Callable[..., Run], cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Path(cli_env["CVN_HOME"])
    assert cli("incident", "open", "--title", "focal negative").code == 0
    exported = cli("incident", "export", "1", "--now", "2026-11-24T12:00:00")
    assert exported.code == 0, exported.err
    assert f"incident #1: §17.1 appended in {home / 'OPERATIONS.md'}" in exported.out
    assert (home / "OPERATIONS_assets" / "incident-1" / "psi.png").is_file()

    elsewhere = home / "ops" / "LOG.md"
    elsewhere.parent.mkdir()
    elsewhere.write_text("## §17.1 — a\n## §17.2 — b\n## §17.3 — c\n", encoding="utf-8")
    monkeypatch.setenv("CVN_OPERATIONS_FILE", str(elsewhere))
    get_settings.cache_clear()
    closed = cli(
        "incident", "close", "1", "--status", "false_positive", "--reason", "noise", "--json"
    ).json()
    assert (closed["heading"], closed["replaced"], closed["path"]) == (
        "§17.4",
        False,
        str(elsewhere),
    )
    assert {c["item"]: c["state"] for c in closed["checklist"]} == {
        "logged": "done",
        "root_cause": "not_applicable",
        "gate_rechecked": "not_applicable",
        "story_reopened": "not_applicable",
        "committee_session": "not_applicable",
    }
    assert elsewhere.read_text(encoding="utf-8").startswith(
        "## §17.1 — a\n## §17.2 — b\n## §17.3 — c\n"
    )
    assert (elsewhere.parent / "OPERATIONS_assets" / "incident-1" / "expectancy.png").is_file()

    changed = cli("incident", "checklist", "1", "--done", "story_reopened", "--note", "by hand")
    assert changed.code == 0 and "by hand" in changed.out
    listed = cli("incident", "checklist", "1", "--json").json()
    assert [c["state"] for c in listed if c["item"] == "story_reopened"] == ["done"]
    shown = cli("incident", "show", "1")
    assert "Post-incident checklist" in shown.out
    assert "checklist story_reopened: not_applicable → done (by hand)" in shown.out
    assert "status open → false_positive (noise)" in shown.out


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (audit_log, incidents, incident_checklist)
        )


BAD_INPUT = [
    (["incident", "export", "999"], "incident #999 not found"),
    (["incident", "close", "999"], "incident #999 not found"),
    (["incident", "close", "1", "--status", "open"], "invalid --status 'open'"),
    (["incident", "close", "1", "--reason", "a\x1b[2Jb"], "--reason contains a control character"),
    (["incident", "export", "1", "--operations-file", "/nonexistent/dir/OPS.md"], "does not exist"),
    (["incident", "export", "1", "--operations-file", "a\x07.md"], "control character"),
    (["incident", "checklist", "999"], "incident #999 not found"),
    (["incident", "checklist", "1", "--done", "bogus", "--note", "n"], "unknown checklist item"),
    (["incident", "checklist", "1", "--done", "logged"], "a non-empty --note is required"),
    (["incident", "checklist", "1", "--na", "logged", "--note", "x\x00"], "control character"),
    (["incident", "checklist", "1", "--done", "logged", "--na", "root_cause"], "not both"),
    (["incident", "checklist", "1", "--note", "orphan"], "--note goes with"),
    (["runbook", "diagnose", "--incident", "999"], "incident #999 not found"),
]


def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    cli: Callable[..., Run], engine: Engine, cli_env: dict[str, str]
) -> None:
    assert cli("incident", "open", "--title", "t").code == 0
    home = Path(cli_env["CVN_HOME"])
    ops = home / "OPERATIONS.md"
    home.mkdir(exist_ok=True)
    ops.write_text("## §17.1 — kept\n", encoding="utf-8")
    before = _counts(engine)
    for args, message in BAD_INPUT:
        done = cli(*args)
        assert done.code == 2, (args, done.err)
        assert len(done.err.strip().splitlines()) == 1, (args, done.err)
        assert done.err.startswith("error: ") and message in done.err, (args, done.err)
        assert _counts(engine) == before, args
        assert ops.read_text(encoding="utf-8") == "## §17.1 — kept\n", args
        assert not (home / "OPERATIONS_assets").exists(), args

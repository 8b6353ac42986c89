"""Every `cvntrade` command and option explains itself (`--help`), checked in-process.

Walks the whole command tree, so a new command is covered without editing this file; in-process
(Typer's runner) because a subprocess per command costs ~1 s of interpreter start each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cvntrade.cli.main import app

ROOT = typer.main.get_command(app)


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the tree, groups included (Typer vendors click: duck-typed)."""
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from commands(sub, (*path, name))


def resolve(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


PATHS = list(commands(ROOT))


def test_the_tree_has_the_runbook_commands() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"db upgrade", "runbook rollback", "models set-alias", "doctor", "sweep"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "cvntrade")
def test_help_explains_the_command_and_every_option(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = resolve(path)
    assert (command.help or command.short_help or "").strip(), f"{path}: no help text"
    undocumented = [
        p.name
        for p in command.params
        if p.param_type_name == "option" and not p.hidden and not (p.help or "").strip()
    ]
    assert not undocumented, f"{' '.join(path)}: options without help: {undocumented}"

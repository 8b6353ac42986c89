"""The demo's pure parts: its plan and chapters, the marked home, the summary table's rows."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from cvntrade.demo.home import LEGACY_MARKERS, MARKER, is_demo_home, prepare_demo_home
from cvntrade.demo.narrative import CONSOLE_URL, summary_rows
from cvntrade.demo.plan import CAUSE, DEMO_NOW, chapters, demo_plan
from cvntrade.demo.story import ChapterResult, DemoResult
from cvntrade.errors import UserInputError
from cvntrade.monitoring.recovery import RECOVERY_WINDOW
from cvntrade.strategy import DEFAULT_SYMBOLS


def test_full_and_fast_plans_share_the_story_and_differ_in_size() -> None:
    full, fast = demo_plan(seed=3), demo_plan(seed=3, fast=True)
    assert full.world.cause == fast.world.cause == CAUSE
    assert full.symbols == DEFAULT_SYMBOLS and len(fast.symbols) == 3
    assert set(fast.symbols) < set(full.symbols)
    assert full.world.after_hours == fast.world.after_hours > 0
    for plan in (full, fast):
        assert plan.now == DEMO_NOW  # fixed: the same seed writes the same rows
        assert plan.now < plan.fired_at < plan.runbook_at
        # the first recovery check runs after the runbook's 4 h window has passed; the
        # checks are evenly spaced and end with the world's future
        checks = plan.rechecks
        assert len(checks) >= 2
        assert checks[0] >= plan.runbook_at + RECOVERY_WINDOW
        assert checks[-1] == plan.world.market_end
        assert len({b - a for a, b in itertools.pairwise(checks)}) == 1


def test_the_plan_is_deterministic_and_the_seed_is_checked() -> None:
    assert demo_plan(seed=5) == demo_plan(seed=5)
    assert demo_plan(seed=5).world.seed == 5
    for bad in (-1, 2**31):
        with pytest.raises(UserInputError, match="--seed"):
            demo_plan(seed=bad)


def test_eight_chapters_each_with_an_operator_command(tmp_path: Path) -> None:
    plan = demo_plan(seed=1, fast=True)
    story = chapters(plan, tmp_path)
    assert [c.number for c in story] == list(range(1, 9))
    for chapter in story:
        assert chapter.commands, chapter.title
        for command in chapter.commands:
            assert command.startswith(("cvntrade ", f"CVN_HOME={tmp_path} cvntrade ")), command
    text = " ".join(c for ch in story for c in ch.commands)
    assert "runbook run --yes --now 2026-11-30T12:20" in text
    assert f"--seed {plan.seed}" in text


def test_a_new_or_empty_directory_becomes_a_marked_demo_home(tmp_path: Path) -> None:
    home = tmp_path / "new" / "demo"
    assert prepare_demo_home(home) is False
    assert is_demo_home(home)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_demo_home(empty) is False
    assert (empty / MARKER).is_file()


def test_a_previous_demo_home_is_emptied_and_marked_again(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    prepare_demo_home(home)
    (home / "cvntrade.db").write_text("old")
    (home / "data" / "x").mkdir(parents=True)
    assert prepare_demo_home(home) is True
    assert sorted(p.name for p in home.iterdir()) == [MARKER]


def test_a_home_of_the_old_demo_script_is_a_demo_home(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    (home / LEGACY_MARKERS[0]).write_text("")
    (home / "cvntrade.db").write_text("old")
    assert prepare_demo_home(home) is True
    assert sorted(p.name for p in home.iterdir()) == [MARKER]


def test_a_foreign_directory_or_a_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    (home / "precious.txt").write_text("keep")
    with pytest.raises(UserInputError, match="not a demo home"):
        prepare_demo_home(home)
    assert (home / "precious.txt").read_text() == "keep"
    assert not (home / MARKER).exists()
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(UserInputError, match="not a directory"):
        prepare_demo_home(afile)
    assert afile.read_text() == "x"


def test_summary_rows_say_what_happened_how_long_and_where_to_look(tmp_path: Path) -> None:
    ops = tmp_path / "OPERATIONS.md"
    chart = tmp_path / "OPERATIONS_assets" / "incident-4" / "expectancy.png"
    steps = tuple(
        ChapterResult(n, f"chapter {n}", f"outcome {n}", float(n), headline="h1" if n == 1 else "")
        for n in range(1, 8)
    )
    result = DemoResult(
        home=tmp_path,
        seed=1,
        fast=True,
        incident_id=4,
        section="§17.2",
        operations_file=ops,
        charts=(chart,),
        recovery="recovered",
        chapters=steps[::-1],  # any order: the table is in chapter order
    )
    rows = summary_rows(result)
    assert [r[0] for r in rows] == [f"{n}. chapter {n}" for n in range(1, 8)] + ["8. In all"]
    assert [r[2] for r in rows[:7]] == [f"{n:.1f}" for n in range(1, 8)]
    # the short headline when there is one, else the outcome line
    assert [r[1] for r in rows[:3]] == ["h1", "outcome 2", "outcome 3"]
    assert rows[-1][2] == f"{sum(range(1, 8)):.1f}"
    assert rows[-1][1] == "incident #4: recovered"
    assert CONSOLE_URL in rows[-1][3] and f"CVN_HOME={tmp_path}" in rows[-1][3]
    assert "§17.2" in rows[6][3] and str(ops) in rows[6][3]
    assert "OPERATIONS_assets/incident-4" in rows[6][3]
    assert "incident show 4" in rows[4][3]

"""The demo's story: eight chapters run through public APIs, each timed, on the demo's world.

1-3 `build_world` (market; training and promotion; paper trading through the event: one call,
its progress callback tells the chapters apart), 2 also runs the sweep gate on the training
window; 4 the built-in evaluator (`cvntrade.monitoring.evaluator.Evaluator`, the one
`monitor serve` and `up` run) evaluates the rule at the world's `now` (pending) and 15 min
later (firing: it opens the incident itself); 5 `run_runbook(yes=True)`; 6 `continue_world`
(the engine trades the hours after the rollback), then `escalate` (the recovery rule); 7
`close_incident` (OPERATIONS.md §17.N with charts). The demo never writes to a database itself:
every row comes from the code paths an operator's commands run (`cvntrade.demo.story_steps`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cvntrade.demo.plan import Chapter, DemoPlan, chapters
from cvntrade.errors import CvnError, ExitCode


class Narrator(Protocol):
    """Where the story is told (Rich on a terminal; a list in tests)."""

    def chapter(self, chapter: Chapter) -> None:
        """A chapter begins: its title and the equivalent commands."""

    def working(self, what: str) -> AbstractContextManager[Callable[[str], None]]:
        """Long work under way: a progress indicator; yields a callback updating its text."""

    def outcome(self, text: str) -> None:
        """One line of what happened."""


@dataclass(frozen=True, slots=True)
class ChapterResult:
    """A finished chapter: what happened (one line), how long it took, what it produced."""

    number: int
    title: str
    outcome: str
    duration_s: float
    data: dict[str, Any] = field(default_factory=dict)
    headline: str = ""
    """A short form of `outcome` for the summary table (the outcome when empty)."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The whole story: the chapters and where its outcomes are."""

    home: Path
    seed: int
    fast: bool
    incident_id: int
    section: str
    operations_file: Path
    charts: tuple[Path, ...]
    recovery: str
    chapters: tuple[ChapterResult, ...]


class DemoStoryError(CvnError):
    """The world did not produce the story (e.g. the alert did not fire on this seed): exit 1."""

    exit_code = ExitCode.NEGATIVE


Body = Callable[[], tuple[str, dict[str, Any]]]


def run_story(plan: DemoPlan, home: Path, narrator: Narrator) -> DemoResult:
    """Run the eight chapters on `home` (an empty demo home); see the module docstring."""
    from cvntrade.demo import story_steps as steps

    done: list[ChapterResult] = []
    titles = {c.number: c for c in chapters(plan, home)}

    def run(number: int, body: Body) -> dict[str, Any]:
        narrator.chapter(titles[number])
        began = time.perf_counter()
        text, data = body()
        narrator.outcome(text)
        duration = time.perf_counter() - began
        headline = str(data.pop("headline", ""))
        done.append(ChapterResult(number, titles[number].title, text, duration, data, headline))
        return data

    narrator.chapter(titles[1])
    world = steps.build(plan, home, narrator, titles)
    for number in (1, 2, 3):
        text = world.texts[number]
        data = {"gate": world.gate} if number == 2 else {}
        duration, headline = world.durations[number], world.headlines[number]
        done.append(ChapterResult(number, titles[number].title, text, duration, data, headline))
    ctx = steps.context(home)
    try:
        alert = run(4, lambda: steps.evaluate_alert(ctx, plan))
        incident = int(alert["incident_id"])
        run(5, lambda: steps.runbook(ctx, plan, incident, narrator))
        recovered = run(6, lambda: steps.recovery(ctx, plan, home, incident, narrator))
        verdict = str(recovered["verdict"])
        report = run(7, lambda: steps.write_up(ctx, incident, verdict, recovered["at"]))
    finally:
        ctx.engine.dispose()
    narrator.chapter(titles[8])  # the caller prints the summary under it
    return DemoResult(
        home=home,
        seed=plan.seed,
        fast=plan.fast,
        incident_id=incident,
        section=str(report["section"]),
        operations_file=Path(report["path"]),
        charts=tuple(Path(p) for p in report["charts"]),
        recovery=verdict,
        chapters=tuple(done),
    )

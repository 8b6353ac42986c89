"""The bodies of the demo's chapters, each a call of the public API an operator's command runs.

Chapters 1-3 are one `build_world` call (`build`); chapters 4-7 each return `(outcome line,
data)`, `data["headline"]` being the short form the summary table shows.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvntrade.clock import fixed_clock
from cvntrade.demo.plan import ACTOR, ALERT_FOR, Chapter, DemoPlan

if TYPE_CHECKING:
    from cvntrade.app import AppContext
    from cvntrade.demo.story import Narrator
    from cvntrade.drill.scenario import ScenarioResult

Outcome = tuple[str, dict[str, Any]]


def context(home: Path, at: dt.datetime | None = None) -> AppContext:
    """The application context on the demo home's stores (the world's own settings)."""
    from cvntrade.app import AppContext
    from cvntrade.db import create_db_engine
    from cvntrade.drill.scenario import world_settings

    settings = world_settings(home)
    engine = create_db_engine(settings.effective_database_url)
    ctx = AppContext(settings=settings, engine=engine, actor=ACTOR)
    return ctx if at is None else replace(ctx, clock=fixed_clock(at))


@dataclass(slots=True)
class World:
    """Chapters 1-3: the built world, each chapter's outcome and measured time."""

    result: ScenarioResult | None = None
    texts: dict[int, str] = field(default_factory=dict)
    headlines: dict[int, str] = field(default_factory=dict)
    durations: dict[int, float] = field(default_factory=dict)
    gate: dict[str, Any] = field(default_factory=dict)


def _chapter_of(message: str) -> int:
    if message == "market":
        return 1
    return 2 if message.startswith("training") else 3


def build(plan: DemoPlan, home: Path, narrator: Narrator, titles: dict[int, Chapter]) -> World:
    """Chapters 1-3: `build_world` (market, training + gate + promotion, paper trading)."""
    from cvntrade.demo.gate_step import sweep_gate
    from cvntrade.drill.scenario import build_world

    world = World()
    current = [1, time.perf_counter()]

    def finish(chapter: int) -> None:
        world.durations[chapter] = time.perf_counter() - float(current[1])
        world.texts[chapter] = _text(plan, world, chapter)
        world.headlines[chapter] = _headline(plan, world, chapter)
        narrator.outcome(world.texts[chapter])

    with narrator.working("generating the market") as update:

        def progress(message: str) -> None:
            chapter = _chapter_of(message)
            while chapter > int(current[0]):
                finish(int(current[0]))
                current[0], current[1] = int(current[0]) + 1, time.perf_counter()
                narrator.chapter(titles[int(current[0])])
            update(message)

        def gate() -> None:
            update("sweep gate on the training window")
            world.gate = sweep_gate(home, plan)  # `cvntrade sweep` + `cvntrade gate check`

        world.result = build_world(plan.world, home, progress=progress, after_training=gate)
    finish(3)
    return world


def _headline(plan: DemoPlan, world: World, chapter: int) -> str:
    """The short line of chapters 1-3 in the summary table."""
    w = plan.world
    if chapter == 1:
        days = (w.now - w.start).days
        return f"{len(plan.symbols)} symbols x {days} days of 1h bars, no market event"
    if chapter == 2:
        gate = world.gate
        return (
            f"binary v1 + focal v2 each; gate passed {len(gate.get('passed', ()))}/"
            f"{gate.get('judged', '?')}; focal v2 champion; v3 (sign error) at the event"
        )
    result = world.result
    assert result is not None
    negative = len(result.negative_symbols)
    return f"{result.trades} trades; 48 h focal negative on {negative} of {len(plan.symbols)}"


def _text(plan: DemoPlan, world: World, chapter: int) -> str:
    w = plan.world
    if chapter == 1:
        hours = int((w.now - w.start).total_seconds() // 3600)
        return (
            f"{len(plan.symbols)} symbols x {hours} hourly bars ({w.start:%Y-%m-%d} → "
            f"{w.now:%Y-%m-%d %H:%M}), trend regime with daily swings; the market itself will "
            f"not change: the event at {w.event_at:%Y-%m-%d %H:%M} UTC is a model release"
        )
    if chapter == 2:
        gate = world.gate
        return (
            f"binary v1 + focal v2 (gamma 2, alpha 0.25) per symbol; sweep: "
            f"{gate.get('summary', 'n/a')}; focal v2 made champion all the same (the world's "
            "premise, audited as such, not a gate pass); at the event, focal v3 (a new release "
            "whose objective has a sign error) promoted"
        )
    result = world.result
    assert result is not None
    return (
        f"{result.trades} trades, {result.predictions} predictions over "
        f"{w.trading_start:%Y-%m-%d} → {w.now:%Y-%m-%d %H:%M}; 48 h focal expectancy negative "
        f"on {', '.join(result.negative_symbols) or 'no symbol'}"
    )


def evaluate_alert(ctx: AppContext, plan: DemoPlan) -> Outcome:
    """Chapter 4: the built-in evaluator at `now` (pending) and `now + for` (firing)."""
    from cvntrade.monitoring.alerts import evaluate_engine
    from cvntrade.monitoring.evaluator import Evaluator

    at = [plan.now]
    evaluator = Evaluator(ctx.engine, [], for_=ALERT_FOR, clock=lambda: at[0])
    events = []
    for when in (plan.now, plan.fired_at):
        at[0] = when
        events += evaluator.evaluate(evaluate_engine(ctx.engine, now=when))
    firing = [e for e in events if e.state == "firing"]
    if not firing or firing[0].incident_id is None:
        from cvntrade.demo.story import DemoStoryError

        raise DemoStoryError(
            f"the alert did not fire on seed {plan.seed} "
            f"({', '.join(e.state for e in events) or 'no transition'}): try another --seed"
        )
    event = firing[0]
    states = " → ".join(f"{e.state} at {e.at:%H:%M}" for e in events)
    negative = event.labels.get("negative_symbols", "")
    return (
        f"expectancy_negative_focal: {states} (for: 15m); negative over 48 h: {negative}; "
        f"the evaluator opened incident #{event.incident_id}",
        {
            "incident_id": event.incident_id,
            "event_id": event.id,
            "headline": f"pending {plan.now:%H:%M} → firing {plan.fired_at:%H:%M}; "
            f"incident #{event.incident_id} opened",
        },
    )


def runbook(ctx: AppContext, plan: DemoPlan, incident: int, narrator: Narrator) -> Outcome:
    """Chapter 5: `runbook run --yes` (confirm, check config, rollback, diagnose, remediate,
    escalate, report)."""
    from cvntrade.runbook.guided import run_runbook

    with narrator.working("runbook run --yes") as update:
        done = run_runbook(
            ctx,
            yes=True,
            incident_id=incident,
            now=plan.runbook_at,
            symbols=plan.symbols,
            say=update,
        )
    for step in done.steps:
        narrator.outcome(f"[{step.name}] {step.outcome} ({step.duration_s:.1f} s)")
    steps = {s.name: s for s in done.steps}
    if done.stopped or "rollback" not in steps:
        from cvntrade.demo.story import DemoStoryError

        raise DemoStoryError(f"the runbook stopped early ({done.stopped}) on seed {plan.seed}")
    rollback = steps["rollback"].data
    ranking = steps.get("diagnose")
    first = ranking.data.get("ranking", ["?"])[0] if ranking else "?"
    return (
        f"path {done.path}; rollback {rollback.get('total_s', 0.0):.2f} s "
        f"({'within' if rollback.get('within_sla') else 'OUTSIDE'} the 60 s SLA); "
        f"diagnosis ranks {first} first",
        {
            "steps": {s.name: s.duration_s for s in done.steps},
            "path": done.path,
            "headline": f"real → active → rollback {rollback.get('total_s', 0.0):.2f} s (SLA "
            f"60 s) → {first} → path {done.path}",
        },
    )


def recovery(
    ctx: AppContext, plan: DemoPlan, home: Path, incident: int, narrator: Narrator
) -> Outcome:
    """Chapter 6: the engine trades on after the rollback; `runbook escalate` every
    `RECHECK_EVERY` until its verdict is definite (recovered or not) or the future ends."""
    from cvntrade.domain import RecoveryVerdict
    from cvntrade.drill.world_after import continue_world
    from cvntrade.runbook.escalation import escalate

    start, trades = plan.now, 0
    esc = None
    for at in plan.rechecks:
        with narrator.working(f"paper trading {start:%Y-%m-%d %H:%M} → {at:%H:%M}"):
            cont = continue_world(plan.world, home, start=start, end=at)
        trades += cont.trades
        served = ", ".join(f"{s} v{v[-1]}" for s, v in sorted(cont.versions.items()) if v)
        esc = escalate(replace(ctx, clock=fixed_clock(at)), incident_id=incident)
        narrator.outcome(
            f"{start:%m-%d %H:%M} → {at:%m-%d %H:%M}: {cont.trades} trades (served: {served}); "
            f"runbook escalate: {esc.recovery.verdict.value}"
        )
        start = at
        if esc.recovery.verdict is not RecoveryVerdict.NOT_YET_KNOWN:
            break
    assert esc is not None
    alert = _alert_after(ctx, start)
    return (
        f"runbook escalate at {start:%Y-%m-%d %H:%M}: {esc.recovery.explanation}; "
        f"built-in evaluator: expectancy_negative_focal {alert}",
        {
            "verdict": esc.recovery.verdict.value,
            "trades": trades,
            "at": start,
            "alert": alert,
            "headline": f"{esc.recovery.n_trades} trades since the rollback, mean "
            f"{esc.recovery.expectancy_pct or 0.0:+.2f} %: {esc.recovery.verdict.value}; "
            f"alert {alert}",
        },
    )


def _alert_after(ctx: AppContext, at: dt.datetime) -> str:
    """The evaluator once more at `at`: focal no longer active, so the alert resolves (the
    resolution is noted in the incident); returns the alert's state."""
    from cvntrade.monitoring.alerts import evaluate_engine
    from cvntrade.monitoring.evaluator import Evaluator

    evaluator = Evaluator(ctx.engine, [], for_=ALERT_FOR, clock=lambda: at)
    state = evaluate_engine(ctx.engine, now=at)
    events = evaluator.evaluate(state)
    if events:
        return events[-1].state
    return "still firing" if state.firing else "not firing"


def write_up(ctx: AppContext, incident: int, verdict: str, at: dt.datetime) -> Outcome:
    """Chapter 7: close the incident as resolved when expectancy recovered (else export it and
    leave it open for escalation), writing OPERATIONS.md §17.N with its charts."""
    from cvntrade.runbook.incident_export import close_incident, export_report

    ctx = replace(ctx, clock=fixed_clock(at))
    if verdict == "recovered":
        done = close_incident(
            ctx, incident, reason="expectancy recovered after the rollback (runbook escalate)"
        )
    else:
        done = export_report(ctx, incident)
    states = ", ".join(f"{c.item} {c.state}" for c in done.checklist)
    return (
        f"{done.heading} in {done.path} with {len(done.charts)} charts; checklist: {states}",
        {
            "section": done.heading,
            "path": str(done.path),
            "charts": [str(c) for c in done.charts],
            "headline": f"{done.heading} + {len(done.charts)} charts; checklist definite; "
            f"incident {'resolved' if verdict == 'recovered' else 'open'}",
        },
    )

"""`cvntrade runbook run`: the guided flow of `expectancy_negative_focal`, from alert to report.

confirm → (stop on `transient` or `stale`, as the runbook says) → check-config (stop on
`stale`) → rollback (auto symbols; timing against the 60 s SLA and propagation) → diagnose
(stored as the incident note `diagnosis`) → remediate with the recommended path → escalation
status (recovered / not yet known: the exact `runbook escalate` command and when) → the
incident report. Each step is the same function its own command calls, so everything is audited
and attached to the incident (opened here when step 1 says `real` and none is open).

Interactive by default: the rollback and the path are asked (`ask`, `choose`; Rich prompts on a
TTY, plain stdin otherwise); `yes=True` takes the recommended answers. Returns a typed result,
one `RunbookStep` per step with its duration and outcome.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cvntrade.clock import fixed_clock
from cvntrade.domain import RecoveryVerdict
from cvntrade.errors import ExitCode, NotFoundError
from cvntrade.runbook.attach import CONFIRM_NOTE, DIAGNOSIS_NOTE, attach_note

if TYPE_CHECKING:
    from cvntrade.app import AppContext
    from cvntrade.runbook.diagnose import Diagnosis
    from cvntrade.runbook.remediation_rules import RemediationResult

Say = Callable[[str], None]
Ask = Callable[[str, bool], bool]
"""`ask(question, default)` → yes/no."""
Choose = Callable[[str, Sequence[str], str], str]
"""`choose(question, choices, default)` → one of `choices`."""


@dataclass(frozen=True, slots=True)
class RunbookStep:
    """One step of a guided run: its name, outcome (one line) and duration in seconds."""

    name: str
    outcome: str
    duration_s: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunbookRunResult:
    """A guided run: its steps in order, where it stopped (if early) and the exit code."""

    incident_id: int | None
    steps: tuple[RunbookStep, ...]
    stopped: str | None
    """`transient`, `stale`, `declined` or None (ran to the report)."""
    path: str | None
    exit_code: int


def rich_ask(question: str, default: bool) -> bool:
    """A Rich yes/no prompt (reads stdin; works on a TTY and under a test runner)."""
    from rich.prompt import Confirm

    from cvntrade.cli.common import console

    return bool(Confirm.ask(question, default=default, console=console))


def rich_choose(question: str, choices: Sequence[str], default: str) -> str:
    """A Rich choice prompt."""
    from rich.prompt import Prompt

    from cvntrade.cli.common import console

    return str(Prompt.ask(question, choices=list(choices), default=default, console=console))


class _Steps:
    """Collects timed steps."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.done: list[RunbookStep] = []
        self.began = time.monotonic()

    def add(self, name: str, outcome: str, **data: Any) -> None:
        now = time.monotonic()
        self.done.append(RunbookStep(name, outcome, now - self.began, dict(data)))
        self.say(f"[{name}] {outcome}")
        self.began = now


def run_runbook(
    ctx: AppContext,
    *,
    yes: bool,
    incident_id: int | None,
    now: dt.datetime | None,
    symbols: Sequence[str] | None = None,
    reason: str | None = None,
    say: Say = print,
    ask: Ask | None = None,
    choose: Choose | None = None,
) -> RunbookRunResult:
    """Run the runbook from step 1 to the report; see the module docstring."""
    from cvntrade.runbook.escalation import escalate
    from cvntrade.runbook.incidents import get_incident

    if now is not None:
        ctx = replace(ctx, clock=fixed_clock(now))
    if incident_id is not None:
        get_incident(ctx.engine, incident_id)  # exit 2 before anything is done
    ask_ = (lambda _q, default: default) if yes else (ask or rich_ask)
    choose_ = (lambda _q, _c, default: default) if yes else (choose or rich_choose)
    steps = _Steps(say)

    def result(
        incident: int | None, stopped: str | None, path: str | None, code: int
    ) -> RunbookRunResult:
        return RunbookRunResult(incident, tuple(steps.done), stopped, path, code)

    incident, stopped = _confirm(ctx, incident_id, steps)
    if stopped:
        return result(incident, stopped, None, ExitCode.OK)
    stopped = _check_config(ctx, incident, symbols, steps)
    if stopped:
        return result(incident, stopped, None, ExitCode.OK)
    why = (reason or "").strip() or "expectancy_negative_focal: guided runbook (runbook run)"
    if not ask_("Roll back the focal champions to binary now (step 3)?", True):
        steps.add("rollback", "declined by the operator: stopped")
        return result(incident, "declined", None, ExitCode.ABORTED)
    rolled = _rollback(ctx, incident, symbols, why, steps)
    diagnosis = _diagnose(ctx, incident, rolled, steps)
    recommended = diagnosis.path if diagnosis is not None else "A"
    path = choose_(f"Remediation path (recommended {recommended})", ("A", "B", "C"), recommended)
    remedied = _remediate(ctx, incident, path, rolled, why, steps)
    esc = escalate(ctx, incident_id=incident)
    hint = "; ".join(esc.proposals)
    steps.add(
        "escalate",
        esc.recovery.explanation + (f" — {hint}" if hint else ""),
        verdict=esc.recovery.verdict.value,
    )
    abandoned = ask_(
        "Abandon focal for now (reopen story CVN-N001-EE-S02 as abandoned, open a committee "
        "pr_review session)?",
        focal_abandoned(remedied),
    )
    _report(
        ctx,
        incident,
        steps,
        focal_abandoned=abandoned,
        recovered=esc.recovery.verdict is RecoveryVerdict.RECOVERED,
    )
    return result(incident, None, path, esc.exit_code)


def _confirm(
    ctx: AppContext, incident_id: int | None, steps: _Steps
) -> tuple[int | None, str | None]:
    from cvntrade.runbook.incidents import open_incident
    from cvntrade.runbook.steps import ALERT, confirm

    found = confirm(ctx.engine, actor=ctx.actor, incident_id=incident_id, clock=ctx.clock)
    negative = ", ".join(found.negative_symbols) or "none"
    if found.verdict == "transient":
        steps.add(
            "confirm",
            f"transient ({negative} negative): a false positive, recorded — "
            f"{found.attachment}; stop here (runbook step 1)",
        )
        return found.incident_id, "transient"
    if found.verdict == "stale":
        steps.add(
            "confirm",
            f"stale: {negative} negative but focal is not active; acknowledge the alert, no "
            "action (runbook step 1)",
        )
        return found.incident_id, "stale"
    incident = found.incident_id
    if incident is None:
        incident = open_incident(
            ctx.engine,
            alert=ALERT,
            title=f"{negative} negative over 48 h (focal)",
            actor=ctx.actor,
            clock=ctx.clock,
        ).id
        attach_note(
            ctx.engine,
            incident,
            f"step 1 confirmed the alert: real, {negative} negative over 48 h",
            kind=CONFIRM_NOTE,
            actor=ctx.actor,
            at=ctx.clock(),
            data={"verdict": found.verdict, "negative_symbols": list(found.negative_symbols)},
        )
    steps.add("confirm", f"real: {negative} negative over 48 h; incident #{incident}")
    return incident, None


def _check_config(
    ctx: AppContext, incident: int | None, symbols: Sequence[str] | None, steps: _Steps
) -> str | None:
    from cvntrade.runbook.serving import serving_by_symbol
    from cvntrade.runbook.steps import check_config
    from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS

    serving = serving_by_symbol(
        ctx.engine,
        ctx.registry,
        symbols=list(symbols or DEFAULT_SYMBOLS),
        strategy=DEFAULT_STRATEGY,
        now=ctx.clock(),
    )
    found = check_config(
        ctx.engine, actor=ctx.actor, incident_id=incident, clock=ctx.clock, serving=serving
    )
    steps.add("check-config", f"{found.verdict}: {found.advice}")
    return "stale" if found.verdict == "stale" else None


def _rollback(
    ctx: AppContext, incident: int | None, symbols: Sequence[str] | None, reason: str, steps: _Steps
) -> tuple[str, ...]:
    from cvntrade.runbook.rollback import rollback

    done = rollback(
        ctx.engine,
        ctx.registry,
        reason=reason,
        actor=ctx.actor,
        symbols=symbols,
        incident_id=incident,
        clock=ctx.clock,
        progress=steps.say,
    )
    t = done.timing
    moved = [s.crypto_symbol for s in done.symbols if s.done]
    propagation = done.propagation
    switched = (
        "; ".join(f"{s.crypto_symbol} {s.status}" for s in propagation.symbols)
        if propagation is not None
        else "n/a"
    )
    steps.add(
        "rollback",
        f"moved {', '.join(moved) or 'nothing'} in {t.total_s:.2f} s "
        f"({'within' if t.within_sla else 'OUTSIDE'} the {t.sla_s:g} s SLA: alias part "
        f"{t.alias_part_s:.2f} s + propagation {t.propagation_part_s:.2f} s); propagation: "
        f"{switched}",
        total_s=t.total_s,
        within_sla=t.within_sla,
    )
    return tuple(s.crypto_symbol for s in done.symbols if s.action != "untagged")


def _diagnose(
    ctx: AppContext, incident: int | None, symbols: tuple[str, ...], steps: _Steps
) -> Diagnosis | None:
    from dataclasses import asdict

    from cvntrade.runbook.diagnose_gather import run_diagnosis

    try:
        found = run_diagnosis(ctx.engine, ctx.settings, now=ctx.clock(), symbols=symbols or None)
    except NotFoundError as exc:
        steps.add("diagnose", f"nothing to diagnose ({exc}): default path A")
        return None
    text = (
        f"likely: {', '.join(found.likely) or 'none'}; scope {found.scope}; "
        f"path {found.path}: {found.why}"
    )
    attach_note(
        ctx.engine,
        incident,
        f"diagnosis: {text}",
        kind=DIAGNOSIS_NOTE,
        actor=ctx.actor,
        at=ctx.clock(),
        data=asdict(found),
    )
    steps.add("diagnose", text, path=found.path, ranking=list(found.ranking))
    return found


def _remediate(
    ctx: AppContext,
    incident: int | None,
    path: str,
    symbols: tuple[str, ...],
    reason: str,
    steps: _Steps,
) -> RemediationResult:
    from cvntrade.runbook.remediate import remediate, summary_line

    done = remediate(
        ctx,
        path=path,
        reason=f"{reason} (path {path})",
        symbols=symbols,
        incident_id=incident,
        say=steps.say,
    )
    steps.add("remediate", summary_line(done), path=path, note_id=done.note_id)
    return done


def focal_abandoned(done: RemediationResult) -> bool:
    """The default answer to "abandon focal?": yes when even the milder focal of path C lost
    on every symbol it was tried on (all fell back to A); a plain rollback (A) or a promoted
    recalibration/milder focal keeps the variant (its gate is re-checked instead)."""
    tried = [s for s in done.outcomes if s.action not in ("already_binary", "skipped")]
    return done.path == "C" and bool(tried) and all(s.action == "fell_back_to_A" for s in tried)


def _report(
    ctx: AppContext,
    incident_id: int | None,
    steps: _Steps,
    *,
    focal_abandoned: bool,
    recovered: bool,
) -> None:
    """The last step: the post-incident checklist decided as far as the records allow, then
    the incident written to OPERATIONS.md §17.N (closed as resolved once expectancy recovered;
    otherwise exported and left open for `runbook escalate`)."""
    from cvntrade.runbook.checklist import auto_checklist
    from cvntrade.runbook.incident_export import close_incident, export_report

    if incident_id is None:
        steps.add("report", "no incident: nothing to write up")
        return
    auto_checklist(ctx, incident_id, focal_abandoned=focal_abandoned)
    if recovered:
        done = close_incident(
            ctx, incident_id, reason="expectancy recovered after the rollback (runbook run)"
        )
    else:
        done = export_report(ctx, incident_id)
    steps.add(
        "report",
        f"{done.heading} in {done.path}"
        + (" (incident resolved)" if recovered else " (incident stays open: escalate at +4 h)"),
        section=done.heading,
        path=str(done.path),
    )

"""The supervisor's state machine: one `PartStatus` per part, moved by pure transitions.

Nothing here touches a process, a clock or a terminal: the runner (`cvntrade.platform.runner`)
observes the children and feeds what happened (started, ready, exited with code C at time T,
stop requested) into these functions, which return the new status and the `PartEvent` to
report. Times are monotonic seconds.

Restart policy: a part that exits by itself is restarted after a backoff that doubles with
each consecutive crash (`backoff_s`, 2x, 4x … capped at `max_backoff_s`); a run that lasted
`stable_s` or more resets the count. After `max_restarts` consecutive crashes the part is
`failed` and left alone. Some exits are not crashes and are never restarted: exit 0 (the part
ended by itself, e.g. the halt stopped the engine), exit 5 (the ADR-71 halt refuses trading)
and exits 2 / 6 (bad input or inconsistent data: a restart would fail the same way).
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from cvntrade.errors import ExitCode


class PartState(StrEnum):
    """Where a part stands."""

    WAITING = "waiting"
    """Not started yet."""
    STARTING = "starting"
    """Spawned; not answering yet (port closed, no heartbeat)."""
    RUNNING = "running"
    """Answering: its port accepts connections, or the engine published a heartbeat."""
    RESTARTING = "restarting"
    """Crashed; will be started again at `restart_at` (backoff)."""
    FAILED = "failed"
    """Given up: crashed too often in a row, or cannot start (exit 2 / 6)."""
    EXITED = "exited"
    """Ended by itself with exit 0; not restarted."""
    HALTED = "halted"
    """Exit 5: trading is halted (ADR-71); not restarted until `up` is started again."""
    STOPPING = "stopping"
    """Asked to stop (SIGTERM sent); waiting for it to finish."""
    STOPPED = "stopped"
    """Stopped on request."""


ALIVE = frozenset({PartState.STARTING, PartState.RUNNING, PartState.STOPPING})
"""States in which the part has a live process."""
PENDING = frozenset({PartState.WAITING, PartState.RESTARTING})
"""States in which the part will be started when due."""
PERMANENT_EXITS = frozenset({ExitCode.BAD_INPUT, ExitCode.DATA})
"""Exit codes a restart cannot cure: the part is failed at once."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Bounded restarts with exponential backoff (see the module docstring)."""

    max_restarts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    stable_s: float = 60.0

    def delay(self, crashes: int) -> float:
        """Seconds to wait before restarting after the `crashes`-th consecutive crash."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(crashes - 1, 0)))


@dataclass(frozen=True, slots=True)
class PartStatus:
    """One part as the supervisor sees it; `restarts` counts restarts done so far."""

    name: str
    state: PartState = PartState.WAITING
    pid: int | None = None
    restarts: int = 0
    crashes: int = 0
    started_at: float | None = None
    restart_at: float = 0.0
    exit_code: int | None = None
    note: str = ""

    def uptime(self, now: float) -> float | None:
        """Seconds since the live process started, None when there is none."""
        if self.state not in ALIVE or self.started_at is None:
            return None
        return max(now - self.started_at, 0.0)


@dataclass(frozen=True, slots=True)
class PartEvent:
    """Something to report: `kind` (started, ready, crashed, failed, exited, halted, stopped)
    and a one-line message; `severity` is info, warning or error (crashes go to stderr)."""

    part: str
    kind: str
    message: str
    severity: str = "info"


@dataclass(frozen=True, slots=True)
class Transition:
    """The new status of a part and what to report about the change (if anything)."""

    status: PartStatus
    event: PartEvent | None = None


def describe_exit(code: int) -> str:
    """`exit 2`, or `killed by SIGKILL` for a negative Popen return code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def start_due(status: PartStatus, now: float) -> bool:
    """True when the part should be (re)started now."""
    return status.state in PENDING and status.restart_at <= now


def on_started(status: PartStatus, pid: int, now: float) -> Transition:
    """The part's process was spawned with `pid`."""
    again = status.state is PartState.RESTARTING
    new = replace(
        status,
        state=PartState.STARTING,
        pid=pid,
        started_at=now,
        restarts=status.restarts + (1 if again else 0),
        note="",
    )
    word = "restarted" if again else "started"
    return Transition(new, PartEvent(status.name, word, f"{word} (pid {pid})"))


def on_ready(status: PartStatus) -> Transition:
    """The part answers (port open, or heartbeat seen)."""
    if status.state is not PartState.STARTING:
        return Transition(status)
    return Transition(
        replace(status, state=PartState.RUNNING), PartEvent(status.name, "ready", "running")
    )


def on_exit(
    status: PartStatus, code: int, now: float, policy: RestartPolicy, reason: str = ""
) -> Transition:
    """The part's process ended with `code` (negative: killed by that signal).

    `reason` is the part's own last error line, quoted in the report.
    """
    how = describe_exit(code)
    why = f": {reason}" if reason else ""
    ended = replace(status, pid=None, exit_code=code, started_at=None)
    if status.state is PartState.STOPPING:
        stopped = replace(ended, state=PartState.STOPPED, note=how)
        return Transition(stopped, PartEvent(status.name, "stopped", f"stopped ({how})"))
    if code == ExitCode.OK:
        new = replace(ended, state=PartState.EXITED, note=f"ended by itself ({how})")
        return Transition(new, PartEvent(status.name, "exited", new.note + why, "warning"))
    if code == ExitCode.HALTED:
        new = replace(ended, state=PartState.HALTED, note="trading halted (ADR-71)")
        message = f"not restarted: trading is halted ({how}){why}"
        return Transition(new, PartEvent(status.name, "halted", message, "warning"))
    if code in PERMANENT_EXITS:
        new = replace(ended, state=PartState.FAILED, note=f"cannot start ({how})")
        message = f"failed, not restarted: a restart cannot fix it ({how}){why}"
        return Transition(new, PartEvent(status.name, "failed", message, "error"))
    uptime = 0.0 if status.started_at is None else now - status.started_at
    crashes = 1 if uptime >= policy.stable_s else status.crashes + 1
    if crashes > policy.max_restarts:
        new = replace(ended, state=PartState.FAILED, crashes=crashes, note=f"gave up ({how})")
        message = (
            f"failed: crashed {crashes} times in a row (last: {how} after {uptime:.1f} s); "
            f"gave up after {policy.max_restarts} restarts{why}"
        )
        return Transition(new, PartEvent(status.name, "failed", message, "error"))
    delay = policy.delay(crashes)
    new = replace(
        ended,
        state=PartState.RESTARTING,
        crashes=crashes,
        restart_at=now + delay,
        note=f"crashed ({how}); restart {crashes}/{policy.max_restarts}",
    )
    message = (
        f"crashed ({how} after {uptime:.1f} s); restarting in {delay:g} s "
        f"(restart {crashes}/{policy.max_restarts}){why}"
    )
    return Transition(new, PartEvent(status.name, "crashed", message, "error"))


def on_stop_requested(status: PartStatus) -> Transition:
    """Shutdown: a live part is asked to stop; a part waiting to (re)start will not start."""
    if status.state in ALIVE:
        return Transition(replace(status, state=PartState.STOPPING, note="stopping"))
    if status.state in PENDING:
        return Transition(replace(status, state=PartState.STOPPED, note="not started"))
    return Transition(status)


def settled(statuses: Iterable[PartStatus]) -> bool:
    """True when no part is alive or due to start: nothing left to supervise."""
    return all(s.state not in ALIVE and s.state not in PENDING for s in statuses)


def any_alive(statuses: Iterable[PartStatus]) -> bool:
    """True while at least one part has a live process."""
    return any(s.state in ALIVE for s in statuses)

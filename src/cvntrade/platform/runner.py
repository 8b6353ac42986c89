"""The supervision loop of `cvntrade up`: observe the children, feed the state machine, act.

Every `TICK_S` it reaps parts that ended (and kills what is left of their process group),
starts the parts that are due (first start, or a restart after its backoff), probes the ones
starting (a port that accepts connections; the engine's heartbeat in engine_status), reports
each event (terminal/log line, and an audit row for crashes and failures), redraws the status
and rewrites `CVN_HOME/run/up.json`. On a stop request it sends SIGTERM to every part's process
group, waits up to `stop_timeout_s` for them to finish (a second Ctrl-C or the timeout:
SIGKILL), and returns.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cvntrade.clock import utc_now
from cvntrade.platform import processes, supervisor
from cvntrade.platform.parts import PartSpec
from cvntrade.platform.supervisor import PartEvent, PartState, PartStatus, RestartPolicy
from cvntrade.stopping import StopFlag

TICK_S = 0.2
PROBE_EVERY_S = 1.0
AUDITED_EVENTS = {
    "crashed": "platform.part_crashed",
    "failed": "platform.part_failed",
    "halted": "platform.part_halted",
    "exited": "platform.part_exited",
}
"""Event kind → audit action: what the supervisor did not ask for is kept in the audit log."""

Probe = Callable[[PartSpec, dt.datetime], tuple[bool, str]]
"""(part, when it was spawned) → (ready, what it is doing now)."""
Audit = Callable[[str, str, str, dict[str, Any]], None]
"""(action, target, reason, details) → an audit row."""


class Reporter(Protocol):
    """Where events and the status go (`cvntrade.platform.display`)."""

    def event(self, event: PartEvent, at: dt.datetime) -> None: ...

    def refresh(
        self,
        statuses: Sequence[PartStatus],
        specs: Mapping[str, PartSpec],
        now: float,
        details: Mapping[str, str],
    ) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Child:
    """The live side of a part: its process, log file and where this run's output begins."""

    spec: PartSpec
    log: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    spawned: dt.datetime = field(default_factory=utc_now)
    probed_at: float = 0.0


class Supervisor:
    """Runs `specs` as supervised children until a stop is requested or nothing is left."""

    def __init__(
        self,
        specs: Sequence[PartSpec],
        *,
        run_dir: Path,
        logs_dir: Path,
        environ: Mapping[str, str],
        probe: Probe,
        audit: Audit,
        reporter: Reporter,
        policy: RestartPolicy = RestartPolicy(),
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.specs = {s.name: s for s in specs}
        self.children = {s.name: _Child(s, logs_dir / f"up-{s.name}.log") for s in specs}
        self.statuses = {s.name: PartStatus(s.name) for s in specs}
        self.details: dict[str, str] = {}
        self.run_dir = run_dir
        self.environ = environ
        self.probe = probe
        self.audit = audit
        self.reporter = reporter
        self.policy = policy
        self.stop_timeout_s = stop_timeout_s
        self._state_written: dict[str, Any] | None = None

    def run(self, stop: StopFlag) -> bool:
        """Supervise until `stop` is set (returns True) or every part has ended (False)."""
        stopping_since: float | None = None
        killed = False
        try:
            while True:
                now = time.monotonic()
                if stop.is_set() and stopping_since is None:
                    stopping_since = now
                    self._request_stop()
                self._reap(now)
                if stopping_since is None:
                    self._start_due(now)
                    self._probe(now)
                    if supervisor.settled(self.statuses.values()):
                        return False
                elif not supervisor.any_alive(self.statuses.values()):
                    return True
                elif not killed and (
                    stop.signals >= 2 or now - stopping_since > self.stop_timeout_s
                ):
                    killed = True
                    self._kill_all("did not stop in time" if stop.signals < 2 else "second stop")
                self._show(now)
                time.sleep(TICK_S)
        finally:
            self._cleanup()
            self._show(time.monotonic())

    # -- actions ------------------------------------------------------------------------

    def _start_due(self, now: float) -> None:
        for name, status in self.statuses.items():
            if not supervisor.start_due(status, now):
                continue
            child = self.children[name]
            child.log_offset = processes.log_size(child.log)
            child.spawned = utc_now()
            child.process = processes.spawn(child.spec, child.log, self.environ)
            self._apply(supervisor.on_started(status, child.process.pid, now))

    def _reap(self, now: float) -> None:
        for name, child in self.children.items():
            if child.process is None or (code := child.process.poll()) is None:
                continue
            processes.signal_group(child.process.pid, signal.SIGKILL)  # its leftovers
            child.process = None
            status = self.statuses[name]
            reason = "" if status.state is PartState.STOPPING else self._reason(child)
            self._apply(supervisor.on_exit(status, code, now, self.policy, reason))
        live = {c.process.pid for c in self.children.values() if c.process is not None}
        processes.reap_orphans(live)

    def _probe(self, now: float) -> None:
        for name, status in self.statuses.items():
            child = self.children[name]
            if status.state not in (PartState.STARTING, PartState.RUNNING):
                continue
            if now - child.probed_at < PROBE_EVERY_S and status.state is PartState.RUNNING:
                continue
            child.probed_at = now
            try:
                ready, detail = self.probe(child.spec, child.spawned)
            except Exception as exc:  # a probe must never take the supervisor down
                ready, detail = False, f"probe failed: {type(exc).__name__}"
            self.details[name] = detail
            if ready:
                self._apply(supervisor.on_ready(status))

    def _request_stop(self) -> None:
        names = []
        for name, status in self.statuses.items():
            self.statuses[name] = supervisor.on_stop_requested(status).status
            process = self.children[name].process
            if process is not None and processes.signal_group(process.pid, signal.SIGTERM):
                names.append(f"{name} (pid {process.pid})")
        message = "SIGTERM sent to " + (", ".join(names) or "nothing")
        self.reporter.event(PartEvent("up", "stopping", f"stopping: {message}"), utc_now())

    def _kill_all(self, why: str) -> None:
        for name, child in self.children.items():
            if child.process is not None:
                processes.signal_group(child.process.pid, signal.SIGKILL)
                event = PartEvent(name, "killed", f"{why}: SIGKILL sent", "warning")
                self.reporter.event(event, utc_now())

    def _cleanup(self) -> None:
        """Never leave a child behind, even if the loop itself failed: SIGTERM, bounded wait,
        SIGKILL."""
        live = [(n, c.process) for n, c in self.children.items() if c.process is not None]
        for name, process in live:
            self.statuses[name] = supervisor.on_stop_requested(self.statuses[name]).status
            processes.signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for _, process in live:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                processes.signal_group(process.pid, signal.SIGKILL)
                process.wait()
        self._reap(time.monotonic())
        # A part's own children, orphaned when it ended, were re-parented here: wait for them
        # too, so nothing a part started outlives `up`.
        processes.wait_orphans(time.monotonic() + self.stop_timeout_s)

    # -- reporting ----------------------------------------------------------------------

    def _apply(self, transition: supervisor.Transition) -> None:
        status, event = transition.status, transition.event
        self.statuses[status.name] = status
        if event is None:
            return
        self.reporter.event(event, utc_now())
        action = AUDITED_EVENTS.get(event.kind)
        if action is not None:
            details = {"state": status.state.value, "exit": status.exit_code}
            details |= {"restarts": status.restarts, "crashes": status.crashes}
            self.audit(action, f"part:{status.name}", event.message, details)

    def _reason(self, child: _Child) -> str:
        return processes.last_error_line(child.log, child.log_offset)

    def _show(self, now: float) -> None:
        statuses = list(self.statuses.values())
        self.reporter.refresh(statuses, self.specs, now, self.details)
        self._write_state(statuses)

    def _write_state(self, statuses: Sequence[PartStatus]) -> None:
        state = {
            "pid": os.getpid(),
            "parts": [
                {
                    "name": s.name,
                    "state": s.state.value,
                    "pid": s.pid,
                    "restarts": s.restarts,
                    "exit_code": s.exit_code,
                    "note": s.note,
                    "url": self.specs[s.name].url,
                    "log": str(self.children[s.name].log),
                    "detail": self.details.get(s.name, ""),
                }
                for s in statuses
            ],
        }
        if state == self._state_written:
            return
        self._state_written = state
        path = self.run_dir / "up.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({**state, "updated_at": utc_now().isoformat()}, indent=2))
        tmp.replace(path)

"""How `cvntrade up` shows its parts: a live status table on a terminal, plain lines otherwise.

Every text is printed literally (`markup=False` consoles): a part's error line is its own
output, never Rich markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cvntrade.platform.parts import PartSpec
from cvntrade.platform.supervisor import PartEvent, PartState, PartStatus

STATE_STYLES = {
    PartState.RUNNING: "green",
    PartState.STARTING: "cyan",
    PartState.RESTARTING: "yellow",
    PartState.STOPPING: "yellow",
    PartState.FAILED: "bold red",
    PartState.HALTED: "bold red",
    PartState.EXITED: "yellow",
    PartState.STOPPED: "dim",
    PartState.WAITING: "dim",
}
SEVERITY_STYLES = {"info": "", "warning": "yellow", "error": "bold red"}


def fmt_uptime(seconds: float | None) -> str:
    """`42 s`, `3 min 05 s`, `2 h 03 min`, or `—`."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def status_table(
    statuses: Sequence[PartStatus],
    specs: Mapping[str, PartSpec],
    now: float,
    details: Mapping[str, str],
) -> Table:
    """The table: part, pid, state, restarts, uptime, URL/port, and what it is doing."""
    table = Table(title="cvntrade up (Ctrl-C stops everything cleanly)")
    for column in ("part", "pid", "state", "restarts", "uptime"):
        table.add_column(column, no_wrap=True)
    table.add_column("URL / port", overflow="fold")  # wrapped, never cut: it is copied
    table.add_column("detail")
    for status in statuses:
        spec = specs[status.name]
        table.add_row(
            Text(status.name),
            Text("—" if status.pid is None else str(status.pid)),
            Text(status.state.value, style=STATE_STYLES[status.state]),
            Text(str(status.restarts)),
            Text(fmt_uptime(status.uptime(now))),
            Text(spec.url or "—"),
            Text(status.note or details.get(status.name, "")),
        )
    return table


def event_line(event: PartEvent, at: dt.datetime) -> Text:
    """One report line: `HH:MM:SSZ part: message`, styled by severity."""
    return Text(
        f"{at:%H:%M:%S}Z {event.part}: {event.message}",
        style=SEVERITY_STYLES.get(event.severity, ""),
    )


class PlainReporter:
    """Not a terminal (a pipe, a log file, systemd): one line per event, no table.

    Info lines go to stdout; warnings and errors (a crash, a failed part) to stderr.
    """

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def event(self, event: PartEvent, at: dt.datetime) -> None:
        """Print the event's line."""
        target = self.out if event.severity == "info" else self.err
        target.print(event_line(event, at))

    def refresh(
        self,
        statuses: Sequence[PartStatus],
        specs: Mapping[str, PartSpec],
        now: float,
        details: Mapping[str, str],
    ) -> None:
        """Nothing to redraw without a terminal."""

    def close(self) -> None:
        """Nothing to tear down."""


class LiveReporter:
    """A terminal: the status table redrawn in place (Rich Live), event lines printed above it
    (crashes and failures in red)."""

    def __init__(self, out: Console) -> None:
        from rich.live import Live

        self.live = Live(console=out, auto_refresh=False, redirect_stderr=True)
        self.live.start()

    def event(self, event: PartEvent, at: dt.datetime) -> None:
        """Print the event's line above the table."""
        self.live.console.print(event_line(event, at))

    def refresh(
        self,
        statuses: Sequence[PartStatus],
        specs: Mapping[str, PartSpec],
        now: float,
        details: Mapping[str, str],
    ) -> None:
        """Redraw the table."""
        self.live.update(status_table(statuses, specs, now, details), refresh=True)

    def close(self) -> None:
        """Leave the last table on screen."""
        self.live.stop()

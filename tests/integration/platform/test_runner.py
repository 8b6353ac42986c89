"""The supervision loop with real child processes (tiny Python programs, own process groups)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cvntrade.platform.parts import PartSpec
from cvntrade.platform.runner import Supervisor
from cvntrade.platform.supervisor import PartEvent, PartState, PartStatus, RestartPolicy
from cvntrade.stopping import StopFlag

FAST = RestartPolicy(max_restarts=2, backoff_s=0.05, max_backoff_s=0.1, stable_s=60.0)
HANG_GUARD_S = 600


def _never_ready(spec: PartSpec, spawned: dt.datetime) -> tuple[bool, str]:
    """A probe that never sees the part ready (its events then do not depend on timing)."""
    return False, ""


class RecordingReporter:
    """Keeps every event and the last statuses (an in-memory reporter)."""

    def __init__(self) -> None:
        self.events: list[PartEvent] = []
        self.statuses: list[PartStatus] = []

    def event(self, event: PartEvent, at: dt.datetime) -> None:
        self.events.append(event)

    def refresh(
        self,
        statuses: Sequence[PartStatus],
        specs: Mapping[str, PartSpec],
        now: float,
        details: Mapping[str, str],
    ) -> None:
        self.statuses = list(statuses)

    def close(self) -> None:
        pass

    def kinds(self, part: str) -> list[str]:
        return [e.kind for e in self.events if e.part == part]


def _part(name: str, code: str) -> PartSpec:
    return PartSpec(name, (sys.executable, "-c", code))


def _supervisor(
    tmp_path: Path,
    specs: list[PartSpec],
    audit: list[tuple[str, str, str, dict[str, Any]]],
    *,
    probe: Callable[[PartSpec, dt.datetime], tuple[bool, str]] = lambda spec, at: (True, ""),
    stop_timeout_s: float = 60.0,
) -> tuple[Supervisor, RecordingReporter]:
    reporter = RecordingReporter()
    supervisor = Supervisor(
        specs,
        run_dir=tmp_path / "run",
        logs_dir=tmp_path / "logs",
        environ=dict(os.environ),
        probe=probe,
        audit=lambda *row: audit.append(row),
        reporter=reporter,
        policy=FAST,
        stop_timeout_s=stop_timeout_s,
    )
    (tmp_path / "run").mkdir()
    return supervisor, reporter


def _in_thread(supervisor: Supervisor, stop: StopFlag) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run(stop)), daemon=True)
    thread.start()
    return thread, result


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "hang guard"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_crashing_part_is_restarted_with_backoff_then_failed_and_audited(
    tmp_path: Path,
) -> None:
    audit: list[tuple[str, str, str, dict[str, Any]]] = []
    crasher = _part("crasher", "import sys; print('error: out of luck', flush=True); sys.exit(3)")
    supervisor, reporter = _supervisor(tmp_path, [crasher], audit, probe=_never_ready)
    assert supervisor.run(StopFlag()) is False  # nothing left to supervise: `up` exits 1
    assert reporter.kinds("crasher") == [
        "started",
        "crashed",
        "restarted",
        "crashed",
        "restarted",
        "failed",
    ]
    [status] = reporter.statuses
    assert (status.state, status.restarts, status.exit_code) == (PartState.FAILED, 2, 3)
    assert [row[0] for row in audit] == [
        "platform.part_crashed",
        "platform.part_crashed",
        "platform.part_failed",
    ]
    assert all(row[1] == "part:crasher" for row in audit)
    assert audit[-1][2].endswith("error: out of luck")
    log = (tmp_path / "logs" / "up-crasher.log").read_text()
    assert log.count("error: out of luck") == 3  # three real processes ran


def test_an_exit_2_fails_at_once_quoting_the_parts_error_line(tmp_path: Path) -> None:
    audit: list[tuple[str, str, str, dict[str, Any]]] = []
    code = "import sys; print('loading'); print('error: no champion for BTCUSDC'); sys.exit(2)"
    supervisor, reporter = _supervisor(tmp_path, [_part("engine", code)], audit, probe=_never_ready)
    assert supervisor.run(StopFlag()) is False
    assert reporter.kinds("engine") == ["started", "failed"]
    failed = reporter.events[-1]
    assert failed.severity == "error"
    assert failed.message.endswith("(exit 2): error: no champion for BTCUSDC")
    assert [row[0] for row in audit] == ["platform.part_failed"]


def test_a_stop_forwards_sigterm_waits_for_a_clean_finish_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "finished"
    code = (
        "import pathlib, signal, sys, time\n"
        "def finish(*_):\n"
        "    time.sleep(0.5)  # a block being committed\n"
        f"    pathlib.Path({str(marker)!r}).write_text('clean')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, finish)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    log = tmp_path / "logs" / "up-engine.log"
    supervisor, reporter = _supervisor(
        tmp_path,
        [_part("engine", code), _part("console", "import time; time.sleep(3600)")],
        [],
        probe=lambda spec, at: (spec.name != "engine" or "ready" in log.read_text(), ""),
    )
    stop = StopFlag()
    thread, result = _in_thread(supervisor, stop)
    _wait(lambda: sum(s.state is PartState.RUNNING for s in reporter.statuses) == 2)
    pids = [s.pid for s in reporter.statuses if s.pid is not None]
    stop.set()
    thread.join(HANG_GUARD_S)
    assert result == [True]
    assert marker.read_text() == "clean"
    assert [s.state for s in reporter.statuses] == [PartState.STOPPED] * 2
    assert [s.exit_code for s in reporter.statuses] == [0, -15]
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_a_part_ignoring_sigterm_is_killed_after_the_stop_timeout(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    log = tmp_path / "logs" / "up-stubborn.log"
    supervisor, reporter = _supervisor(
        tmp_path,
        [_part("stubborn", code)],
        [],
        probe=lambda spec, at: ("ready" in log.read_text(), ""),
        stop_timeout_s=0.5,
    )
    stop = StopFlag()
    thread, result = _in_thread(supervisor, stop)
    _wait(lambda: [s.state for s in reporter.statuses] == [PartState.RUNNING])
    [pid] = [s.pid for s in reporter.statuses]
    stop.set()
    thread.join(HANG_GUARD_S)
    assert result == [True]
    assert "killed" in reporter.kinds("stubborn")
    assert reporter.statuses[0].exit_code == -9
    assert pid is not None and _gone(pid)


def test_a_crashed_parts_leftover_children_die_with_its_process_group(tmp_path: Path) -> None:
    child_pid = tmp_path / "grandchild.pid"
    code = (
        "import pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        f"pathlib.Path({str(child_pid)!r}).write_text(str(child.pid))\n"
        "while True: time.sleep(1)\n"
    )
    supervisor, reporter = _supervisor(tmp_path, [_part("exporter", code)], [])
    stop = StopFlag()
    thread, result = _in_thread(supervisor, stop)
    _wait(lambda: child_pid.exists() and child_pid.read_text() != "")
    [first] = [s.pid for s in reporter.statuses]
    grandchild = int(child_pid.read_text())
    child_pid.unlink()
    assert first is not None
    os.kill(first, 9)  # the part crashes; its own child is left running
    _wait(lambda: "restarted" in reporter.kinds("exporter"))
    _wait(lambda: _pid_gone(grandchild))
    stop.set()
    thread.join(HANG_GUARD_S)
    assert result == [True]
    crashed = [e for e in reporter.events if e.kind == "crashed"]
    assert len(crashed) == 1 and "killed by SIGKILL" in crashed[0].message


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_a_part_gets_sigterm_when_its_supervisor_dies_without_stopping_it(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "terminated"
    part = (
        "import pathlib, signal, sys, time\n"
        "def done(*_):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('SIGTERM')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, done)\n"
        "print('ready', flush=True)\n"
        "time.sleep(3600)\n"
    )
    supervisor_like = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from cvntrade.platform.parts import PartSpec\n"
        "from cvntrade.platform.processes import spawn\n"
        f"log = Path({str(tmp_path / 'part.log')!r})\n"
        f"child = spawn(PartSpec('part', (sys.executable, '-c', {part!r})), log, {{}})\n"
        "while 'ready' not in log.read_text(): time.sleep(0.05)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(3600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", supervisor_like], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()  # SIGKILL: the supervisor cannot forward anything
    parent.wait()
    _wait(lambda: marker.exists())
    assert marker.read_text() == "SIGTERM"
    _wait(lambda: _pid_gone(child))

"""The supervisor's state machine: restart policy, backoff, bounded restarts, shutdown."""

from __future__ import annotations

import signal
from dataclasses import replace

import pytest

from cvntrade.platform.supervisor import (
    PartState,
    PartStatus,
    RestartPolicy,
    any_alive,
    describe_exit,
    on_exit,
    on_ready,
    on_started,
    on_stop_requested,
    settled,
    start_due,
)

POLICY = RestartPolicy(max_restarts=3, backoff_s=1.0, max_backoff_s=5.0, stable_s=60.0)


def _running(name: str = "engine", at: float = 100.0, crashes: int = 0) -> PartStatus:
    status = on_started(PartStatus(name), pid=4242, now=at).status
    return replace(on_ready(status).status, crashes=crashes)


def test_backoff_doubles_with_each_consecutive_crash_and_is_capped() -> None:
    assert [POLICY.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_new_part_is_due_at_once_and_started_then_ready() -> None:
    status = PartStatus("console")
    assert start_due(status, now=0.0)
    started = on_started(status, pid=10, now=5.0)
    assert started.status.state is PartState.STARTING
    assert (started.status.pid, started.status.restarts) == (10, 0)
    assert started.event is not None and started.event.kind == "started"
    ready = on_ready(started.status)
    assert ready.status.state is PartState.RUNNING
    assert ready.event is not None and ready.event.message == "running"
    assert on_ready(ready.status).event is None  # only the first probe that answers reports
    assert ready.status.uptime(12.5) == pytest.approx(7.5)


def test_a_crash_schedules_a_restart_after_the_backoff_and_counts_it() -> None:
    crashed = on_exit(_running(at=100.0), -signal.SIGKILL, now=103.0, policy=POLICY)
    status = crashed.status
    assert status.state is PartState.RESTARTING
    assert (status.pid, status.crashes, status.restart_at) == (None, 1, 104.0)
    assert crashed.event is not None
    assert (crashed.event.kind, crashed.event.severity) == ("crashed", "error")
    assert "killed by SIGKILL after 3.0 s" in crashed.event.message
    assert "restarting in 1 s (restart 1/3)" in crashed.event.message
    assert not start_due(status, now=103.9)
    assert start_due(status, now=104.0)
    restarted = on_started(status, pid=11, now=104.0)
    assert restarted.status.restarts == 1
    assert restarted.event is not None and restarted.event.kind == "restarted"


def test_consecutive_quick_crashes_end_in_failed_after_max_restarts() -> None:
    status = PartStatus("exporter")
    now = 0.0
    kinds = []
    for _ in range(POLICY.max_restarts + 1):
        assert start_due(status, now)
        status = on_started(status, pid=1, now=now).status
        now += 0.5  # crashes half a second after each start
        transition = on_exit(status, 1, now, POLICY, reason="error: boom")
        status = transition.status
        assert transition.event is not None
        kinds.append(transition.event.kind)
        now = status.restart_at
    assert kinds == ["crashed"] * POLICY.max_restarts + ["failed"]
    assert status.state is PartState.FAILED
    assert status.restarts == POLICY.max_restarts
    assert not start_due(status, now + 1000)
    assert transition.event is not None
    assert "gave up after 3 restarts" in transition.event.message
    assert transition.event.message.endswith(": error: boom")


def test_a_run_that_lasted_stable_s_resets_the_crash_count() -> None:
    status = _running(at=0.0, crashes=3)
    transition = on_exit(status, 1, now=POLICY.stable_s + 1, policy=POLICY)
    assert transition.status.state is PartState.RESTARTING
    assert transition.status.crashes == 1
    assert transition.status.restart_at == POLICY.stable_s + 1 + POLICY.backoff_s


@pytest.mark.parametrize(
    ("code", "state", "kind"),
    [
        (0, PartState.EXITED, "exited"),
        (5, PartState.HALTED, "halted"),
        (2, PartState.FAILED, "failed"),
        (6, PartState.FAILED, "failed"),
    ],
)
def test_exits_a_restart_cannot_cure_are_never_restarted(
    code: int, state: PartState, kind: str
) -> None:
    transition = on_exit(_running(), code, now=200.0, policy=POLICY, reason="error: no champion")
    assert transition.status.state is state
    assert transition.event is not None and transition.event.kind == kind
    assert not start_due(transition.status, now=10_000.0)
    assert settled([transition.status])


def test_stop_request_turns_live_parts_stopping_and_pending_ones_stopped() -> None:
    live = on_stop_requested(_running()).status
    assert live.state is PartState.STOPPING
    pending = on_exit(_running("console"), 1, now=101.0, policy=POLICY).status
    assert pending.state is PartState.RESTARTING
    assert on_stop_requested(pending).status.state is PartState.STOPPED
    failed = on_exit(_running(), 2, now=101.0, policy=POLICY).status
    assert on_stop_requested(failed).status is failed


def test_a_stopping_part_that_exits_is_stopped_whatever_its_exit_code() -> None:
    for code in (0, -signal.SIGTERM, 1):
        stopping = on_stop_requested(_running()).status
        transition = on_exit(stopping, code, now=150.0, policy=POLICY)
        assert transition.status.state is PartState.STOPPED
        assert transition.event is not None and transition.event.kind == "stopped"
        assert transition.status.restarts == 0


def test_settled_and_any_alive() -> None:
    running, waiting = _running(), PartStatus("console")
    failed = on_exit(_running(), 2, now=101.0, policy=POLICY).status
    assert any_alive([running, failed]) and not settled([running, failed])
    assert not any_alive([waiting]) and not settled([waiting])
    assert settled([failed]) and not any_alive([failed])


def test_exit_codes_are_described_for_people() -> None:
    assert describe_exit(0) == "exit 0"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"

"""The escalation rule: recovered / not recovered / not yet known, 4 h after the rollback."""

from __future__ import annotations

import datetime as dt

import pytest

from cvntrade.domain import RecoveryVerdict
from cvntrade.monitoring.recovery import (
    MIN_RECOVERY_TRADES,
    RECOVERY_WINDOW,
    Recovery,
    RecoveryState,
    RollbackRecord,
    explain,
    recovery_verdict,
)

ROLLBACK = dt.datetime(2026, 11, 30, 12)
DUE = ROLLBACK + RECOVERY_WINDOW
SECOND = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("now", "n", "mean", "verdict"),
    [
        (DUE - SECOND, 10, -1.0, RecoveryVerdict.NOT_YET_KNOWN),  # before the 4 h
        (DUE - SECOND, 10, 1.0, RecoveryVerdict.NOT_YET_KNOWN),
        (DUE, 10, -0.01, RecoveryVerdict.NOT_RECOVERED),
        (DUE, MIN_RECOVERY_TRADES, 0.0, RecoveryVerdict.RECOVERED),  # 0 counts as recovered
        (DUE, MIN_RECOVERY_TRADES - 1, -2.0, RecoveryVerdict.NOT_YET_KNOWN),  # too few trades
        (DUE, 0, None, RecoveryVerdict.NOT_YET_KNOWN),
        (DUE + dt.timedelta(days=2), 40, -0.3, RecoveryVerdict.NOT_RECOVERED),
    ],
)
def test_recovery_verdict(
    now: dt.datetime, n: int, mean: float | None, verdict: RecoveryVerdict
) -> None:
    got = recovery_verdict(rollback_at=ROLLBACK, now=now, n_trades=n, expectancy_pct=mean)
    assert got is verdict


def _recovery(verdict: RecoveryVerdict, rollback_id: int = 7) -> Recovery:
    rollback = RollbackRecord(rollback_id, ROLLBACK, ("BTCUSDC", "ETHUSDC"), 4, "r [incident #4]")
    now = DUE + dt.timedelta(hours=1)
    return Recovery(
        verdict, now, rollback, DUE, 5, -0.2, (), explain(verdict, rollback, now, 5, -0.2)
    )


def test_the_state_fires_only_when_not_recovered_and_is_one_series_per_rollback() -> None:
    firing = RecoveryState(_recovery(RecoveryVerdict.NOT_RECOVERED))
    assert firing.firing
    assert "NOT recovered" in firing.summary
    assert not RecoveryState(_recovery(RecoveryVerdict.RECOVERED)).firing
    assert not RecoveryState(_recovery(RecoveryVerdict.NOT_YET_KNOWN)).firing
    other = RecoveryState(_recovery(RecoveryVerdict.NOT_RECOVERED, rollback_id=8))
    assert other.fingerprint != firing.fingerprint
    same = RecoveryState(_recovery(RecoveryVerdict.RECOVERED))
    assert same.fingerprint == firing.fingerprint  # the verdict is not part of the series


def test_a_transition_attaches_to_the_rollbacks_incident() -> None:
    state = RecoveryState(_recovery(RecoveryVerdict.NOT_RECOVERED))
    record = state.transition_record("firing", DUE)
    assert record.incident_id == 4
    assert record.alert == "expectancy_not_recovered_after_rollback"
    assert record.note_data["escalate"] == "cvntrade runbook escalate --incident 4"


def test_explain_says_when_the_verdict_is_due() -> None:
    rollback = RollbackRecord(1, ROLLBACK, ("BTCUSDC",), None, "r")
    early = explain(RecoveryVerdict.NOT_YET_KNOWN, rollback, ROLLBACK, 0, None)
    assert "16:00" in early
    late = explain(RecoveryVerdict.NOT_YET_KNOWN, rollback, DUE, 1, 0.2)
    assert f"fewer than {MIN_RECOVERY_TRADES} trades" in late

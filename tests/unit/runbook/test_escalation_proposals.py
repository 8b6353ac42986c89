"""What `runbook escalate` proposes: the kill switch first, the ADR-71 halt as the last resort."""

from __future__ import annotations

import datetime as dt

from cvntrade.domain import RecoveryVerdict
from cvntrade.monitoring.recovery import Recovery, RollbackRecord
from cvntrade.runbook.escalation import proposals
from cvntrade.trading.flags import TradingFlags

AT = dt.datetime(2026, 11, 30, 12)


def _recovery(verdict: RecoveryVerdict, now: dt.datetime) -> Recovery:
    rollback = RollbackRecord(1, AT, ("BTCUSDC",), 2, "r")
    return Recovery(verdict, now, rollback, AT + dt.timedelta(hours=4), 3, -0.1, (), "x")


def test_not_recovered_proposes_kill_switch_then_halt_with_exact_commands() -> None:
    lines = proposals(_recovery(RecoveryVerdict.NOT_RECOVERED, AT), TradingFlags(), 2)
    assert len(lines) == 2
    assert "kill switch" in lines[0]
    assert "cvntrade runbook escalate --incident 2 --confirm kill-switch" in lines[0]
    assert "halt" in lines[1] and "--confirm halt" in lines[1]


def test_switches_already_on_are_not_proposed_again() -> None:
    lines = proposals(
        _recovery(RecoveryVerdict.NOT_RECOVERED, AT), TradingFlags(kill_switch=True), None
    )
    assert "already on" in lines[0]
    assert "cvntrade runbook escalate --confirm halt" in lines[1]
    both = proposals(_recovery(RecoveryVerdict.NOT_RECOVERED, AT), TradingFlags(True, True), None)
    assert all("already on" in line for line in both)


def test_not_yet_known_says_when_to_check_again_and_recovered_proposes_nothing() -> None:
    early = proposals(_recovery(RecoveryVerdict.NOT_YET_KNOWN, AT), TradingFlags(), 2)
    assert early == ("re-check at 2026-11-30 16:00 UTC: cvntrade runbook escalate --incident 2",)
    late = proposals(
        _recovery(RecoveryVerdict.NOT_YET_KNOWN, AT + dt.timedelta(hours=5)), TradingFlags(), 2
    )
    assert late == ("re-check later: cvntrade runbook escalate --incident 2",)
    assert proposals(_recovery(RecoveryVerdict.RECOVERED, AT), TradingFlags(), 2) == ()

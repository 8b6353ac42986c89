"""focal_loss_active from ftf_config and engine heartbeats; the rule on the journal drills."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cvntrade.clock import utc_now
from cvntrade.config import set_config
from cvntrade.db.engine import write_transaction
from cvntrade.drill import run_journal_drill
from cvntrade.monitoring.alerts import evaluate_engine, read_focal_active
from cvntrade.runbook import confirm
from cvntrade.trading.persistence import StatusRow, _upsert_status

NOW = dt.datetime(2026, 12, 1, 0, 0)


def _heartbeat(engine: Engine, symbol: str, loss: str, mode: str, at: dt.datetime = NOW) -> None:
    row = StatusRow("e1", symbol, "SL0.5_TP1_H4", f"m_{symbol}", 3, loss, False, mode, at)
    with write_transaction(engine) as conn:
        _upsert_status(conn, [row])


def test_focal_active_from_config_or_served_champion(engine: Engine) -> None:
    assert read_focal_active(engine, now=NOW).source == "none"
    _heartbeat(engine, "BTCUSDC", "focal", "stopped")
    assert not read_focal_active(engine, now=NOW).active  # a stopped engine serves nothing
    _heartbeat(engine, "ETHUSDC", "focal", "paper")
    _heartbeat(engine, "SOLUSDC", "binary", "paper")
    served = read_focal_active(engine, now=NOW)
    assert (served.source, served.champion_symbols) == ("champion", ("ETHUSDC",))
    assert not read_focal_active(engine, now=NOW + dt.timedelta(hours=1)).active  # silent engine
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    assert read_focal_active(engine, now=NOW).source == "config+champion"


def test_rule_and_runbook_confirm_agree_on_every_drill(engine: Engine) -> None:
    for focal in (False, True):
        if focal:
            _heartbeat(engine, "BTCUSDC", "focal", "live", at=utc_now())
        for scenario, expected in [
            ("focal-regression", focal),
            ("single-symbol", False),
            ("healthy", False),
        ]:
            run_journal_drill(engine, scenario, actor="drill")
            state = evaluate_engine(engine)
            assert state.firing is expected, (scenario, focal)
            assert confirm(engine, actor="oncall").real is state.firing

"""Stored monitoring state for the console tests: a snapshot and alert events (real tables)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import alert_events
from cvntrade.monitoring.alerts import FocalActive, evaluate
from cvntrade.monitoring.drift import NO_REFERENCE, SymbolDrift
from cvntrade.monitoring.snapshot import MonitorSnapshot, store_snapshot

AT = dt.datetime(2026, 11, 30, 11, 0)


def store_drift_snapshot(engine: Engine, at: dt.datetime = AT) -> MonitorSnapshot:
    """Store a snapshot with a drifting BTCUSDC, a stable ETHUSDC and a no-reference SOLUSDC."""
    hist = [0.0] * 20
    hist[9], hist[10] = 0.5, 0.5
    snapshot = MonitorSnapshot(
        at=at,
        expectancy=(),
        focal=FocalActive(config=True, champion=False),
        alert=evaluate({"BTCUSDC": -0.4, "ETHUSDC": -0.2}, FocalActive(True, False)),
        drift=(
            SymbolDrift(
                "BTCUSDC",
                "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4",
                3,
                psi={"rsi_14": 0.31, "ret_1": 0.05},
                sharpness_recent=0.02,
                sharpness_training=0.09,
                ece_live=0.12,
                ece_training=0.03,
                n_outcomes=40,
                histogram_recent=tuple(hist),
                histogram_training=tuple([0.05] * 20),
            ),
            SymbolDrift(
                "ETHUSDC",
                "CVNTrade_XGBoost_ETHUSDC_SL0.5_TP1_H4",
                2,
                psi={"rsi_14": 0.02, "ret_1": 0.12},
                sharpness_recent=0.08,
                sharpness_training=0.085,
                ece_live=0.031,
                ece_training=0.03,
                n_outcomes=35,
                histogram_recent=tuple([0.05] * 20),
                histogram_training=tuple([0.05] * 20),
            ),
            SymbolDrift("SOLUSDC", "CVNTrade_XGBoost_SOLUSDC_SL0.5_TP1_H4", 1, note=NO_REFERENCE),
        ),
    )
    store_snapshot(engine, snapshot)
    return snapshot


def add_alert_event(engine: Engine, state: str = "firing", at: dt.datetime = AT) -> int:
    """One `alert_events` row of the page (as the evaluator writes it); returns its id."""
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                insert(alert_events)
                .values(
                    alert="expectancy_negative_focal",
                    fingerprint="fp-test",
                    state=state,
                    at=at,
                    labels={"severity": "P1", "negative_symbols": "BTCUSDC,ETHUSDC"},
                    values={"BTCUSDC": -0.4, "ETHUSDC": -0.2},
                )
                .returning(alert_events.c.id)
            ).scalar_one()
        )

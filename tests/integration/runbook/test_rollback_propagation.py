"""Rollback + propagation wait with an engine stand-in that follows the engine_status contract.

The stand-in runs in a thread: it heartbeats every few ms with the version it serves per symbol
and switches a symbol when `alias_events` announces a new champion — unless that symbol is
`stuck` (as an engine cut off from the registry keeps serving its last model, marked stale).
The real engine is exercised across processes in `tests/e2e/test_runbook_cli.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from runbook_support import FOCAL_REGRESSION, MakeModels
from sqlalchemy import Engine, delete, func, insert, select

from cvntrade.audit import read_audit
from cvntrade.clock import utc_now
from cvntrade.config import set_config
from cvntrade.db import write_transaction
from cvntrade.db.tables import alias_events, engine_status
from cvntrade.drill import run_journal_drill
from cvntrade.registry import MlflowRegistry
from cvntrade.runbook import NOT_SWITCHED, SWITCHED, get_incident, open_incident, rollback

REASON = "expectancy_negative_focal: rollback"


class EngineStandIn:
    """Heartbeats `served` versions into engine_status; follows alias_events unless stuck."""

    def __init__(self, db: Engine, names: dict[str, str], version: int) -> None:
        self.db = db
        self.names = names
        self.served = dict.fromkeys(names, version)
        self.stuck: set[str] = set()
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            newest = select(func.max(alias_events.c.id)).group_by(alias_events.c.model_name)
            with self.db.connect() as conn:
                latest = dict(
                    conn.execute(
                        select(alias_events.c.model_name, alias_events.c.version).where(
                            alias_events.c.id.in_(newest)
                        )
                    ).all()
                )
            for symbol, name in self.names.items():
                if symbol not in self.stuck and name in latest:
                    self.served[symbol] = int(latest[name])
            self._beat()
            self.ready.set()
            self.stop.wait(0.02)

    def _beat(self) -> None:
        now = utc_now()
        with write_transaction(self.db) as conn:
            conn.execute(delete(engine_status).where(engine_status.c.engine_id == "stand-in"))
            conn.execute(
                insert(engine_status),
                [
                    {
                        "engine_id": "stand-in",
                        "crypto_symbol": symbol,
                        "strategy": "SL0.5_TP1_H4",
                        "model_name": self.names[symbol],
                        "model_version": version,
                        "model_loss_function": None,
                        "stale": symbol in self.stuck,
                        "mode": "live",
                        "heartbeat_at": now,
                    }
                    for symbol, version in self.served.items()
                ],
            )

    def __enter__(self) -> EngineStandIn:
        self.thread.start()
        assert self.ready.wait(30), "stand-in engine did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


@pytest.fixture
def stand_in(engine: Engine, make_models: MakeModels) -> Iterator[EngineStandIn]:
    run_journal_drill(engine, "focal-regression", actor="drill")
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    names = make_models(FOCAL_REGRESSION)
    with EngineStandIn(engine, names, version=3) as running:
        yield running


def test_symbols_that_do_not_switch_in_time_are_named_and_a_rerun_finishes_the_wait(
    engine: Engine, registry: MlflowRegistry, stand_in: EngineStandIn
) -> None:
    stand_in.stuck.add("SOLUSDC")
    incident = open_incident(
        engine, alert="expectancy_negative_focal", title="focal negative", actor="oncall"
    )
    first = rollback(engine, registry, reason=REASON, actor="oncall", wait_s=0.5, poll_s=0.02)
    assert first.propagation is not None
    btc, eth, sol = first.propagation.symbols
    assert (btc.status, eth.status, sol.status) == (SWITCHED, SWITCHED, NOT_SWITCHED)
    assert btc.elapsed_s is not None and btc.elapsed_s < 0.5
    assert [(e.engine_id, e.model_version, e.stale) for e in sol.engines] == [("stand-in", 3, True)]
    assert not first.propagation.complete
    assert not first.timing.within_sla
    assert get_incident(engine, incident.id).status == "open"
    audit = read_audit(engine, action="runbook.rollback", limit=1)[0]
    assert audit.after["propagation"]["SOLUSDC"] == {"status": NOT_SWITCHED, "elapsed_s": None}

    stand_in.stuck.clear()  # the engine reaches the registry again
    second = rollback(engine, registry, reason=REASON, actor="oncall", wait_s=10.0, poll_s=0.02)
    assert not second.changed
    assert second.propagation is not None
    assert second.propagation.complete
    assert [s.status for s in second.propagation.symbols] == [SWITCHED] * 3
    assert second.timing.within_sla
    assert get_incident(engine, incident.id).status == "mitigated"
    assert len(read_audit(engine, action="models.set_alias")) == 3

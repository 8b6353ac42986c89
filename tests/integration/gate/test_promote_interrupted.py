"""Issue 12.5: a promotion killed between its registry write and its audit rows is finished by a
re-run: one `models.set_alias` row (completed by reconciliation) and one `gate.promote` row that
names the champion the promotion replaced.
"""

from __future__ import annotations

import pytest
from gate_support import LENIENT, STRATEGY, CountingRunner, request
from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events, alias_intents
from cvntrade.gate import parse_criteria, promote, run_sweep
from cvntrade.market import ParquetStore
from cvntrade.registry import MlflowRegistry
from cvntrade.settings import Settings
from cvntrade.strategy import model_name

NAME = model_name("BTCUSDC", STRATEGY)


class _Killed(BaseException):
    """The process 'dies' right after MLflow moved the alias."""


def test_a_promotion_killed_after_the_alias_moved_is_finished_by_a_rerun(
    engine: Engine,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_sweep(
        engine,
        request(("BTCUSDC",)),
        runner=CountingRunner(),
        tracking_uri=tracking_uri,
        store=gate_store,
        settings=gate_settings,
    )
    options: dict[str, object] = {
        "symbol": "BTCUSDC",
        "strategy": STRATEGY,
        "actor": "ops",
        "criteria": parse_criteria(LENIENT, "lenient.yaml"),
        "tracking_uri": tracking_uri,
        "store": gate_store,
        "settings": gate_settings,
    }
    focal = promote(engine, loss="focal", **options)  # type: ignore[arg-type]
    real = MlflowRegistry.set_alias

    def write_then_die(self: MlflowRegistry, name: str, alias: str, version: int) -> None:
        real(self, name, alias, version)
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(MlflowRegistry, "set_alias", write_then_die)
        with pytest.raises(_Killed):
            promote(engine, loss="binary", **options)  # type: ignore[arg-type]
    assert MlflowRegistry(tracking_uri).aliases(NAME) == {"champion": 2}
    assert [a.after["version"] for a in read_audit(engine, action="gate.promote")] == [1]

    again = promote(engine, loss="binary", **options)  # type: ignore[arg-type]
    assert (again.version, again.old_champion, again.changed, again.trained) == (2, 1, True, False)
    moves = list(reversed(read_audit(engine, action="models.set_alias")))
    assert [(m.before, m.after["version"]) for m in moves] == [
        ({"version": None}, focal.version),
        ({"version": 1}, 2),
    ]
    assert moves[1].reason.startswith("completed by reconciliation")
    promotions = list(reversed(read_audit(engine, action="gate.promote")))
    assert [(p.before, p.after["version"]) for p in promotions] == [
        ({"version": None}, 1),
        ({"version": 1}, 2),
    ]
    with engine.connect() as conn:
        assert list(conn.execute(select(alias_events.c.version)).scalars()) == [1, 2]
        assert list(conn.execute(select(alias_intents.c.state)).scalars()) == ["done", "done"]

"""Issue 16.4: racing alias moves write one audit row per real change, with true `before`s.

The race is provoked, not hoped for: the registry wrapper makes every alias read wait (up to
`RENDEZVOUS_S`) until all racers are reading. Without a lock they all read the same champion and
all "move" it; with the per-model lock only one racer can be reading, the rendezvous gives up,
and the others read what the winner wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from sqlalchemy import Engine, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events
from cvntrade.registry import AliasMove, MlflowRegistry, set_alias
from cvntrade.registry.records import ModelVersionInfo

RACERS = 4
RENDEZVOUS_S = 3.0


class _Rendezvous:
    """`Registry` whose alias reads wait for all racers to be reading at the same time."""

    def __init__(self, inner: MlflowRegistry, racers: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(racers)

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        return self.inner.list_versions(name, max_results)

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        return self.inner.get_version(name, version)

    def aliases(self, name: str) -> dict[str, int]:
        with suppress(threading.BrokenBarrierError):
            self.barrier.wait(timeout=RENDEZVOUS_S)
        return self.inner.aliases(name)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.inner.set_alias(name, alias, version)


def _race(engine: Engine, registry: _Rendezvous, name: str, targets: list[int]) -> list[AliasMove]:
    def move(version: int) -> AliasMove:
        return set_alias(
            engine,
            registry,
            name=name,
            alias="champion",
            version=version,
            reason="race",
            actor=f"op{version}",
        )

    with ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(move, targets))


def _events(engine: Engine) -> list[int | None]:
    with engine.connect() as conn:
        query = select(alias_events.c.version).order_by(alias_events.c.id)
        return list(conn.execute(query).scalars())


def test_racing_identical_moves_are_audited_once(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    moves = _race(engine, _Rendezvous(registry, RACERS), name, [2] * RACERS)
    assert sorted(m.changed for m in moves) == [False] * (RACERS - 1) + [True]
    audit = read_audit(engine, action="models.set_alias")
    assert [(a.before, a.after["version"]) for a in audit] == [({"version": 3}, 2)]
    assert _events(engine) == [2]
    assert registry.aliases(name) == {"champion": 2}


def test_racing_mixed_moves_chain_and_end_on_the_actual_champion(
    engine: Engine, registry: MlflowRegistry, make_model: Callable[..., str]
) -> None:
    name = make_model(["binary", "binary", "focal"], champion=3)
    targets = [1, 2, 1, 2]
    moves = _race(engine, _Rendezvous(registry, len(targets)), name, targets)
    audit = list(reversed(read_audit(engine, action="models.set_alias")))  # oldest first
    assert len(audit) == sum(m.changed for m in moves)
    previous = 3
    for row in audit:
        assert row.before == {"version": previous}
        assert row.after["version"] != previous
        previous = row.after["version"]
    assert registry.aliases(name) == {"champion": previous}
    assert _events(engine) == [row.after["version"] for row in audit]

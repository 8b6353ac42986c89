"""Wiring for the CLI: the real reference provider, bar loader and recomputation closure."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from cvntrade.clock import Clock, utc_now
from cvntrade.monitoring.reference import Reference, load_reference
from cvntrade.monitoring.snapshot import (
    MonitorSettings,
    MonitorSnapshot,
    ReferenceProvider,
    compute_snapshot,
    parquet_bar_loader,
    store_snapshot,
)
from cvntrade.settings import Settings


def registry_references(tracking_uri: str) -> ReferenceProvider:
    """References read from the MLflow registry, cached per (model, version); a registry
    failure is "no reference" for this round (logged), never a failed recomputation."""
    import logging

    from cvntrade.errors import CvnError

    cache: dict[tuple[str, int], Reference | None] = {}

    def provide(name: str, version: int) -> Reference | None:
        key = (name, version)
        if key not in cache:
            try:
                cache[key] = load_reference(tracking_uri, name, version)
            except CvnError as exc:
                logging.getLogger(__name__).warning("no reference for %s v%s: %s", *key, exc)
                return None
        return cache[key]

    return provide


def snapshot_job(
    engine: Engine,
    settings: Settings,
    *,
    monitor: MonitorSettings | None = None,
    store: bool = True,
    clock: Clock = utc_now,
    references: ReferenceProvider | None = None,
) -> Callable[[], MonitorSnapshot]:
    """A closure computing (and by default storing) one snapshot as of `clock()`."""
    provider = references or registry_references(settings.effective_tracking_uri)
    bars = parquet_bar_loader(settings.home / "data", (monitor or MonitorSettings()).interval)

    def job() -> MonitorSnapshot:
        snapshot = compute_snapshot(
            engine, now=clock(), references=provider, bars=bars, settings=monitor
        )
        if store:
            store_snapshot(engine, snapshot)
        return snapshot

    return job

"""Wiring for the CLI: the real reference provider, bar loader and recomputation closure."""

from __future__ import annotations

import functools
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


def _worker_job(
    database_url: str, home: str, tracking_uri: str, interval: str, store: bool
) -> Callable[[], MonitorSnapshot]:
    """The product's snapshot job, built inside the worker process."""
    from pathlib import Path

    from cvntrade.db import create_db_engine

    settings = Settings(home=Path(home), database_url=database_url)
    engine = create_db_engine(database_url)
    return snapshot_job(
        engine,
        settings,
        monitor=MonitorSettings(interval=interval),
        store=store,
        references=registry_references(tracking_uri),
    )


_worker: list[Callable[[], MonitorSnapshot]] = []
"""The job of THIS worker process (set once by `_init_worker`; empty in the exporter)."""


def _init_worker(factory: Callable[[], Callable[[], MonitorSnapshot]]) -> None:
    _worker.append(factory())


def _run_in_worker() -> MonitorSnapshot:
    return _worker[0]()


def in_worker_process(
    factory: Callable[[], Callable[[], MonitorSnapshot]],
) -> tuple[Callable[[], MonitorSnapshot], Callable[[], None]]:
    """Run snapshot jobs in a separate worker process; returns the job and a shutdown function.

    The recomputation (pandas, numba, row fetching) holds the GIL for long stretches; in the
    exporter's own process that would stall the `/metrics` handler thread for hundreds of
    milliseconds. In a worker process the exporter thread only waits on a future, so a scrape
    never waits for a recomputation. `factory` must be picklable (a module-level function or a
    `functools.partial` of one); it builds the job once in the worker (engine, caches).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(factory,),
    )

    def job() -> MonitorSnapshot:
        return executor.submit(_run_in_worker).result()

    def shutdown() -> None:
        executor.shutdown(wait=True, cancel_futures=True)

    return job, shutdown


def process_snapshot_job(
    settings: Settings, *, monitor: MonitorSettings | None = None, store: bool = True
) -> tuple[Callable[[], MonitorSnapshot], Callable[[], None]]:
    """`snapshot_job` for these settings, computed in a worker process (`in_worker_process`)."""
    factory = functools.partial(
        _worker_job,
        settings.effective_database_url,
        str(settings.home),
        settings.effective_tracking_uri,
        (monitor or MonitorSettings()).interval,
        store,
    )
    return in_worker_process(factory)

"""Optimistic concurrency under real contention: 8 processes x 200 compare-and-swap writes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import Engine

from cvntrade.config import config_history, read_config, set_config
from cvntrade.db import create_db_engine
from cvntrade.errors import ConflictError

WORKERS = 8
ATTEMPTS = 200


def _writer(url: str, worker: int) -> list[tuple[str, int, int]]:
    """Each attempt reads the version, then sets a value unique to (worker, attempt)."""
    engine = create_db_engine(url)
    outcomes = []
    try:
        for attempt in range(ATTEMPTS):
            version = read_config(engine).version
            gamma = str(float(worker * 1000 + attempt + 1))
            try:
                change = set_config(
                    engine,
                    {"CVN_FOCAL_GAMMA": gamma},
                    reason=f"w{worker}a{attempt}",
                    actor=f"worker-{worker}",
                    expect_version=version,
                )
            except ConflictError:
                outcomes.append(("stale", attempt, version))
            else:
                outcomes.append(("ok", attempt, change.after.version))
    finally:
        engine.dispose()
    return outcomes


@pytest.mark.slow
def test_concurrent_writers_never_lose_an_update(db_url: str, engine: Engine) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        results = list(pool.map(_writer, [db_url] * WORKERS, range(WORKERS)))

    successes = {
        version: (worker, attempt)
        for worker, outcomes in enumerate(results)
        for kind, attempt, version in outcomes
        if kind == "ok"
    }
    n_ok = sum(kind == "ok" for outcomes in results for kind, _, _ in outcomes)
    n_stale = sum(kind == "stale" for outcomes in results for kind, _, _ in outcomes)
    assert n_ok + n_stale == WORKERS * ATTEMPTS
    assert n_ok == len(successes), "two writers were told they produced the same version"
    assert n_ok > 0

    history = config_history(engine, limit=WORKERS * ATTEMPTS + 10)
    versions = sorted(entry.version for entry in history)
    assert versions == list(range(2, 2 + n_ok)), "versions must be contiguous"
    for entry in history:
        worker, attempt = successes[entry.version]
        assert entry.actor == f"worker-{worker}"
        assert entry.reason == f"w{worker}a{attempt}"
        assert entry.after_env["CVN_FOCAL_GAMMA"] == str(float(worker * 1000 + attempt + 1))
        # No lost update: each change starts from the value the previous one wrote.
        if entry.version > 2:
            previous = next(e for e in history if e.version == entry.version - 1)
            assert entry.before_env == previous.after_env
    final = read_config(engine)
    assert final.version == 1 + n_ok
    worker, attempt = successes[final.version]
    assert final.env["CVN_FOCAL_GAMMA"] == str(float(worker * 1000 + attempt + 1))

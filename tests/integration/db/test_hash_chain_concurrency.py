"""Parallel writers (processes) keep one chain: no two rows ever claim the same predecessor.

Four processes each write audit rows (plain, and through `set_config`, which chains the config
history and the audit log in one transaction) as fast as they can; afterwards both chains
verify and hold every row. Without the head lock, two writers reading the same head would fork
the chain and verify would name the second row.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import Engine

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.config import set_config
from cvntrade.db import create_db_engine, write_transaction
from cvntrade.db.verify import verify_chains

WORKERS = 4
WRITES = 40
CONFIG_EVERY = 5


def _writer(url: str, worker: int) -> int:
    """WRITES audited changes; every CONFIG_EVERY-th one is a config change (two chains)."""
    engine = create_db_engine(url)
    configs = 0
    try:
        for i in range(WRITES):
            if i % CONFIG_EVERY == 0:
                gamma = str(float(worker * 1000 + i + 1))
                set_config(engine, {"CVN_FOCAL_GAMMA": gamma}, reason=f"w{worker}", actor="w")
                configs += 1
                continue
            with write_transaction(engine) as conn:
                write_audit(
                    conn,
                    AuditEntry(
                        dt.datetime.now(dt.UTC),
                        f"worker-{worker}",
                        "test.parallel",
                        f"w{worker}",
                        f"write {i}",
                        after={"worker": worker, "i": i},
                    ),
                )
    finally:
        engine.dispose()
    return configs


@pytest.mark.slow
def test_parallel_writers_keep_one_chain(db_url: str, engine: Engine) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        configs = sum(pool.map(_writer, [db_url] * WORKERS, range(WORKERS)))
    report = verify_chains(engine)
    assert report.intact, report
    audit, history = report.chains
    assert audit.rows == WORKERS * WRITES
    assert history.rows == configs == WORKERS * WRITES // CONFIG_EVERY

"""An import's liveness: alive while its process (or session) holds the lock, dead after."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from cvntrade.journal.batch_owner import claim_owner, owner_alive, sweep_dead_owner_files


def test_an_owner_is_alive_until_it_releases_or_its_session_ends(engine: Engine) -> None:
    with engine.connect() as mine, engine.connect() as other:
        owner = claim_owner(mine)
        assert owner_alive(other, owner.token)
        owner.release()
        assert not owner_alive(other, owner.token)
        again = claim_owner(mine)
        if again.fd is not None:
            os.close(again.fd)  # SQLite: as if the process died (the kernel drops its flock)
        else:
            mine.invalidate()  # PostgreSQL: the session ends, the server drops the lock
        assert not owner_alive(other, again.token)
        assert not owner_alive(other, "never-claimed")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL keeps no files
def test_unheld_lock_files_are_swept_and_held_ones_kept(engine: Engine) -> None:
    with engine.connect() as conn:
        live = claim_owner(conn)
        dead = claim_owner(conn)
        assert dead.fd is not None and dead.path is not None and live.path is not None
        os.close(dead.fd)
        assert sweep_dead_owner_files(conn) == 1
        assert live.path.exists() and not dead.path.exists()
        assert owner_alive(conn, live.token)
        live.release()
        assert not live.path.exists()

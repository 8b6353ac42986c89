"""What `cvntrade up` reads and writes outside its children: console login, symbols, probes,
audit rows — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from cvntrade.audit import read_audit
from cvntrade.clock import utc_now
from cvntrade.console.users import add_user, authenticate, disable_user, list_users
from cvntrade.errors import DependencyError, UserInputError
from cvntrade.market import ParquetStore, generate_market
from cvntrade.platform.login import ensure_login
from cvntrade.platform.parts import PartSpec
from cvntrade.platform.processes import check_ports
from cvntrade.platform.wiring import engine_heartbeat, make_audit, make_probe, stored_symbols
from cvntrade.trading.persistence import StatusRow, write_block


def test_with_no_user_up_creates_one_admin_whose_printed_password_logs_in(engine: Engine) -> None:
    login = ensure_login(engine, actor="ops", create_admin=True)
    assert login.created == "admin" and login.password is not None
    assert len(login.password) >= 20
    user = authenticate(engine, "admin", login.password)
    assert user is not None and user.role == "admin"
    [entry] = read_audit(engine, action="users.add")
    assert (entry.actor, entry.target) == ("ops", "user:admin")
    assert login.password not in repr(entry)  # the password is nowhere but on the screen
    again = ensure_login(engine, actor="ops", create_admin=True)
    assert (again.created, again.password, again.usernames) == (None, None, ("admin",))
    assert len(read_audit(engine, action="users.add")) == 1


def test_no_admin_is_invented_when_refused_or_when_users_exist(engine: Engine) -> None:
    with pytest.raises(UserInputError, match="cvntrade users add NAME --role admin"):
        ensure_login(engine, actor="ops", create_admin=False)
    assert list_users(engine) == []
    add_user(engine, "olivia", "a long password", "operator", actor="ops")
    assert ensure_login(engine, actor="ops", create_admin=True).usernames == ("olivia",)
    disable_user(engine, "olivia", actor="ops")
    with pytest.raises(UserInputError, match="every console user is disabled"):
        ensure_login(engine, actor="ops", create_admin=True)
    assert [u.username for u in list_users(engine)] == ["olivia"]


def test_the_engine_is_ready_once_it_has_heartbeaten_since_its_start(engine: Engine) -> None:
    spawned = utc_now()
    assert engine_heartbeat(engine, "serve:x", spawned) == (False, "loading champions")
    old = StatusRow(
        "serve:x", "BTCUSDC", "S", "m", 1, "binary", False, "paper",
        spawned - dt.timedelta(hours=1), dt.datetime(2025, 2, 1, 5), None,
    )  # fmt: skip
    write_block(engine, [], [], [old])
    assert engine_heartbeat(engine, "serve:x", spawned)[0] is False  # an earlier run's row
    fresh = StatusRow(
        "serve:x", "BTCUSDC", "S", "m", 1, "binary", True, "paper",
        utc_now(), dt.datetime(2025, 2, 3, 14), None,
    )  # fmt: skip
    write_block(engine, [], [], [fresh])
    ready, detail = engine_heartbeat(engine, "serve:x", spawned)
    assert ready
    assert "1 symbol(s), last bar 2025-02-03 14:00" in detail
    assert "STALE champion: BTCUSDC" in detail
    probe = make_probe(engine, "0.0.0.0", "serve:x")
    assert probe(PartSpec("engine", ("x",)), spawned)[0] is True


def test_a_listening_part_is_ready_when_its_port_accepts(engine: Engine) -> None:
    probe = make_probe(engine, "127.0.0.1", "serve:x")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        spec = PartSpec("console", ("x",), port=port, port_option="--console-port")
        assert probe(spec, utc_now()) == (False, f"waiting for port {port}")
        server.listen()
        assert probe(spec, utc_now()) == (True, "")
        with pytest.raises(DependencyError, match=f"port {port} on 127.0.0.1 .*--console-port"):
            check_ports([spec], "127.0.0.1")


def test_audit_rows_are_written_and_a_refusal_is_reported_not_raised(engine: Engine) -> None:
    warnings: list[str] = []
    audit = make_audit(
        engine, "ops", lambda action, target, reason, details: warnings.append(reason)
    )
    audit("platform.part_crashed", "part:engine", "crashed (killed by SIGKILL)", {"exit": -9})
    [entry] = read_audit(engine, action="platform.part_crashed")
    assert (entry.actor, entry.target, entry.after) == ("ops", "part:engine", {"exit": -9})
    audit("platform.part_crashed", "part:engine", "bad\x00reason", {})  # refused by the audit log
    assert len(warnings) == 1 and "could not write the audit row" in warnings[0]


def test_stored_symbols_agree_with_the_market_store(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    market = generate_market(
        ("BTCUSDC", "ETHUSDC"), pd.Timestamp("2024-12-30"), pd.Timestamp("2025-01-03"), seed=1
    )
    for symbol, frame in market.frames.items():
        store.write(symbol, "1h", frame, source="synthetic")
    daily = generate_market(
        ("SOLUSDC",), pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), interval="1d"
    )
    store.write("SOLUSDC", "1d", daily.frames["SOLUSDC"], source="synthetic")
    for interval in ("1h", "1d"):
        expected = tuple(sorted(d.symbol for d in store.datasets() if d.interval == interval))
        assert stored_symbols(tmp_path, interval) == expected
    assert stored_symbols(tmp_path, "1h") == ("BTCUSDC", "ETHUSDC")
    with pytest.raises(UserInputError, match="no 4h market data under"):
        stored_symbols(tmp_path, "4h")

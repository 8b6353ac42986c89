"""`cvntrade audit verify`: exit 0 with "N rows, chain intact"; exit 1 naming the broken row.

Run in-process (same parsing, error mapping and exit codes as the real process) on SQLite and
PostgreSQL; the trail is written by real commands and tampered with as a superuser would.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hardening_support import Outcome, cli_in_process

from chain_tamper import swap_ids, tamper
from cvntrade.db import create_db_engine


@pytest.fixture
def cli(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    invoke = cli_in_process(cli_env, monkeypatch, capsys)
    for args in (
        ["config", "set", "CVN_FOCAL_GAMMA=3.0", "--reason", "first"],
        ["config", "set", "CVN_FOCAL_GAMMA=4.0", "--reason", "second"],
        ["incident", "open", "--title", "BTC down"],
        ["incident", "note", "1", "looking"],
        ["kill-switch", "on", "--reason", "drill"],
    ):
        done = invoke(*args)
        assert done.code == 0, done.err
    return invoke


def _tamper(db_url: str, *statements: str) -> None:
    engine = create_db_engine(db_url)
    try:
        tamper(engine, *statements)
    finally:
        engine.dispose()


def test_intact_trail_exits_0_with_counts_and_head(cli: Callable[..., Outcome]) -> None:
    done = cli("audit", "verify")
    assert done.code == 0, done.err
    assert "audit_log: 5 rows, chain intact (head " in done.out
    assert "ftf_config_history: 2 rows, chain intact" in done.out
    payload = json.loads(cli("audit", "verify", "--json").out)
    assert payload["intact"] is True
    head = payload["chains"][0]["head_hash"]
    assert f"(head {head} at row 5)" in done.out
    assert cli("audit", "verify", "--anchor", head.upper()).code == 0


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit_log SET actor = 'mallory' WHERE id = 2"], "at row 2 (changed)"),
        (["DELETE FROM audit_log WHERE id = 3"], "at row 4 (missing)"),
        (list(swap_ids("audit_log", 3, 4)), "at row 3 (reordered)"),
        (
            [
                "UPDATE audit_log SET id = id + 100 WHERE id > 1",
                "INSERT INTO audit_log (id, at, actor, action, target, reason) "
                "SELECT 2, at, 'mallory', action, target, 'forged' FROM audit_log WHERE id = 1",
            ],
            "at row 2 (inserted)",
        ),
    ],
)
def test_tampered_trail_exits_1_naming_the_row(
    cli: Callable[..., Outcome], db_url: str, statements: list[str], expected: str
) -> None:
    _tamper(db_url, *statements)
    done = cli("audit", "verify")
    assert done.code == 1, done.err
    assert f"audit_log: chain BROKEN {expected}" in done.out
    assert "ftf_config_history: 2 rows, chain intact" in done.out
    payload = json.loads(cli("audit", "verify", "--json").out)
    assert payload["intact"] is False
    broken = payload["chains"][0]["broken"]
    assert f"at row {broken['row_id']} ({broken['kind']})" == expected


def test_a_lost_anchor_exits_1(cli: Callable[..., Outcome]) -> None:
    done = cli("audit", "verify", "--anchor", "ab" * 32)
    assert done.code == 1
    assert f"anchor missing: {'ab' * 32} is in no chain" in done.out


@pytest.mark.parametrize("anchor", ["xyz", "ab" * 31, "ab" * 33, "[/]"])
def test_a_malformed_anchor_is_exit_2(cli: Callable[..., Outcome], anchor: str) -> None:
    done = cli("audit", "verify", "--anchor", anchor)
    assert done.code == 2
    assert done.err.startswith("error: invalid --anchor") and done.err.count("\n") == 1

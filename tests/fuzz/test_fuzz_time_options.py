"""Fuzz the commands driven by times, windows and symbol lists, on a world with history.

The world holds a drill journal (focal regression, written into the database), a few weeks of
synthetic BTCUSDC bars and an empty MLflow store. Commands: `expectancy` (+ `folds`), `runbook
confirm/diagnose/check-config/rollback --dry-run`, `monitor check` (exit 1 = the alert fires, as
documented), `drill journal`, `trade replay/paper`, `data synth/show`, with hostile `--now`,
`--window`, `--from/--to`, `--start/--end`, `--symbols`, `--interval`, `--seed`, `--incident`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fuzz_strategies import (
    Opt,
    any_command,
    hostile_number,
    hostile_symbols,
    hostile_text,
    hostile_time,
    hostile_window,
)
from fuzz_support import World, fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

NOW = "2026-11-24T12:00:00Z"
BIG = "99999999999999999999"
intervals = st.one_of(st.sampled_from(["1d", "1s", "1m", "0h", "7x", "", "1M"]), hostile_text)
losses = st.one_of(st.sampled_from(["binary:logistic", "FOCAL", "none"]), hostile_text)


def _with_history(world: World, mlflow_template: Path) -> World:
    """`world` with a drill journal, synthetic bars and an (empty) MLflow store."""
    shutil.copy(mlflow_template, world.home / "mlflow.db")
    for args in (
        ["drill", "journal", "--scenario", "focal-regression", "--into-database", "--now", NOW],
        ["data", "synth", "--symbols", "BTCUSDC", "--start", "2026-11-01", "--end", "2026-11-25"],
    ):
        done = world.run_cli(*args)
        assert done.code == 0, done.err
    return world


@pytest.fixture
def history(sqlite_world: World, mlflow_template: Path) -> World:
    """A world with history on SQLite."""
    return _with_history(sqlite_world, mlflow_template)


@pytest.fixture
def history_any(world: World, mlflow_template: Path) -> World:
    """A world with history on SQLite and on PostgreSQL."""
    return _with_history(world, mlflow_template)


ACTOR = Opt("--actor", st.sampled_from(["alice", "ops bot"]), hostile_text)
NOW_OPT = Opt("--now", st.sampled_from([NOW, "2026-11-22T00:00:00Z"]), hostile_time)
INCIDENT = Opt("--incident", st.just("1"), hostile_number)
SYMBOLS = Opt("--symbols", st.sampled_from(["BTCUSDC", "BTCUSDC,ETHUSDC"]), hostile_symbols)
DAYS = st.sampled_from(["2026-11-20", "2026-11-21", "2026-11-22T06:00:00Z", "2026-11-23"])
READS = (
    (
        ("expectancy",),
        (
            Opt("--window", st.sampled_from(["48h", "7d", "90m"]), hostile_window),
            Opt("--loss", st.sampled_from(["focal", "binary", "all"]), losses),
            NOW_OPT,
        ),
    ),
    (("expectancy", "folds"), (Opt("--loss", st.just("focal"), losses), NOW_OPT)),
    (("monitor", "check"), (NOW_OPT,)),
    (
        ("data", "show"),
        (
            Opt(None, st.just("BTCUSDC"), hostile_symbols, required=True),
            Opt("--interval", st.just("1h"), intervals),
            Opt("--start", DAYS, hostile_time),
            Opt("--end", st.just("2026-11-24"), hostile_time),
            Opt("--rows", st.sampled_from(["0", "3"]), hostile_number),
        ),
    ),
    (("runbook", "diagnose"), (SYMBOLS, NOW_OPT)),
)
WRITES = (
    (("runbook", "confirm"), (NOW_OPT, INCIDENT, ACTOR)),
    (
        ("drill", "journal"),
        (
            Opt(
                "--scenario",
                st.sampled_from(["focal-regression", "single-symbol", "healthy"]),
                hostile_text,
                required=True,
            ),
            Opt("--seed", st.sampled_from(["1", "7"]), hostile_number),
            NOW_OPT,
        ),
    ),
    (
        ("data", "synth"),
        (
            Opt("--symbols", st.just("BTCUSDC"), hostile_symbols, required=True),
            Opt("--start", st.just("2026-11-20"), hostile_time, required=True),
            Opt("--end", DAYS, hostile_time, required=True),
            Opt("--interval", st.sampled_from(["1h", "4h", "15m"]), intervals),
            Opt("--seed", st.sampled_from(["0", "5"]), hostile_number),
            Opt("--signal-strength", st.sampled_from(["1.0", "2.0"]), hostile_number),
            Opt("--session", st.sampled_from(["always", "weekdays"]), hostile_text),
            Opt("--regime-shift-at", st.just("2026-11-21"), hostile_time),
        ),
    ),
    (
        ("trade", "replay"),
        (
            SYMBOLS,
            Opt("--from", DAYS, hostile_time, required=True),
            Opt("--to", st.just("2026-11-24"), hostile_time, required=True),
            Opt("--interval", st.just("1h"), intervals),
            Opt("--strategy", st.sampled_from(["SL0.5_TP1_H4", "SL1_TP2_H8"]), hostile_text),
        ),
    ),
    (
        ("runbook", "rollback", "--dry-run"),
        (
            Opt("--reason", st.just("page"), hostile_text, required=True),
            SYMBOLS,
            Opt("--wait-s", st.sampled_from(["0", "1"]), hostile_number),
            INCIDENT,
        ),
    ),
    (
        ("runbook", "check-config"),
        (SYMBOLS, Opt("--strategy", st.just("SL1_TP2_H8"), hostile_text)),
    ),
)


@fuzz_settings(35)
@given(args=any_command(READS))
def test_reading_commands(history: World, args: list[str]) -> None:
    history.run(*args, negative=args[:2] == ["monitor", "check"])


@fuzz_settings(35)
@given(args=any_command(WRITES))
@example(args=["runbook", "confirm", "--incident", BIG])  # was exit 70: id beyond 64 bits
# A refused automatic rollback printed its "auto: …" progress line before the error (2 lines):
@example(args=["runbook", "rollback", "--dry-run", "--reason", "page", "--json"])
def test_writing_commands(history: World, args: list[str]) -> None:
    history.run(*args)


@fuzz_settings(12)
@given(args=any_command(WRITES))
def test_writing_commands_both_backends(history_any: World, args: list[str]) -> None:
    history_any.run(*args)

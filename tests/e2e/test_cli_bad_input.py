"""Bad input: exit 2, one line, no traceback, no change.

The parametrized cases run `cvntrade.cli.main.run` in this process (same parsing, error mapping
and exit codes; a subprocess per case cost ~1 s of interpreter start each, ~40 cases x 2
backends). The real process is still exercised: a missing file, a stale version and an
unmigrated database run `python -m cvntrade.cli.main`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cvntrade.cli import main
from cvntrade.db.tables import audit_log, ftf_config, ftf_config_history, trade_journal
from cvntrade.settings import get_settings

Result = tuple[int, str]  # exit code, stderr

GOOD_ROW = (
    "t-1,BTCUSDC,SL0.5_TP1_H4,CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4,42,focal,"
    "2026-11-24T10:00:00,2026-11-24T12:00:00,91000,91910,take_profit,0.1,0.9"
)
HEADER = (
    "trade_id,crypto_symbol,strategy,model_name,model_version,model_loss_function,entry_time,"
    "exit_time,entry_price,exit_price,exit_reason,fees_pct,realized_pnl_pct"
)


def _bad_csv(tmp_path: Path, name: str, replace: tuple[str, str]) -> str:
    second = GOOD_ROW.replace("t-1", "t-2").replace(*replace)
    path = tmp_path / name
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n{second}\n")
    return str(path)


def _state(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (trade_journal, ftf_config_history, audit_log)
        )
        config = conn.execute(select(ftf_config)).one()
    return (*counts, tuple(config))


CASES: list[tuple[str, list[str], str]] = [
    (
        "unknown key",
        ["config", "set", "CVN_FOO=1", "--reason", "r"],
        "unknown config key 'CVN_FOO'",
    ),
    (
        "bad loss",
        ["config", "set", "CVN_LOSS_FUNCTION=focal_loss", "--reason", "r"],
        "CVN_LOSS_FUNCTION",
    ),
    (
        "bad gamma",
        ["config", "set", "CVN_FOCAL_GAMMA=-2", "--reason", "r"],
        "CVN_FOCAL_GAMMA: must be >= 0",
    ),
    (
        "bad alpha",
        ["config", "set", "CVN_LOSS_FUNCTION=focal", "CVN_FOCAL_ALPHA=1", "--reason", "r"],
        "CVN_FOCAL_ALPHA",
    ),
    (
        "bad calibration",
        ["config", "set", "CVN_CALIBRATION=platt", "--reason", "r"],
        "CVN_CALIBRATION",
    ),
    ("no assignment", ["config", "set", "CVN_FOCAL_GAMMA", "--reason", "r"], "expected KEY=VALUE"),
    ("empty reason", ["config", "set", "CVN_FOCAL_GAMMA=1", "--reason", " "], "--reason"),
    ("missing reason", ["config", "set", "CVN_FOCAL_GAMMA=1"], "--reason"),
    (
        "bad expect-version",
        ["config", "set", "CVN_FOCAL_GAMMA=1", "--reason", "r", "--expect-version", "x"],
        "--expect-version",
    ),
    ("bad window", ["expectancy", "--window", "48"], "invalid window '48'"),
    ("bad loss filter", ["expectancy", "--loss", "hinge"], "invalid --loss 'hinge'"),
    ("bad now", ["expectancy", "folds", "--now", "tomorrow"], "invalid --now 'tomorrow'"),
    ("bad scenario", ["drill", "journal", "--scenario", "panic"], "unknown scenario 'panic'"),
    ("bad cause", ["drill", "scenario", "--cause", "panic"], "unknown --cause 'panic'"),
    (
        "bad drill now",
        ["drill", "scenario", "--cause", "healthy", "--now", "tomorrow"],
        "invalid --now 'tomorrow'",
    ),
]


@pytest.mark.parametrize(("label", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_arguments(
    engine: Engine,
    in_process: Callable[[list[str]], Result],
    label: str,
    args: list[str],
    message: str,
) -> None:
    _assert_rejected(engine, in_process, args, message)


FILE_CASES = [
    ("nan pnl", ("0.9", "nan"), "row 2: realized_pnl_pct must be finite"),
    ("inf pnl", ("0.9", "inf"), "row 2: realized_pnl_pct must be finite"),
    ("exit before entry", ("2026-11-24T12:00:00", "2026-11-24T09:00:00"), "row 2: exit_time"),
    ("bad loss name", (",focal,", ",focal_loss,"), "row 2: model_loss_function"),
    ("bad symbol", ("t-2,BTCUSDC", "t-2,btc/usdc"), "row 2: invalid symbol 'btc/usdc'"),
]


@pytest.mark.parametrize(
    ("label", "replace", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES]
)
def test_bad_trade_files(
    engine: Engine,
    in_process: Callable[[list[str]], Result],
    tmp_path: Path,
    label: str,
    replace: tuple[str, str],
    message: str,
) -> None:
    path = _bad_csv(tmp_path, "trades.csv", replace)
    _assert_rejected(engine, in_process, ["journal", "import", path], message)


def test_missing_trade_file(engine: Engine, cli_env: dict[str, str], tmp_path: Path) -> None:
    _assert_rejected(
        engine,
        lambda args: _subprocess(cli_env, args),
        ["journal", "import", str(tmp_path / "nope.csv")],
        "nope.csv",
    )


def test_stale_expected_version_exits_3_and_changes_nothing(
    engine: Engine, cli_env: dict[str, str]
) -> None:
    before = _state(engine)
    done = _run(
        cli_env, ["config", "set", "CVN_FOCAL_GAMMA=1", "--reason", "r", "--expect-version", "7"]
    )
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "error: stale config version: expected 7, current is 1 (changed by someone else); "
        "re-read with `cvntrade config show` and retry"
    )
    assert _state(engine) == before


def test_unmigrated_database_is_a_clear_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "CVN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    done = _run(env, ["config", "show"])
    assert done.returncode == 2
    assert "run `cvntrade db upgrade`" in done.stderr
    assert "Traceback" not in done.stderr


def _run(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )


@pytest.fixture
def in_process(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[list[str]], Result]]:
    """`cvntrade ARGS` through `main.run` in this process, in `cli_env`'s environment."""
    for key, value in cli_env.items():
        if key.startswith("CVN_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(args: list[str]) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        with pytest.raises(SystemExit) as exit_info:
            main.run()
        return int(exit_info.value.code or 0), capsys.readouterr().err

    yield invoke
    get_settings.cache_clear()


def _subprocess(env: dict[str, str], args: list[str]) -> Result:
    done = _run(env, args)
    return done.returncode, done.stderr


def _assert_rejected(
    engine: Engine, run: Callable[[list[str]], Result], args: list[str], message: str
) -> None:
    before = _state(engine)
    code, stderr = run(args)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert message in stderr
    assert stderr.startswith("error: ")
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert _state(engine) == before

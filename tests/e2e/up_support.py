"""A fresh CVN_HOME ready for `cvntrade up`: migrated, stored bars, a champion per symbol.

The champions are real XGBoost bundles registered in the home's own MLflow sqlite store (the
embedded default), trained in a second on the month before trading starts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from sqlalchemy import Engine, select

from cvntrade.db.tables import backtest_trades, trade_journal
from cvntrade.features import build_dataset
from cvntrade.strategy import Strategy, model_name
from cvntrade.trading.persistence import StatusRow
from cvntrade.training.bundle import ModelBundle, write_bundle

STRATEGY = Strategy.parse("SL0.5_TP1_H4")
SYMBOLS = ("BTCUSDC", "ETHUSDC")
DATA_START, TRAIN_END, DATA_END = "2025-01-01", "2025-02-01", "2025-03-01"
T = TypeVar("T")


def cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (1800 s: a hang guard, not a speed limit)."""
    return subprocess.run(
        [sys.executable, "-m", "cvntrade", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )


def ok(env: dict[str, str], *args: str) -> str:
    """Run the CLI; it must exit 0. Returns stdout."""
    done = cvntrade(env, *args)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done.stdout


def prepare_home(env: dict[str, str], mlflow_template: Path) -> None:
    """Migrate, synthesise two months of 1h bars, register v1 (champion) per symbol."""
    home = Path(env["CVN_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    store = Path(uri.removeprefix("sqlite:///"))
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(mlflow_template, store)  # a fresh store, MLflow's own migrations done
    ok(env, "db", "upgrade")
    ok(
        env,
        "data",
        "synth",
        "--symbols",
        ",".join(SYMBOLS),
        "--start",
        DATA_START,
        "--end",
        DATA_END,
        "--seed",
        "3",
    )
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for symbol in SYMBOLS:
        data = build_dataset(
            symbol,
            STRATEGY,
            pd.Timestamp(DATA_START),
            pd.Timestamp(TRAIN_END),
            data_dir=home / "data",
        )
        matrix = xgb.DMatrix(data.features.to_numpy(), label=(data.labels.label == 1))
        booster = xgb.train(
            {"max_depth": 3, "objective": "binary:logistic", "nthread": 1},
            matrix,
            num_boost_round=20,
        )
        directory = home / "bundles" / symbol
        write_bundle(
            ModelBundle(
                booster,
                tuple(data.features.columns),
                "binary",
                "none",
                1.0,
                0.35,
                STRATEGY.name,
                symbol,
            ),
            directory,
        )
        name = model_name(symbol, STRATEGY)
        client.create_registered_model(name)
        client.create_model_version(name, source=str(directory), tags={"loss_function": "binary"})
        client.set_registered_model_alias(name, "champion", "1")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class UpRun:
    """A running `cvntrade up`, its output going to files (a pipe nobody reads could fill)."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        """What `up` printed so far (stdout, stderr)."""
        return self.stdout.read_text(), self.stderr.read_text()

    def wait(self) -> int:
        """Wait for `up` to end (hang guard only) and return its exit code."""
        return self.process.wait(timeout=1800)


def start_up(env: dict[str, str], workdir: Path, *args: str) -> UpRun:
    """Start `cvntrade up ARGS` as a real process (stdout/stderr not a terminal)."""
    out, err = workdir / "up.out", workdir / "up.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "cvntrade", "up", *args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    return UpRun(process, out, err)


def wait_for(what: str, probe: Callable[[], T | None], up: UpRun) -> T:
    """Poll `probe` until it returns a value; fail at once if `up` ended meanwhile.

    The deadline (30 min) is a hang guard for a loaded machine, not a speed requirement.
    """
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        if up.process.poll() is not None:
            out, err = up.output()
            raise AssertionError(
                f"`cvntrade up` exited {up.process.returncode} before {what}:\n{out}\n{err}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def up_state(home: Path) -> dict[str, Any] | None:
    """The supervisor's status file, once written."""
    path = home / "run" / "up.json"
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state


def gone(pid: int) -> bool:
    """True when no process (nor process group) `pid` exists any more."""
    for check in (os.kill, os.killpg):
        try:
            check(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            return False
        return False
    return True


def terminate(up: UpRun) -> None:
    """Clean-up for a failed test: SIGTERM `up`, then SIGKILL it if it does not end."""
    process = up.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


TRADE_COLUMNS = [
    "trade_id",
    "crypto_symbol",
    "strategy",
    "model_name",
    "model_version",
    "model_loss_function",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "exit_reason",
    "fees_pct",
    "realized_pnl_pct",
    "probability",
]


def journal_trades(db: Engine) -> pd.DataFrame:
    """trade_journal's trades (the columns a backtest stores too), by trade id."""
    with db.connect() as conn:
        frame = pd.read_sql(select(trade_journal).order_by(trade_journal.c.trade_id), conn)
    return frame[TRADE_COLUMNS].reset_index(drop=True)


def backtest_trades_of(db: Engine, run_id: int) -> pd.DataFrame:
    """One backtest run's trades, by trade id (the uninterrupted reference)."""
    query = (
        select(backtest_trades)
        .where(backtest_trades.c.run_id == run_id)
        .order_by(backtest_trades.c.trade_id)
    )
    with db.connect() as conn:
        frame = pd.read_sql(query, conn)
    return frame[TRADE_COLUMNS].reset_index(drop=True)


def open_entry(row: StatusRow) -> dt.datetime | None:
    """Entry time of the position open in an engine checkpoint (None: flat or pending)."""
    position = (row.state or {}).get("position")
    if position is None:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(position["entry_ms"]))


def assert_nothing_lost(
    journal: pd.DataFrame, reference: pd.DataFrame, saved: dict[str, StatusRow]
) -> None:
    """The definition of "no journal row lost" at a stop, per symbol with checkpoint bar T:
    every trade of the uninterrupted reference entered at or before T is in trade_journal
    (the identical row) or is the position still open in the checkpoint (resumed by the next
    run); nothing entered after T is journaled; nothing is journaled twice."""
    assert not journal["trade_id"].duplicated().any()
    for symbol, row in saved.items():
        assert row.last_bar_time is not None, f"{symbol}: no checkpoint"
        ours = journal[journal["crypto_symbol"] == symbol]
        theirs = reference[
            (reference["crypto_symbol"] == symbol) & (reference["entry_time"] <= row.last_bar_time)
        ]
        entry = open_entry(row)
        expected = theirs[theirs["entry_time"] != entry] if entry is not None else theirs
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), expected.reset_index(drop=True))
        if entry is not None and entry in set(theirs["entry_time"]):
            assert entry not in set(ours["entry_time"])

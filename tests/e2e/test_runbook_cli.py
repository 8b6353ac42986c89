"""`cvntrade runbook …` and `cvntrade incident …` as an operator types them.

`rollback` runs in its own process, as in production: another process than the engine's, and
one that can be killed at any point. The quick commands run in-process through
`cvntrade.cli.main.run` (same parsing, error mapping and exit codes) to keep the suite fast.

The acceptance scenario runs the real trading engine (`cvntrade.trading.service.run_live`: its
champion cache, alias-event invalidation and heartbeats) in a thread of the test process, on a
synthetic exchange and with constant-probability models (the test is about *which* model
serves): the engine must serve the binary champions before `rollback` returns.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from sqlalchemy import Engine, func, select

from cvntrade.audit import read_audit
from cvntrade.cli import main
from cvntrade.config import read_config, set_config
from cvntrade.db import create_db_engine
from cvntrade.db.tables import audit_log, engine_status, incidents
from cvntrade.drill import run_journal_drill
from cvntrade.market import generate_market
from cvntrade.market.schema import timestamps_ms
from cvntrade.registry import MlflowRegistry
from cvntrade.runbook import list_incidents, open_incident
from cvntrade.settings import get_settings
from cvntrade.strategy import DEFAULT_STRATEGY, Strategy, model_name

SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
NEGATIVE = ("BTCUSDC", "ETHUSDC", "SOLUSDC")  # what the focal-regression drill makes negative
REASON = "expectancy_negative_focal: rollback"
MARKET_END = pd.Timestamp("2026-01-06")


def cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `cvntrade ARGS` in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )


@dataclass(frozen=True)
class Outcome:
    """Exit code and output of one in-process `cvntrade` invocation."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@pytest.fixture
def cli(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., Outcome]]:
    """`cvntrade ARGS` in this process, in `env`'s environment."""
    for key, value in env.items():
        if key.startswith(("CVN_", "MLFLOW_")):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        with pytest.raises(SystemExit) as exit_info:
            main.run()
        captured = capsys.readouterr()
        return Outcome(int(exit_info.value.code or 0), captured.out, captured.err)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def env(cli_env: dict[str, str], mlflow_template: Path, tmp_path: Path) -> dict[str, str]:
    """CLI environment with its own MLflow store holding focal champions for all symbols.

    Each model has versions 1 binary, 2 binary, 3 focal = champion.
    """
    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for symbol in SYMBOLS:
        name = model_name(symbol, DEFAULT_STRATEGY)
        client.create_registered_model(name)
        for loss in ("binary", "binary", "focal"):
            client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", "3")
    return {**cli_env, "MLFLOW_TRACKING_URI": uri}


def champions(env: dict[str, str]) -> dict[str, int]:
    registry = MlflowRegistry(env["MLFLOW_TRACKING_URI"])
    return {s: registry.aliases(model_name(s, DEFAULT_STRATEGY))["champion"] for s in SYMBOLS}


def alias_audits(engine: Engine) -> list[str]:
    return sorted(a.target for a in read_audit(engine, action="models.set_alias", limit=1000))


# --- the real engine, live paper trading on a synthetic exchange ----------------------------


@dataclass(frozen=True)
class ConstantModel:
    """A `TradableModel` that never enters: the test only cares which version serves."""

    loss_function: str
    threshold: float = 2.0

    def predict_proba(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.full(len(features), 0.5)


class SyntheticExchange:
    """`fetch_ohlcv` over generated candles (what ccxt returns: [ms, o, h, l, c, v])."""

    def __init__(self, symbols: Sequence[str]) -> None:
        market = generate_market(symbols, MARKET_END - pd.Timedelta(days=5), MARKET_END, seed=3)
        self.candles = {
            f"{symbol.removesuffix('USDC')}/USDC": [
                [int(ms), *row]
                for ms, row in zip(
                    timestamps_ms(frame),
                    frame[["open", "high", "low", "close", "volume"]].to_numpy().tolist(),
                    strict=True,
                )
            ]
            for symbol, frame in market.frames.items()
        }

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        rows = [c for c in self.candles[symbol] if since is None or c[0] >= since]
        return rows[: limit or len(rows)]


class _StopEngineError(Exception):
    pass


class LiveEngine:
    """`run_live` in a thread until stopped; `ready` is set after its first heartbeat."""

    def __init__(self, db_url: str, tracking_uri: str) -> None:
        from cvntrade.trading.engine import Costs
        from cvntrade.trading.service import EngineSetup

        self.db = create_db_engine(db_url)
        registry = MlflowRegistry(tracking_uri)

        def load(name: str, version: int) -> ConstantModel:
            return ConstantModel(registry.get_version(name, version).loss_function or "binary")

        self.setup = EngineSetup(
            db=self.db,
            registry=registry,
            loader=load,
            symbols=SYMBOLS,
            strategy=Strategy.parse(DEFAULT_STRATEGY),
            interval="1h",
            costs=Costs(0.1, 0.02),
            poll_s=2.0,
            engine_id="e2e-live",
        )
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from cvntrade.trading.service import run_live

        def on_poll(_polls: int) -> None:
            self.ready.set()
            if self.stop.is_set():
                raise _StopEngineError

        try:
            run_live(
                self.setup,
                SyntheticExchange(SYMBOLS),
                since=(MARKET_END - pd.Timedelta(hours=3)).to_pydatetime(),
                max_polls=None,
                poll_every_s=0.2,
                now=lambda: MARKET_END.to_pydatetime(),
                sleep=self._sleep,
                on_poll=on_poll,
            )
        except _StopEngineError:
            pass
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self.ready.set()

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def __enter__(self) -> LiveEngine:
        self.thread.start()
        assert self.ready.wait(60), "engine did not start"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.db.dispose()

    def served(self) -> dict[str, int | None]:
        with self.db.connect() as conn:
            rows = conn.execute(
                select(engine_status.c.crypto_symbol, engine_status.c.model_version).where(
                    engine_status.c.engine_id == "e2e-live"
                )
            ).all()
        return {str(symbol): version for symbol, version in rows}


def test_runbook_acceptance_with_the_real_engine(
    db_url: str, engine: Engine, env: dict[str, str], cli: Callable[..., Outcome]
) -> None:
    run_journal_drill(engine, "focal-regression", actor="drill")  # as `cvntrade drill journal`
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    incident = cli("incident", "open", "--title", "focal negative on 3 symbols", "--json").json()

    confirmed = cli("runbook", "confirm", "--json").json()
    assert confirmed["verdict"] == "real"
    assert tuple(confirmed["negative_symbols"]) == NEGATIVE
    assert confirmed["incident_id"] == incident["id"]
    config = cli("runbook", "check-config", "--json").json()
    assert (config["verdict"], config["loss_function"]) == ("active", "focal")
    plan = cli("runbook", "rollback", "--reason", REASON, "--dry-run")
    assert plan.code == 0, plan.err
    assert "DRY RUN — nothing changed" in plan.out
    assert "cvntrade models set-alias --name CVNTrade_XGBoost_SOLUSDC_SL0.5_TP1_H4" in plan.out
    assert champions(env) == dict.fromkeys(SYMBOLS, 3)
    assert read_config(engine).loss_function == "focal"

    with LiveEngine(db_url, env["MLFLOW_TRACKING_URI"]) as live:
        assert live.served() == dict.fromkeys(SYMBOLS, 3)
        done = cvntrade(env, "runbook", "rollback", "--reason", REASON, "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert live.served() == {**dict.fromkeys(SYMBOLS, 3), **dict.fromkeys(NEGATIVE, 2)}

        again = cli("runbook", "rollback", "--reason", REASON)  # in-process: same checks
        assert again.code == 0, again.err
    assert live.error is None

    propagation = result["propagation"]["symbols"]
    assert [(p["crypto_symbol"], p["status"]) for p in propagation] == [
        (s, "switched") for s in NEGATIVE
    ]
    assert all(p["elapsed_s"] < 5 for p in propagation)
    assert result["timing"]["within_sla"]
    assert result["changed"]
    assert read_config(engine).loss_function == "binary:logistic"
    assert champions(env) == {**dict.fromkeys(SYMBOLS, 3), **dict.fromkeys(NEGATIVE, 2)}
    assert alias_audits(engine) == sorted(
        f"{model_name(s, DEFAULT_STRATEGY)}@champion" for s in NEGATIVE
    )
    assert "nothing changed: config and champions were already rolled back" in again.out
    assert "switched after" in again.out
    assert "within the 60 s revert SLA" in again.out
    assert read_config(engine).version == result["config_version_after"]

    timeline = cli("incident", "show", str(incident["id"]), "--json").json()
    assert timeline["incident"]["status"] == "mitigated"
    kinds = [e["kind"] for e in timeline["entries"]]
    assert kinds[:4] == ["incident.open", "runbook.confirm", "runbook.check_config", "config.set"]
    assert kinds.count("models.set_alias") == 3
    shown = cli("incident", "show", str(incident["id"]))
    assert "— cvntrade models set-alias --name CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4" in shown.out
    assert cli("incident", "list", "--open", "--json").json()[0]["status"] == "mitigated"
    closed = cli("incident", "note", str(incident["id"]), "recovered", "--status", "resolved")
    assert closed.code == 0, closed.err
    assert cli("incident", "list", "--open", "--json").json() == []
    assert "resolved" in cli("incident", "list").out


def test_single_symbol_is_transient_and_binary_config_is_stale(
    engine: Engine, env: dict[str, str], cli: Callable[..., Outcome]
) -> None:
    run_journal_drill(engine, "single-symbol", actor="drill")
    confirmed = cli("runbook", "confirm")
    assert confirmed.code == 0, confirmed.err
    assert "verdict: transient — 1 negative symbol(s): SOLUSDC" in confirmed.out
    [logged] = list_incidents(engine, status="false_positive")
    assert f"recorded as false positive in new incident #{logged.id}" in confirmed.out
    noted = cli("incident", "note", str(logged.id), "noisy SOL feed confirmed", "--json").json()
    assert noted["note"]["text"] == "noisy SOL feed confirmed"
    # The config says binary, but the focal champions (version 3) still serve: no all-clear.
    mismatch = cli("runbook", "check-config", "--json").json()
    assert mismatch["verdict"] == "mismatch"
    assert tuple(mismatch["focal_symbols"]) == SYMBOLS
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    for symbol in SYMBOLS:
        client.set_registered_model_alias(model_name(symbol, DEFAULT_STRATEGY), "champion", "2")
    stale = cli("runbook", "check-config")
    assert stale.code == 0, stale.err
    assert "verdict: stale" in stale.out
    assert "acknowledge the alert, no action" in stale.out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigkill_mid_rollback_is_finished_by_a_rerun_without_repeats(
    engine: Engine, env: dict[str, str], cli: Callable[..., Outcome]
) -> None:
    symbols = ",".join(SYMBOLS)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "runbook",
            "rollback",
            "--symbols",
            symbols,
            "--reason",
            "r",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        while line and not line.startswith(f"{SYMBOLS[0]}: champion"):
            line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        # Hold the database's write lock: the next alias move blocks at BEGIN, before it touches
        # the registry, and the rollback dies there.
        lock = sqlite3.connect(str(engine.url.database), timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
            lock.execute("ROLLBACK")
        finally:
            lock.close()
    finally:
        process.kill()
        process.communicate()
    after_kill = champions(env)
    moved_first = sorted(s for s, v in after_kill.items() if v == 2)
    assert SYMBOLS[0] in moved_first
    assert len(moved_first) < len(SYMBOLS)

    rerun = cli("runbook", "rollback", "--symbols", symbols, "--reason", "r")
    assert rerun.code == 0, rerun.err
    for symbol in SYMBOLS:
        expected = "already binary" if symbol in moved_first else "(focal) → 2 (binary)"
        assert any(
            ln.startswith(f"{symbol}: champion") and expected in ln for ln in rerun.out.splitlines()
        ), rerun.out
    assert champions(env) == dict.fromkeys(SYMBOLS, 2)
    assert alias_audits(engine) == sorted(
        f"{model_name(s, DEFAULT_STRATEGY)}@champion" for s in SYMBOLS
    )


def _table_counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (audit_log, incidents)
        )
    return (*counts, read_config(engine).version)


BAD_INPUT = [
    (["runbook", "rollback"], "Missing option '--reason'"),
    (["runbook", "rollback", "--reason", " "], "--reason"),
    (["runbook", "rollback", "--reason", "r", "--symbols", "btc"], "invalid symbol 'btc'"),
    (["runbook", "rollback", "--reason", "r", "--wait-s", "-1"], "--wait-s"),
    (["runbook", "rollback", "--reason", "r", "--wait-s", "soon"], "--wait-s"),
    (["runbook", "rollback", "--reason", "r", "--strategy", "H4"], "invalid strategy 'H4'"),
    (["runbook", "rollback", "--reason", "r", "--incident", "999"], "incident #999 not found"),
    (["runbook", "confirm", "--incident", "999"], "incident #999 not found"),
    (["runbook", "confirm", "--now", "yesterday"], "invalid --now 'yesterday'"),
    (["runbook", "check-config", "--incident", "0"], "'--incident'"),
    (["incident", "open", "--title", "t", "--severity", "P9"], "invalid severity 'P9'"),
    (["incident", "open", "--title", "t", "--alert", "Focal!"], "invalid alert 'Focal!'"),
    (["incident", "open", "--title", " "], "--title"),
    (["incident", "note", "999", "text"], "incident #999 not found"),
    (["incident", "note", "1", "text", "--status", "closed"], "invalid status 'closed'"),
    (["incident", "show", "999"], "incident #999 not found"),
    (["incident", "show", "one"], "incident_id"),
    (["incident", "list", "--limit", "0"], "'--limit'"),
]
UNREACHABLE_REGISTRY = (
    ["runbook", "rollback", "--reason", "r", "--symbols", "BTCUSDC"],
    "nothing was changed",
)


def test_bad_input_exits_2_and_a_down_registry_4_with_one_line_and_nothing_changed(
    engine: Engine, cli: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # a stopped registry
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    get_settings.cache_clear()
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    open_incident(engine, alert="expectancy_negative_focal", title="t", actor="a")  # #1
    before = _table_counts(engine)
    for (args, message), code in [*((case, 2) for case in BAD_INPUT), (UNREACHABLE_REGISTRY, 4)]:
        done = cli(*args)
        assert done.code == code, (args, done.err)
        assert len(done.err.strip().splitlines()) == 1, (args, done.err)
        assert done.err.startswith("error: ") and message in done.err, (args, done.err)
        assert _table_counts(engine) == before, args


RUNBOOK_DOC = (
    Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "expectancy_negative_focal.md"
)


def documented_commands() -> list[list[str]]:
    """Every `cvntrade …` line of the runbook doc's bash blocks, split like a shell would."""
    blocks = re.findall(r"```bash\n(.*?)```", RUNBOOK_DOC.read_text(), flags=re.S)
    lines = "\n".join(block.replace("\\\n", " ") for block in blocks).splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.startswith("cvntrade ")]


def test_every_command_in_the_runbook_doc_exists_with_its_options() -> None:
    root = typer.main.get_command(main.app)
    commands = documented_commands()
    groups = {tuple(tokens[1:3]) for tokens in commands}
    assert {("runbook", "confirm"), ("runbook", "check-config"), ("runbook", "rollback")} <= groups
    assert {("incident", "open"), ("incident", "note"), ("incident", "show")} <= groups
    for tokens in commands:
        command: Any = root
        used = 1
        while used < len(tokens) and tokens[used] in getattr(command, "commands", {}):
            command = command.commands[tokens[used]]
            used += 1
        options = {opt for param in command.params for opt in param.opts}
        for token in tokens[used:]:
            flag = token.strip("[]").split("=")[0]
            if flag.startswith("--"):
                assert flag in options, (tokens, flag)

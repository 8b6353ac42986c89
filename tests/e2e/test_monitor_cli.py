"""`cvntrade monitor check|report|serve` and `cvntrade alerts list|ack` through the real CLI."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine

from cvntrade.cli import main
from cvntrade.config import set_config
from cvntrade.db.engine import write_transaction
from cvntrade.drill import run_journal_drill
from cvntrade.monitoring.reference import REFERENCE_KEY, build_reference
from cvntrade.runbook import incident_timeline, list_incidents
from cvntrade.settings import get_settings
from cvntrade.trading.persistence import StatusRow, _upsert_status

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Invoke]:
    for key, value in cli_env.items():
        if key.startswith(("CVN_", "MLFLOW_")):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        with pytest.raises(SystemExit) as exit_info:
            main.run()
        captured = capsys.readouterr()
        return int(exit_info.value.code or 0), captured.out, captured.err

    yield invoke
    get_settings.cache_clear()


def test_check_exit_code_follows_the_rule_on_every_drill(engine: Engine, cli: Invoke) -> None:
    run_journal_drill(engine, "focal-regression", actor="drill")
    code, out, _ = cli("monitor", "check")
    assert code == 0 and "focal_loss_active=0" in out  # config still binary: not firing
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    code, out, _ = cli("monitor", "check", "--json")
    verdict = json.loads(out)
    assert code == 1 and verdict["firing"] and verdict["focal_source"] == "config"
    assert verdict["negative_symbols"] == ["BTCUSDC", "ETHUSDC", "SOLUSDC"]
    for scenario in ("single-symbol", "healthy"):
        run_journal_drill(engine, scenario, actor="drill")
        assert cli("monitor", "check")[0] == 0
    code, _, err = cli("monitor", "check", "--now", "yesterday")
    assert code == 2 and "--now" in err and "Traceback" not in err


def test_alerts_ack_of_unknown_event_is_a_one_line_error(engine: Engine, cli: Invoke) -> None:
    code, _, err = cli("alerts", "ack", "42", "--reason", "x")
    assert (
        code == 2 and err.strip() == "error: alert event #42 not found: see `cvntrade alerts list`"
    )
    assert cli("alerts", "list", "--json")[1].strip() == "[]"


def test_report_reads_the_champion_reference_and_draws_charts(
    engine: Engine,
    cli: Invoke,
    cli_env: dict[str, str],
    mlflow_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    uri = f"sqlite:///{store}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    artifacts = tmp_path / "model"
    artifacts.mkdir()
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"ret_1": rng.normal(size=300), "vol_24": rng.uniform(size=300)})
    reference = build_reference(
        features, rng.uniform(0.3, 0.7, 300), rng.integers(0, 2, 300), window=("a", "b")
    )
    (artifacts / "bundle.json").write_text(json.dumps({REFERENCE_KEY: reference}))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m_BTCUSDC")
    client.create_model_version("m_BTCUSDC", source=str(artifacts))
    with write_transaction(engine) as conn:
        _upsert_status(
            conn,
            [
                StatusRow(
                    "e1",
                    "BTCUSDC",
                    "SL0.5_TP1_H4",
                    "m_BTCUSDC",
                    1,
                    "focal",
                    False,
                    "paper",
                    pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(),  # fresh
                )
            ],
        )
    run_journal_drill(engine, "focal-regression", actor="drill")
    plots = tmp_path / "plots"
    code, out, err = cli("monitor", "report", "--json", "--plot", str(plots))
    assert code == 0, err
    report = json.loads(out)
    assert report["alert"]["focal_source"] == "champion" and report["alert"]["firing"]
    [drift] = report["drift"]
    assert drift["sharpness_training"] == pytest.approx(reference["sharpness"])
    assert drift["note"] == ""  # the reference was found through the registry
    assert {Path(p).name for p in report["plots"]} == {
        "expectancy.png",
        "probability_distribution.png",
        "psi_heatmap.png",
    }
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in plots.iterdir())
    code, out, _ = cli("monitor", "report")
    assert code == 0 and "Expectancy" in out and "BTCUSDC" in out


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_exports_metrics_and_pages_once_through_the_webhook(
    engine: Engine,
    cli: Invoke,
    cli_env: dict[str, str],
    receiver: tuple[str, queue.Queue[dict[str, Any]]],
) -> None:
    url, received = receiver
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    run_journal_drill(engine, "focal-regression", actor="drill")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**cli_env, "CVN_ALERT_WEBHOOK_URL": url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "monitor",
            "serve",
            "--port",
            str(port),
            "--interval",
            "0.5",
            "--eval-interval",
            "0.5",
            "--for",
            "0",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        message = received.get(timeout=120)
        assert (message["status"], message["alert"]) == ("firing", "expectancy_negative_focal")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            text = r.read().decode()
        assert 'cvntrade_focal_loss_active{source="config"} 1.0' in text
        assert 'cvntrade_expectancy_net_realized{crypto_symbol="BTCUSDC"' in text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    [incident] = list_incidents(engine, alert="expectancy_negative_focal")
    assert [e.kind for e in incident_timeline(engine, incident.id).entries].count(
        "alert.firing"
    ) == 1
    assert received.empty()  # still firing, within the 4 h repeat interval: one page only
    code, out, _ = cli("alerts", "list", "--json")
    events = json.loads(out)
    assert [e["state"] for e in events] == ["firing", "pending"]
    code, out, err = cli("alerts", "ack", str(events[0]["id"]), "--reason", "rolling back")
    assert code == 0, err
    assert "acknowledged" in out
    kinds = [e.kind for e in incident_timeline(engine, incident.id).entries]
    assert "alert.ack" in kinds

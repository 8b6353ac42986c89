"""`cvntrade data …` end to end: synth → validate → show --plot, imports, fetch replay, bad files.

Commands run in-process through a Typer app that mounts `data_cmd.app` under "data" and maps
`CvnError` to exit codes like `cvntrade.cli.main.run`; one test runs a real subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvntrade.cli import main
from cvntrade.errors import CvnError
from cvntrade.settings import get_settings

DATA = Path(__file__).resolve().parents[1] / "data"
BTC = DATA / "binance" / "BTCUSDC-1h-2024-01.csv"
ETH = DATA / "binance" / "ETHUSDC-1h-2025-01.csv"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CVN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def cli(*args: str) -> Outcome:
    result = CliRunner().invoke(main.app, ["data", *args])
    if isinstance(result.exception, CvnError):
        return Outcome(result.exception.exit_code, result.stdout, f"error: {result.exception}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def test_synth_validate_list_and_show_plot(home: Path, tmp_path: Path) -> None:
    synth = cli(
        "synth",
        "--symbols",
        "BTCUSDC,ETHUSDC",
        "--start",
        "2024-01-01",
        "--end",
        "2024-04-01",
        "--seed",
        "7",
        "--regime-shift-at",
        "2024-02-15",
        "--json",
    )
    assert synth.code == 0, synth.stderr
    payload = json.loads(synth.stdout)
    assert payload["regime_shift_at"] == "2024-02-15T00:00:00"
    assert [s["added"] for s in payload["series"]] == [2184, 2184]
    assert list((home / "data").glob("symbol=*")), "stored under CVN_HOME/data"

    assert cli("validate").code == 0
    listed = json.loads(cli("list", "--json").stdout)
    assert [(s["symbol"], s["rows"], s["source"]) for s in listed] == [
        ("BTCUSDC", 2184, "synthetic"),
        ("ETHUSDC", 2184, "synthetic"),
    ]

    plot = tmp_path / "out.png"
    show = cli("show", "BTCUSDC", "--plot", str(plot), "--rows", "2", "--json")
    assert show.code == 0, show.stderr
    summary = json.loads(show.stdout)
    assert summary["regime_shift_at"] == "2024-02-15T00:00:00"
    assert len(summary["bars"]) == 4
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 20_000
    table = cli("show", "ETHUSDC")
    assert table.code == 0 and "regime shift at 2024-02-15" in table.stdout

    again = json.loads(
        cli(
            "synth",
            "--symbols",
            "BTCUSDC",
            "--start",
            "2024-01-01",
            "--end",
            "2024-04-01",
            "--seed",
            "7",
            "--regime-shift-at",
            "2024-02-15",
            "--json",
        ).stdout
    )
    assert again["series"][0]["unchanged"] == 2184


def test_import_binance_then_validate_files_and_store(home: Path) -> None:
    imported = cli("import-binance", str(BTC), str(ETH), "--json")
    assert imported.code == 0, imported.stderr
    rows = json.loads(imported.stdout)
    assert [(r["symbol"], r["added"]) for r in rows] == [("BTCUSDC", 48), ("ETHUSDC", 48)]
    checked = cli("validate", "--file", str(BTC))
    assert checked.code == 0 and "ok BTCUSDC 1h: 48 bars" in checked.stdout


def test_bad_file_exits_2_names_file_and_row_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    lines = BTC.read_text().splitlines()
    cells = lines[9].split(",")
    cells[3] = "99999999"  # low above open and close on row 10
    lines[9] = ",".join(cells)
    bad = tmp_path / BTC.name
    bad.write_text("\n".join(lines) + "\n")
    outcome = cli("import-binance", str(ETH), str(bad))
    assert outcome.code == 2
    assert f"{bad}: row 10: low 99999999.0 > min(open, close)" in outcome.stderr
    assert not (home / "data").exists() or not list((home / "data").rglob("*.parquet"))
    invalid = cli("validate", "--file", str(bad), "--json")
    assert invalid.code == 2
    assert json.loads(invalid.stdout)[0]["ok"] is False


def test_fetch_replays_recorded_exchange_responses(home: Path) -> None:
    fetched = cli(
        "fetch",
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDC",
        "--since",
        "2024-01-01T00:00:00Z",
        "--until",
        "2024-01-02T23:30:00Z",
        "--replay",
        str(DATA / "ccxt" / "binance_BTCUSDC_1h.json"),
        "--json",
    )
    assert fetched.code == 0, fetched.stderr
    assert json.loads(fetched.stdout)["added"] == 47
    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["source"] == "ccxt:binance" and listed[0]["last"] == "2024-01-02T22:00:00"


def test_user_errors_exit_2(home: Path) -> None:
    assert cli("show", "BTCUSDC").code == 2
    assert cli("validate").code == 2
    assert cli("synth", "--symbols", "btc").code == 2
    assert cli("fetch", "--symbol", "BTC/USDC:USDC", "--since", "2024-01-01").code == 2


def test_every_command_has_help() -> None:
    for command in ("synth", "import-binance", "fetch", "list", "show", "validate", "label-rates"):
        outcome = cli(command, "--help")
        assert outcome.code == 0 and "Usage" in outcome.stdout, command


def test_real_process_prints_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "BTCUSDC-1h-2024-01.csv"
    text = BTC.read_text().replace("1704078000000,", "1704074400000,", 1)
    bad.write_text(text.replace("1704081599999,", "1704077999999,", 1))  # row 4 repeats row 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env["CVN_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "data", "import-binance", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {bad}: row 4: duplicate timestamp 2024-01-01T02:00:00.000Z (also row 3); "
        "nothing was stored"
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "data").exists()

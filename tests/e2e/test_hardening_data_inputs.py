"""`cvntrade data` bad inputs (issue 16 item 7): clean exit 2 and nothing stored."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.hardening_support import cvntrade

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
BTC = DATA / "BTCUSDC-1h-2024-01.csv"
ETH = DATA / "ETHUSDC-1h-2025-01.csv"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env["CVN_HOME"] = str(home)
    return env


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _one_line_exit_2(outcome: object) -> str:
    code, err = outcome.returncode, outcome.stderr  # type: ignore[attr-defined]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return str(err)


def test_import_binance_stores_nothing_when_the_second_file_cannot_be_written(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = _env(home)
    assert cvntrade(env, "data", "import-binance", str(BTC)).returncode == 0
    data = home / "data"
    before = _files(data)
    corrected = tmp_path / BTC.name  # one corrected bar: BTC's stored part would be rewritten
    lines = BTC.read_text().splitlines()
    cells = lines[5].split(",")
    cells[5] = str(float(cells[5]) + 1.0)  # volume
    lines[5] = ",".join(cells)
    corrected.write_text("\n".join(lines) + "\n")
    (data / "symbol=ETHUSDC").write_text("in the way")  # ETH's series directory cannot exist
    before["symbol=ETHUSDC"] = b"in the way"
    err = _one_line_exit_2(cvntrade(env, "data", "import-binance", str(corrected), str(ETH)))
    assert "nothing was stored" in err
    assert _files(data) == before


def test_synth_refuses_more_bars_than_the_limit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outcome = cvntrade(
        _env(home),
        "data",
        "synth",
        "--symbols",
        "BTCUSDC",
        "--interval",
        "1s",
        "--start",
        "2024-01-01",
        "--end",
        "2026-01-01",
    )
    err = _one_line_exit_2(outcome)
    assert "MAX_SYNTH_BARS" in err and "63,158,400 bars" in err
    assert not (home / "data").exists() or not list((home / "data").rglob("*.parquet"))


def test_synth_refuses_a_negative_seed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outcome = cvntrade(
        _env(home), "data", "synth", "--symbols", "BTCUSDC", "--end", "2024-01-03", "--seed", "-1"
    )
    assert "--seed" in _one_line_exit_2(outcome)
    assert not (home / "data").exists() or not list((home / "data").rglob("*.parquet"))

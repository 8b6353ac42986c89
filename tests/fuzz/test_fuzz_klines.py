"""Fuzz `cvntrade data import-binance` and `data validate --file` with hostile kline files.

Files start as valid Binance spot klines (1h, with or without a header, milliseconds or the
microseconds of 2025+ files, value by value), then get damaged: hostile cells (NaN, inf, huge,
negative, text), rows deleted / duplicated / swapped / cut short / padded, blank and text lines;
names that do or do not tell the symbol and interval; ZIPs that are fine, empty, multi-member or
corrupt; hostile `--symbol`, `--interval`, `--max-gap`. The contract of fuzz_support holds, and
a refused import stores no bar (the market-data files under CVN_HOME are compared).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fuzz_strategies import SPECIAL_NUMBERS, hostile_number, hostile_text, maybe
from fuzz_support import World, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

HOUR_MS = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
GOOD_NAMES = ["BTCUSDC-1h-2024-01.csv", "ETHUSDC-1h-2024-01-02.csv", "BTCUSDC-1h-2024-02.csv"]
ODD_NAMES = [
    "klines.csv",
    "BTCUSDC-1d-2024-01.csv",  # the name says 1d, the rows are 1h
    "btcusdc-1h-2024-01.csv",
    "BTCUSDC-1x-2024-01.csv",
    "BTCUSDC-0h-2024-01.csv",
    "BTCUSDC-1h-2024-01.txt",
    "BTC:USDC-1h-2024-01.csv",
]
cell = st.one_of(
    st.sampled_from([*SPECIAL_NUMBERS, "abc", "1e400", "-5", "1,5", "\uff10"]),  # fullwidth 0
    st.floats().map(repr),
    st.text(max_size=8),
)


def _rows(n: int, start_ms: int, micro: list[bool]) -> list[list[str]]:
    rows = []
    for i in range(n):
        open_ms = start_ms + i * HOUR_MS
        close_ms = open_ms + HOUR_MS - 1
        scale = 1000 if micro[i % len(micro)] else 1
        price = 100.0 + i
        rows.append(
            [
                str(open_ms * scale),
                f"{price}",
                f"{price + 2}",
                f"{price - 1}",
                f"{price + 1}",
                "12.5",
                str(close_ms * scale + (999 if scale == 1000 else 0)),
                "1250.0",
                "42",
                "6.0",
                "600.0",
                "0",
            ]
        )
    return rows


@st.composite
def kline_text(draw: st.DrawFn, clean: bool = False) -> str:
    """CSV text of n hourly klines, perhaps with a header; damaged unless `clean`."""
    n = draw(st.integers(1, 30))
    micro = draw(st.lists(st.booleans(), min_size=1, max_size=3))
    rows = _rows(n, START_MS + draw(st.sampled_from([0, 0, 24, 24 * 40])) * HOUR_MS, micro)
    for _ in range(0 if clean else draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["cell", "cell", "delete", "dup", "swap", "short", "long"]))
        i = draw(st.integers(0, len(rows) - 1)) if rows else 0
        if not rows:
            break
        if action == "cell":
            rows[i][draw(st.integers(0, 11))] = draw(cell)
        elif action == "delete":
            del rows[i]
        elif action == "dup":
            rows.insert(i, list(rows[i]))
        elif action == "swap":
            j = draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif action == "short":
            rows[i] = rows[i][: draw(st.integers(0, 11))]
        else:
            rows[i] = [*rows[i], "extra"]
    lines = [",".join(r) for r in rows]
    if draw(st.booleans()):
        lines.insert(
            0,
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore",
        )
    if not clean and draw(st.integers(0, 3)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "x,y", "\x00"])))
    return "\n".join(lines) + "\n"


@st.composite
def kline_file(draw: st.DrawFn, directory: Path) -> str:
    """Write one kline file (CSV, or ZIP of one) under a fresh sub-directory; its path."""
    folder = directory / f"d{len(list(directory.iterdir()))}"
    folder.mkdir()
    # A third clean files with good names (they import), a third damaged rows, a third
    # damaged names or containers.
    plan = draw(st.sampled_from(["clean", "rows", "file"]))
    good = st.sampled_from(GOOD_NAMES)
    name = draw(good if plan != "file" else good | st.sampled_from(ODD_NAMES))
    text = draw(kline_text(clean=plan != "rows"))
    wrappers = ["csv", "zip"] if plan != "file" else ["csv", "zip", "zip2", "zip_empty", "corrupt"]
    wrapper = draw(st.sampled_from(wrappers))
    if wrapper == "csv":
        path = folder / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return str(path)
    path = folder / (Path(name).stem + ".zip")
    if wrapper == "corrupt":
        path.write_bytes(b"PK\x03\x04" + draw(st.binary(max_size=60)))
        return str(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if wrapper != "zip_empty":
            archive.writestr(Path(name).stem + ".csv", text)
        if wrapper == "zip2":
            archive.writestr("other.csv", text)
    path.write_bytes(buffer.getvalue())
    return str(path)


def _corrupt_zip(tmp_path: Path) -> str:
    path = tmp_path / "BTCUSDC-1h-2024-02.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return str(path)


def test_a_corrupt_zip_is_one_line_exit_2(sqlite_world: World, tmp_path: Path) -> None:
    """Regressions found by the fuzzer: zipfile.BadZipFile escaped as exit 70, and every
    failed import printed an empty line (Rich's progress bar, piped) before its error line."""
    path = _corrupt_zip(tmp_path)
    assert sqlite_world.run("data", "import-binance", path).code == 2
    assert sqlite_world.run("data", "validate", "--file", path).code == 2


@fuzz_settings(60)
@given(data=st.data())
def test_import_binance(sqlite_world: World, data: st.DataObject, tmp_path: Path) -> None:
    files = tmp_path / "klines"
    files.mkdir(exist_ok=True)
    paths = [data.draw(kline_file(files)) for _ in range(data.draw(st.integers(1, 2)))]
    symbols = st.one_of(st.sampled_from(["BTCUSDC", "ethusdc", "BTC", ""]), hostile_text)
    intervals = st.one_of(st.sampled_from(["1h", "1d", "1M", "0h", "1s", "h", "1x"]), hostile_text)
    args: list[str] = []
    if data.draw(st.integers(0, 2)) == 0:  # mostly the names tell symbol and interval
        args += data.draw(maybe("--symbol", symbols)) + data.draw(maybe("--interval", intervals))
        args += data.draw(maybe("--max-gap", hostile_number))
    args += data.draw(st.sampled_from([[], ["--fill-gaps"]]))
    args += data.draw(st.sampled_from([[], ["--json"]]))
    if data.draw(st.integers(0, 3)) == 0:
        sqlite_world.run("data", "validate", *[a for p in paths for a in ("--file", p)])
    else:
        sqlite_world.run("data", "import-binance", *paths, *args)

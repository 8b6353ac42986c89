"""What every command shares: the engine, the actor, JSON output and Rich console.

The consoles print text literally (`markup=False`, `emoji=False`): reasons, titles, actors,
notes and statuses are user data, and a `[/]` in an incident title must never be read as Rich
markup (it crashed `incident list` for good). Styling is explicit, with `styled(...)` Text
objects, so it can never come from a string a user typed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import PurePath
from typing import Any

from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine

from cvntrade.clock import Clock, fixed_clock, parse_utc, utc_now

PIPED_WIDTH = 400
"""Width of tables written to a file or pipe: Rich's default of 80 would cut columns."""
ID_MAX = 2**63 - 1
"""The largest row id either database can hold (64-bit): a larger `ID` is exit 2, not a crash."""
LIST_LIMIT_MAX = 100_000
"""The most rows a `--limit` may ask for (a huge one overflowed SQLite's LIMIT: exit 70)."""

# markup=False: user text (reasons, titles, actors) is printed literally, never as Rich markup.
console = Console(
    soft_wrap=True,
    markup=False,
    emoji=False,
    width=None if sys.stdout.isatty() else PIPED_WIDTH,
)
err_console = Console(stderr=True, markup=False, emoji=False)


def styled(text: str, style: str) -> Text:
    """`text` shown in `style` (e.g. "red", "bold") and otherwise literally: explicit styling."""
    return Text(text, style=style)


def line(*parts: str | Text) -> Text:
    """One output line from plain strings (printed literally) and `styled` pieces."""
    return Text.assemble(*parts)


def open_engine(*, require_schema: bool = True) -> Engine:
    """The engine for `CVN_DATABASE_URL` (or the embedded SQLite), schema checked by default.

    Delegates to the application context (`cvntrade.app`), which the console uses too.
    """
    from cvntrade.app import open_engine as open_app_engine

    return open_app_engine(require_schema=require_schema)


def default_actor() -> str:
    """Who is acting: `$CVN_ACTOR`, else the login name."""
    return os.environ.get("CVN_ACTOR") or getpass.getuser()


def clock_from(now: str | None) -> Clock:
    """A clock frozen at `--now` when given, else the real UTC clock."""
    return utc_now if now is None else fixed_clock(parse_utc(now, field="--now"))


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(payload: Any) -> None:
    """Print `payload` (dataclasses, datetimes welcome) as JSON on stdout."""
    print(json.dumps(payload, default=_default, indent=2, sort_keys=True))


def fmt_pct(value: float | None) -> str:
    """A percent figure for tables (`realized_pnl_pct` units); never `-0.0000`."""
    from cvntrade.formatting import fmt_signed

    return "—" if value is None else fmt_signed(value)

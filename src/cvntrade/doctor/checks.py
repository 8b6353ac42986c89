"""The platform's health checks as plain functions returning typed results.

Each check says `ok`, `warn` (works, but something a user should know) or `fail` (broken: a
command will not work until it is fixed), with a one-line detail and, when not ok, what to do.
They never change anything and every network wait is bounded (`timeout_s`), so `cvntrade doctor`
answers in seconds even when a server is down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine

from cvntrade.market import ParquetStore
from cvntrade.runbook.serving import Serving
from cvntrade.trading.persistence import ENGINE_HEARTBEAT_MAX_AGE

if TYPE_CHECKING:
    from cvntrade.registry.records import AliasIntent

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"

DATA_MAX_AGE = dt.timedelta(days=2)
"""Market data whose last bar is older than this is reported as stale (a warning)."""

CONFIG_TO_TAG = {"binary:logistic": "binary", "focal": "focal"}
"""`ftf_config` CVN_LOSS_FUNCTION value → the registry's `loss_function` tag value."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check's verdict: what was checked, the status, what was seen and what to do."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check of one `cvntrade doctor` run."""

    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed (something is broken)."""
        return tuple(c for c in self.checks if c.status == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks that warn (works, but worth knowing)."""
        return tuple(c for c in self.checks if c.status == WARN)

    @property
    def healthy(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failed


def check_schema(current: str | None, head: str) -> Check:
    """The database is migrated to the revision this version of CVNTrade needs."""
    if current == head:
        return Check("database schema", OK, f"at revision {head} (newest)")
    state = "not initialised" if current is None else f"at revision {current}"
    return Check(
        "database schema",
        FAIL,
        f"database is {state}, this version needs {head}",
        "run `cvntrade db upgrade`",
    )


def check_market_data(
    store: ParquetStore,
    symbols: Sequence[str],
    *,
    now: dt.datetime,
    interval: str = "1h",
    max_age: dt.timedelta = DATA_MAX_AGE,
) -> list[Check]:
    """Bars are stored for each symbol (fail when missing) and recent (warn when stale)."""
    stored = {d.symbol: d for d in store.datasets() if d.interval == interval}
    checks = []
    for symbol in symbols:
        name = f"market data {symbol}"
        info = stored.get(symbol)
        if info is None or info.last is None:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"no {interval} bars under {store.root}",
                    f"load some: `cvntrade data synth --symbols {symbol}` (synthetic), "
                    f"`cvntrade data import-binance FILE` or `cvntrade data fetch`",
                )
            )
            continue
        last = info.last.to_pydatetime().replace(tzinfo=None)
        age = now - last
        span = f"{info.rows} bars {info.first:%Y-%m-%d} → {last:%Y-%m-%d %H:%M} ({info.source})"
        if age > max_age:
            checks.append(
                Check(
                    name,
                    WARN,
                    f"{span}: last bar {_age(age)} old",
                    f"refresh it: `cvntrade data fetch --symbol … --since {last:%Y-%m-%d}` "
                    "(fine for synthetic or replayed data)",
                )
            )
        else:
            checks.append(Check(name, OK, span))
    return checks


def check_champions(serving: Serving, symbols: Sequence[str]) -> list[Check]:
    """Each symbol has a champion in the registry, with a `loss_function` tag."""
    if serving.registry_error is not None and symbols:
        return [
            Check(
                "champions",
                FAIL,
                f"cannot read champions: {serving.registry_error}",
                "see the mlflow check above, then re-run `cvntrade doctor`",
            )
        ]
    by_symbol = {s.crypto_symbol: s for s in serving.symbols}
    checks = []
    for symbol in symbols:
        row = by_symbol.get(symbol)
        name = f"champion {symbol}"
        if row is None or row.champion_version is None:
            model = row.model_name if row else symbol
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"no `champion` alias on {model}: engines cannot trade {symbol}",
                    f"`cvntrade train --symbol {symbol}` then "
                    f"`cvntrade promote --symbol {symbol} --loss binary`",
                )
            )
        elif row.champion_loss is None:
            checks.append(
                Check(
                    name,
                    WARN,
                    f"{row.model_name} v{row.champion_version} has no loss_function tag",
                    "promote a version trained by `cvntrade train` (it tags the loss)",
                )
            )
        else:
            checks.append(
                Check(name, OK, f"{row.model_name} v{row.champion_version} ({row.champion_loss})")
            )
    return checks


def check_config_vs_champions(config_env: Mapping[str, str], serving: Serving) -> Check:
    """`ftf_config` CVN_LOSS_FUNCTION agrees with the loss of every serving champion.

    A disagreement is what runbook step 2 calls a mismatch: the config says one loss while the
    registry serves another (e.g. `promote` moved a champion without the config following).
    """
    configured = config_env.get("CVN_LOSS_FUNCTION", "binary:logistic")
    expected = CONFIG_TO_TAG.get(configured, configured)
    if serving.registry_error is not None:
        return Check("config vs champions", WARN, "not compared: the registry is unreadable")
    wrong = [
        f"{s.crypto_symbol} ({s.champion_loss} v{s.champion_version})"
        for s in serving.symbols
        if s.champion_loss is not None and s.champion_loss != expected
    ]
    if not wrong:
        return Check("config vs champions", OK, f"CVN_LOSS_FUNCTION={configured}; champions agree")
    fix = (
        "roll back: `cvntrade runbook rollback --symbols "
        + ",".join(w.split(" ")[0] for w in wrong)
        + " --reason …`"
        if expected == "binary"
        else "promote focal where the gate passes (`cvntrade promote --loss focal`) or set "
        "`cvntrade config set CVN_LOSS_FUNCTION=binary:logistic --reason …`"
    )
    return Check(
        "config vs champions",
        FAIL,
        f"CVN_LOSS_FUNCTION={configured} but the champion of {', '.join(wrong)} disagrees",
        fix,
    )


def check_engines(
    served: Sequence[tuple[str, str, str, dt.datetime, int | None]],
    serving: Serving,
    *,
    now: dt.datetime,
    max_age: dt.timedelta = ENGINE_HEARTBEAT_MAX_AGE,
) -> Check:
    """Engines' heartbeats: none at all, stale ones (crashed?), or ones behind their champion.

    `served` rows are (engine_id, symbol, mode, heartbeat_at, model_version) from engine_status.
    """
    champion = {s.crypto_symbol: s.champion_version for s in serving.symbols}
    running = [r for r in served if r[2] != "stopped"]
    if not running:
        return Check(
            "engines",
            WARN,
            "no engine has reported a heartbeat",
            "start one: `cvntrade trade live --paper` (or ignore if this host does not trade)",
        )
    stale = sorted(
        {f"{r[0]}/{r[1]} ({_age(now - r[3])} ago)" for r in running if now - r[3] > max_age}
    )
    live = [r for r in running if now - r[3] <= max_age]
    behind = sorted(
        f"{r[0]}/{r[1]} v{r[4]} (champion v{champion[r[1]]})"
        for r in live
        if champion.get(r[1]) is not None and r[4] != champion[r[1]]
    )
    problems = []
    if stale:
        problems.append(f"stale heartbeat: {', '.join(stale)}")
    if behind:
        problems.append(f"not on the champion: {', '.join(behind)}")
    if problems:
        return Check(
            "engines",
            WARN,
            f"{len(live)} live; " + "; ".join(problems),
            "restart stale engines (`cvntrade trade live --paper`) or ignore retired ones; an "
            "engine behind its champion switches within CVN_ALIAS_POLL_S",
        )
    engines = sorted({r[0] for r in live})
    return Check("engines", OK, f"{len(engines)} live engine(s): {', '.join(engines)}")


def check_alias_intents(pending: Sequence[AliasIntent], in_flight: Collection[str]) -> Check:
    """No alias move was left half-done: every recorded intent was confirmed or settled.

    A pending intent whose model's lock is free (`in_flight` lists the models whose lock is
    held right now) belongs to a process that died between its registry write and its audit
    row: the alias may have moved with no audit row yet. `cvntrade models reconcile` settles it.
    """
    if not pending:
        return Check("alias intents", OK, "no pending alias move")
    stuck = [i for i in pending if i.model_name not in in_flight]
    if not stuck:
        moving = ", ".join(sorted({i.target for i in pending}))
        return Check(
            "alias intents",
            WARN,
            f"alias move in progress: {moving}",
            "re-run `cvntrade doctor` in a moment",
        )
    listed = "; ".join(
        f"#{i.id} {i.target} {i.from_version} → {i.to_version} "
        f"by {i.actor} at {i.at:%Y-%m-%d %H:%M}"
        for i in stuck[:5]
    ) + (f"; and {len(stuck) - 5} more" if len(stuck) > 5 else "")
    return Check(
        "alias intents",
        FAIL,
        f"{len(stuck)} interrupted alias move(s), not audited yet: {listed}",
        "`cvntrade models reconcile` (writes the missing audit rows from what the registry shows)",
    )


def engine_rows(db: Engine) -> list[tuple[str, str, str, dt.datetime, int | None]]:
    """(engine_id, symbol, mode, heartbeat_at, model_version) of every engine_status row."""
    from cvntrade.trading.persistence import served_versions

    return [
        (r.engine_id, r.crypto_symbol, r.mode, r.heartbeat_at, r.model_version)
        for r in served_versions(db)
    ]


def symbols_in_use(store: ParquetStore, db: Engine | None, *, interval: str = "1h") -> list[str]:
    """Symbols the platform works with: those with stored bars or an engine heartbeat."""
    found = {d.symbol for d in store.datasets() if d.interval == interval}
    if db is not None:
        found |= {row[1] for row in engine_rows(db)}
    return sorted(found)


def _age(delta: dt.timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"

"""Reading the Grafana dashboards of infra/grafana: targets, and rendering Grafana's SQL macros.

Grafana itself is not installable here, so the dashboards are checked as data: every target
is pulled out of the JSON, PromQL checked against the metric catalogue, SQL rendered the way
Grafana's PostgreSQL data source would and run on a migrated database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from infra_support import INFRA

GRAFANA = INFRA / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PROMETHEUS_UID = "cvntrade-prometheus"
POSTGRES_UID = "cvntrade-postgres"

_TIME_FILTER = re.compile(r"\$__timeFilter\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\)")
_TIME_GROUP_ALIAS = re.compile(
    r"\$__timeGroupAlias\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*,\s*'(\d+)([smhd])'\s*\)"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Target:
    """One query of a dashboard: where it is, its data source uid and its text."""

    dashboard: str
    panel: str
    datasource_uid: str
    query: str

    @property
    def where(self) -> str:
        """`dashboard / panel`, for assertion messages."""
        return f"{self.dashboard} / {self.panel}"


def load_dashboard(path: Path) -> dict[str, Any]:
    """The dashboard JSON model of `path`."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def iter_targets(path: Path) -> Iterator[Target]:
    """Every PromQL `expr` and SQL `rawSql` of a dashboard, its variable queries included."""
    dashboard = load_dashboard(path)
    title = dashboard["title"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            uid = target.get("datasource", panel["datasource"])["uid"]
            query = target.get("expr") if uid == PROMETHEUS_UID else target.get("rawSql")
            yield Target(title, panel["title"], uid, query or "")
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        yield Target(title, f"variable ${variable['name']}", variable["datasource"]["uid"], text)


def provisioned_datasource_uids() -> set[str]:
    """uids of the data sources in infra/grafana/provisioning/datasources."""
    uids: set[str] = set()
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yml"):
        uids |= {source["uid"] for source in yaml.safe_load(path.read_text())["datasources"]}
    return uids


def render_sql(query: str, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> str:
    """`query` as Grafana's PostgreSQL data source would send it for this range and symbols.

    Supports the macros our dashboards use ($__timeFilter, $__timeGroupAlias) and the
    multi-value `$symbol` variable; anything else left with a `$` raises ValueError.
    """
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    rendered = _TIME_FILTER.sub(
        lambda m: f"{m.group(1)} BETWEEN '{start:{stamp}}' AND '{end:{stamp}}'", query
    )
    rendered = _TIME_GROUP_ALIAS.sub(
        lambda m: (
            f"floor(extract(epoch from {m.group(1)})/{int(m.group(2)) * _UNIT_SECONDS[m.group(3)]})"
            f'*{int(m.group(2)) * _UNIT_SECONDS[m.group(3)]} AS "time"'
        ),
        rendered,
    )
    quoted = ",".join(f"'{symbol}'" for symbol in symbols)
    rendered = rendered.replace("${symbol}", quoted).replace("$symbol", quoted)
    if "$" in rendered:
        raise ValueError(f"unsupported Grafana macro or variable left in: {rendered}")
    return rendered


def render_promql(expr: str) -> str:
    """`expr` with Grafana's variables replaced by values PromQL accepts (for syntax checks)."""
    return (
        expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("${symbol}", "BTCUSDC|ETHUSDC")
        .replace("$symbol", "BTCUSDC|ETHUSDC")
    )

"""An incident report as the Markdown of its OPERATIONS.md section `§17.N` (pure).

User text (titles, reasons, notes, actors) is escaped: it can neither break a table (`|`,
newlines) nor become HTML (`<`, `>`, `&`). The section starts with its heading and the begin
marker, ends with the end marker (see `cvntrade.runbook.operations_file`).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any

from cvntrade.formatting import fmt_signed
from cvntrade.runbook.incident_report import WINDOW, IncidentReport
from cvntrade.runbook.operations_file import begin_marker, end_marker

CHART_TITLES = {
    "expectancy.png": "Per-crypto expectancy before / after",
    "probability_distribution.png": "Probability distribution before / after",
    "psi.png": "PSI per symbol and feature",
}


def esc(text: object) -> str:
    """Text for one Markdown table cell or line: HTML-escaped, pipes escaped, one line."""
    value = html.escape(str(text), quote=False).replace("|", "\\|")
    return "<br>".join(part.strip() for part in value.splitlines()) or "—"


def _time(at: dt.datetime | None) -> str:
    return "—" if at is None else f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def incident_markdown(report: IncidentReport, number: int, charts: Sequence[str]) -> str:
    """The section `§17.<number>`; `charts` are the chart paths relative to the file."""
    incident = report.timeline.incident
    lines = [
        f"## §17.{number} — {esc(incident.title)}",
        begin_marker(incident.id),
        "",
        *_table(
            ("field", "value"),
            [
                ("incident", f"#{incident.id} (`{incident.alert}`)"),
                ("severity", incident.severity),
                ("status", incident.status),
                ("opened", f"{_time(incident.opened_at)} by {esc(incident.opened_by)}"),
                ("closed", _time(incident.closed_at)),
                ("symbols", ", ".join(report.scope.symbols) or "—"),
            ],
        ),
        "",
        "### Timeline",
        "",
        *_table(
            ("time (UTC)", "who", "what", "detail"),
            (
                (f"{e.at:%Y-%m-%d %H:%M:%S}", esc(e.actor), esc(e.kind), esc(e.text))
                for e in report.timeline.entries
            ),
        ),
        "",
        "### Alert events",
        "",
        *_events(report),
        "",
        "### Diagnosis",
        "",
        *_diagnosis(report),
        "",
        "### Path decision",
        "",
        *_decision(report),
        "",
        "### Per-symbol numbers before and after",
        "",
        *_numbers(report),
        "",
        "### Post-incident checklist",
        "",
        *_table(
            ("item", "state", "note"),
            ((c.item, c.state, esc(c.note)) for c in report.checklist),
        ),
        "",
        "### Charts",
        "",
        *[f"![{CHART_TITLES.get(c.rsplit('/', 1)[-1], 'chart')}]({c})" for c in charts],
        "",
        end_marker(incident.id),
        "",
    ]
    return "\n".join(lines)


def _events(report: IncidentReport) -> list[str]:
    if not report.events:
        return ["No alert event is linked to this incident."]
    rows = []
    for e in report.events:
        acked = (
            f"{esc(e.acked_by)} at {_time(e.acked_at)}: {esc(e.ack_reason)}"
            if e.acked_at is not None
            else "not acknowledged"
        )
        negative = esc(e.labels.get("negative_symbols") or "—")
        rows.append((f"#{e.id}", e.state, f"{e.at:%Y-%m-%d %H:%M:%S}", negative, acked))
    return _table(("event", "state", "at (UTC)", "negative symbols", "acknowledgement"), rows)


def _diagnosis(report: IncidentReport) -> list[str]:
    note = report.diagnosis
    if note is None:
        return [
            f"Not run: `cvntrade runbook diagnose --incident {report.timeline.incident.id}` "
            "keeps its result here."
        ]
    lines = [f"**Diagnosis** — {esc(note.text)} ({esc(note.actor)}, {_time(note.at)})", ""]
    data: dict[str, Any] = note.data if isinstance(note.data, dict) else {}
    causes = [c for c in data.get("causes") or () if isinstance(c, dict)]
    if causes:
        lines += _table(
            ("cause", "verdict", "score", "symbols"),
            (
                (
                    esc(c.get("cause")),
                    esc(c.get("verdict")),
                    esc(c.get("score")),
                    esc(", ".join(c.get("symbols") or ()) or "—"),
                )
                for c in causes
            ),
        )
        lines.append("")
        for c in causes:
            for evidence in c.get("evidence") or ():
                lines.append(f"- {esc(c.get('cause'))}: {esc(evidence)}")
    return lines


def _decision(report: IncidentReport) -> list[str]:
    from cvntrade.runbook.incident_records import remediation_path

    note = report.remediation
    if note is None:
        return ["Not decided: no `remediation` note (`cvntrade runbook remediate --path A|B|C`)."]
    path = remediation_path(note) or "?"
    return [f"**Path {path}** — {esc(note.text)} ({esc(note.actor)}, {_time(note.at)})"]


def _numbers(report: IncidentReport) -> list[str]:
    hours = WINDOW.total_seconds() / 3600
    start, end = report.pivot - WINDOW, report.pivot + WINDOW
    lines = [
        f"Pivot: {report.pivot_kind} at {_time(report.pivot)}. Expectancy = mean "
        f"`realized_pnl_pct` (percent, net) of trades entered {hours:g} h before "
        f"[{start:%Y-%m-%d %H:%M}, pivot) and {hours:g} h after [pivot, {end:%Y-%m-%d %H:%M}).",
        "",
    ]
    before = {(e.crypto_symbol, e.model_loss_function): e for e in report.before}
    after = {(e.crypto_symbol, e.model_loss_function): e for e in report.after}
    keys = sorted(set(before) | set(after))
    if not keys:
        return [*lines, "No trade in either window."]

    def cell(e: Any) -> str:
        return "—" if e is None else f"{fmt_signed(e.expectancy_pct)} % (n={e.n_trades})"

    return lines + _table(
        ("symbol", "loss", "before", "after"),
        ((s, loss, cell(before.get((s, loss))), cell(after.get((s, loss)))) for s, loss in keys),
    )

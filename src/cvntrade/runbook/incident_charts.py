"""The incident report's PNG charts (matplotlib, Agg): expectancy, probabilities, PSI.

Drawn from an `IncidentReport` only (no clock, no random state), with the monitor report's PSI
heatmap and PNG writer (`cvntrade.monitoring.report`), so the same report gives the same bytes.
Every chart is written even without data: it then says what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cvntrade.monitoring.report import psi_heatmap, save_png
from cvntrade.runbook.incident_report import IncidentReport

BINS = 20
CHART_FILES = ("expectancy.png", "probability_distribution.png", "psi.png")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_incident_charts(report: IncidentReport, directory: Path) -> list[Path]:
    """Write the three charts into `directory` (created); returns their paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        save_png(_expectancy(report), directory / CHART_FILES[0]),
        save_png(_probabilities(report), directory / CHART_FILES[1]),
        save_png(_psi(report), directory / CHART_FILES[2]),
    ]


def _psi(report: IncidentReport) -> Any:
    fig = psi_heatmap(
        list(report.psi.items()),
        title="Feature PSI around the incident",
        empty="no PSI recorded around the incident",
    )
    fig.axes[0].set_xlabel(f"source: {report.psi_source}", fontsize="small")
    return fig


def _expectancy(report: IncidentReport) -> Any:
    plt = _pyplot()
    series = [("before", report.before), ("after", report.after)]
    cells = {
        (side, e.model_loss_function, e.crypto_symbol): e.expectancy_pct
        for side, rows in series
        for e in rows
    }
    symbols = sorted({symbol for _, _, symbol in cells})
    labels = sorted({(side, loss) for side, loss, _ in cells}, key=lambda k: (k[0] != "before", k))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(symbols)), 4))
    if symbols:
        width = 0.8 / max(1, len(labels))
        for k, (side, loss) in enumerate(labels):
            values = [cells.get((side, loss, s), np.nan) for s in symbols]
            ax.bar(np.arange(len(symbols)) + k * width, values, width, label=f"{side}: {loss}")
        ax.set_xticks(np.arange(len(symbols)) + width * (len(labels) - 1) / 2, symbols)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no trade in either window", ha="center", va="center")
    ax.set_ylabel("expectancy, % net per trade")
    ax.set_title(f"Per-crypto expectancy, 48 h before / after the {report.pivot_kind}")
    return fig


def _probabilities(report: IncidentReport) -> Any:
    plt = _pyplot()
    panels = list(report.probabilities.items())
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4 * max(1, len(panels)), 3.2))
    edges = np.linspace(0.0, 1.0, BINS + 1)
    for ax, (symbol, (before, after)) in zip(np.atleast_1d(axes), panels, strict=False):
        for label, values in (("before", before), ("after", after)):
            if values:
                counts, _ = np.histogram(np.asarray(values, dtype=float), bins=edges)
                share = counts / counts.sum()
                ax.step(
                    edges[:-1] + 0.5 / BINS, share, where="mid", label=f"{label} (n={len(values)})"
                )
        ax.set_title(symbol)
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("share of predictions")
        ax.legend()
    if not panels:
        np.atleast_1d(axes)[0].text(
            0.5, 0.5, "no prediction around the incident", ha="center", va="center"
        )
    return fig

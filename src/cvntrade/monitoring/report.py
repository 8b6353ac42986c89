"""`monitor report`: the signals as plain rows (for tables / JSON) and PNG charts (Agg).

Charts: `expectancy.png` (per crypto, 48h / 7d / 14d baseline of focal trades with their 95 %
intervals), `probability_distribution.png` (per crypto, recent predicted probabilities vs the
training histogram), `psi_heatmap.png` (symbols by features, coloured by the PSI thresholds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cvntrade.monitoring.expectancy import WINDOWS
from cvntrade.monitoring.signals import PsiThresholds
from cvntrade.monitoring.snapshot import MonitorSnapshot


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def report_rows(
    snapshot: MonitorSnapshot, thresholds: PsiThresholds | None = None
) -> dict[str, Any]:
    """The snapshot as JSON-ready rows: alert, expectancy, drift (PSI level per symbol)."""
    levels = thresholds or PsiThresholds()
    alert = snapshot.alert
    return {
        "at": snapshot.at.isoformat(),
        "alert": {
            "name": alert.alert,
            "firing": alert.firing,
            "negative_symbols": list(alert.negative_symbols),
            "focal_loss_active": alert.focal_active,
            "focal_source": alert.focal_source,
            "summary": alert.summary,
        },
        "expectancy": [
            {
                "crypto_symbol": w.crypto_symbol,
                "model_loss_function": w.model_loss_function,
                "window": w.window,
                "expectancy_pct": _num(w.stats.mean),
                "n_trades": w.stats.n_trades,
                "ci_low": _num(w.stats.ci_low),
                "ci_high": _num(w.stats.ci_high),
            }
            for w in snapshot.expectancy
        ],
        "drift": [
            {
                "crypto_symbol": d.crypto_symbol,
                "model_name": d.model_name,
                "model_version": d.model_version,
                "psi_max": _num(d.psi_max),
                "psi_level": levels.level(d.psi_max),
                "psi": {k: _num(v) for k, v in sorted(d.psi.items())},
                "sharpness_recent": _num(d.sharpness_recent),
                "sharpness_training": _num(d.sharpness_training),
                "ece_live": _num(d.ece_live),
                "ece_training": _num(d.ece_training),
                "n_predictions": d.n_predictions,
                "n_outcomes": d.n_outcomes,
                "note": d.note,
            }
            for d in snapshot.drift
        ],
    }


def write_plots(snapshot: MonitorSnapshot, directory: Path) -> list[Path]:
    """Write the three PNG charts into `directory`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []

    focal = [w for w in snapshot.expectancy if w.model_loss_function == "focal"]
    symbols = sorted({w.crypto_symbol for w in focal})
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(symbols)), 4))
    width = 0.8 / len(WINDOWS)
    for k, window in enumerate(WINDOWS):
        cells = {w.crypto_symbol: w.stats for w in focal if w.window == window}
        means = [cells[s].mean if s in cells else np.nan for s in symbols]
        errs = [
            (cells[s].mean - cells[s].ci_low) if s in cells and cells[s].n_trades > 1 else 0.0
            for s in symbols
        ]
        ax.bar(np.arange(len(symbols)) + k * width, means, width, yerr=errs, label=window)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(symbols)) + width, symbols)
    ax.set_ylabel("expectancy, % net per trade (95 % CI)")
    ax.set_title("Per-crypto focal expectancy")
    ax.legend()
    written.append(_save(fig, directory / "expectancy.png"))

    drift = [d for d in snapshot.drift if d.histogram_recent]
    fig, axes = plt.subplots(1, max(1, len(drift)), figsize=(4 * max(1, len(drift)), 3.2))
    for ax, d in zip(np.atleast_1d(axes), drift, strict=False):
        centers = (np.arange(len(d.histogram_recent)) + 0.5) / len(d.histogram_recent)
        ax.step(centers, d.histogram_recent, where="mid", label="recent")
        if d.histogram_training:
            ax.step(centers, d.histogram_training, where="mid", label="training")
        ax.set_title(f"{d.crypto_symbol} (v{d.model_version})")
        ax.set_xlabel("predicted probability")
        ax.legend()
    written.append(_save(fig, directory / "probability_distribution.png"))

    fig = psi_heatmap(
        [(d.crypto_symbol, d.psi) for d in snapshot.drift if d.psi],
        title="Feature PSI, training window vs recent",
        empty="no reference: no PSI",
    )
    written.append(_save(fig, directory / "psi_heatmap.png"))
    return written


def psi_heatmap(rows: Sequence[tuple[str, Mapping[str, float]]], *, title: str, empty: str) -> Any:
    """A figure: one row per (name, PSI by feature), coloured by the PSI thresholds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = sorted({f for _, psi in rows for f in psi})
    grid = np.array([[psi.get(f, np.nan) for f in features] for _, psi in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(features)), 1.2 + 0.5 * len(rows)))
    if grid.size:
        image = ax.imshow(grid, aspect="auto", cmap="RdYlGn_r", vmin=0.0, vmax=0.5)
        fig.colorbar(image, ax=ax, label="PSI (0.1 moderate, 0.25 significant)")
        ax.set_xticks(range(len(features)), features, rotation=90)
        ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center")
    ax.set_title(title)
    return fig


def save_png(fig: Any, path: Path) -> Path:
    """Save and close a figure as PNG; the same figure always gives the same bytes (no
    timestamp or software version is embedded)."""
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path

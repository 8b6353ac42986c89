"""I/O for `runbook diagnose`: gather the evidence `cvntrade.runbook.diagnose` scores.

* per symbol, the monitoring signals over the last 48 h (`compute_snapshot` with a 48 h
  window: PSI per feature, sharpness, live ECE vs the training reference in the bundle);
* the runbook's per-fold query (`journal.expectancy_folds`);
* the relation between predicted probability and realised (triple-barrier) outcome: AUC of the
  logged predictions over `[now - 14 d, now - 48 h)` vs `[now - 48 h, now)`;
* the champion's MLflow tag `focal_objective_fingerprint` and creation time;
* the installed objective's fingerprint, a numerical self-check of `focal_grad_hess` against
  an independent derivation (chain rule in p), and
  `git log` of the objective's file since the oldest champion was trained.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine

from cvntrade.monitoring.reference import Reference
from cvntrade.monitoring.snapshot import BarLoader, ReferenceProvider
from cvntrade.runbook.diagnose import Diagnosis, ImplementationEvidence, SymbolEvidence
from cvntrade.settings import Settings

FOCAL_LOSS_PATH = "src/cvntrade/training/xgboost/focal_loss.py"
BASELINE = dt.timedelta(days=14)
RECENT = dt.timedelta(hours=48)
VersionTags = Callable[[str, int], tuple[str | None, dt.datetime | None]]
"""(model, version) -> (its focal objective fingerprint tag, when it was created)."""


def exact_grad_hess(
    margin: npt.NDArray[np.float64], label: npt.NDArray[np.float64], gamma: float, alpha: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Gradient and hessian of focal loss written independently from `focal_loss.py`: in terms
    of p = sigmoid(z), by the chain rule on FL(p) = -a y (1-p)^g log p - (1-a)(1-y) p^g log(1-p).
    """
    p = 1.0 / (1.0 + np.exp(-margin))
    dp = p * (1 - p)
    d2p = dp * (1 - 2 * p)
    y, g, a = label, gamma, alpha
    # class 1 term: f1(p) = -a (1-p)^g log p
    f1 = -a * (-g * (1 - p) ** (g - 1) * np.log(p) + (1 - p) ** g / p)
    f1p = -a * (
        g * (g - 1) * (1 - p) ** (g - 2) * np.log(p)
        - 2 * g * (1 - p) ** (g - 1) / p
        - (1 - p) ** g / p**2
    )
    # class 0 term: f0(p) = -(1-a) p^g log(1-p)
    b = 1 - a
    f0 = -b * (g * p ** (g - 1) * np.log(1 - p) - p**g / (1 - p))
    f0p = -b * (
        g * (g - 1) * p ** (g - 2) * np.log(1 - p)
        - 2 * g * p ** (g - 1) / (1 - p)
        - p**g / (1 - p) ** 2
    )
    d1 = np.where(y == 1, f1, f0)
    d2 = np.where(y == 1, f1p, f0p)
    return d1 * dp, d2 * dp**2 + d1 * d2p


def self_check(gammas: Sequence[float] = (0.0, 1.0, 2.0, 3.0), alpha: float = 0.25) -> float:
    """Largest relative error of the installed `focal_grad_hess` vs `exact_grad_hess` over a
    grid of margins (|z| <= 6, where the p-form is accurate) and both labels."""
    from cvntrade.training.xgboost import focal_loss

    z = np.linspace(-6.0, 6.0, 121)
    worst = 0.0
    for gamma in gammas:
        for y in (0.0, 1.0):
            label = np.full_like(z, y)
            grad, hess = focal_loss.focal_grad_hess(z, label, gamma, alpha)
            g_ref, h_ref = exact_grad_hess(z, label, gamma, alpha)
            scale = 1e-12 + np.abs(g_ref).max() + np.abs(h_ref).max()
            err = max(np.abs(grad - g_ref).max(), np.abs(hess - h_ref).max()) / scale
            worst = max(worst, float(err))
    return worst


def git_commits_since(
    repo_root: Path, since: dt.datetime | None
) -> tuple[bool, tuple[str, ...], str]:
    """(is a git checkout, commits touching focal_loss.py since `since`, note)."""
    if not (repo_root / ".git").exists() or not (repo_root / FOCAL_LOSS_PATH).exists():
        return False, (), f"{repo_root} is not a git checkout of cvntrade (installed package)"
    args = ["git", "-C", str(repo_root), "log", "--format=%h %cI %s"]
    if since is not None:
        args.append(f"--since={since.isoformat()}")
    try:
        out = subprocess.run(
            [*args, "--", FOCAL_LOSS_PATH], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return False, (), f"git log failed: {exc}"
    return True, tuple(line for line in out.stdout.splitlines() if line.strip()), ""


def repo_root() -> Path:
    """The checkout holding the installed package (src/cvntrade/.. /..)."""
    import cvntrade

    return Path(cvntrade.__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class OutcomeRelation:
    """Probability vs realised outcome, return persistence and volatility, before / after
    now - 48 h (`p_mean`: mean logged probability, `hit_rate`: realised take-profit rate of the
    same predictions)."""

    auc_before: float = math.nan
    n_before: int = 0
    auc_after: float = math.nan
    n_after: int = 0
    ece_before: float = math.nan
    ece_after: float = math.nan
    persistence_before: float = math.nan
    persistence_after: float = math.nan
    p_mean_before: float = math.nan
    p_mean_after: float = math.nan
    hit_rate_before: float = math.nan
    hit_rate_after: float = math.nan
    volatility_before: float = math.nan
    volatility_after: float = math.nan


def persistence(close: npt.NDArray[np.float64]) -> float:
    """Lag-1 autocorrelation of log returns (NaN with fewer than 10 returns)."""
    r = np.diff(np.log(close))
    r = r[np.isfinite(r)]
    if r.size < 10:
        return math.nan
    return float(np.corrcoef(r[:-1], r[1:])[0, 1])


def volatility(close: npt.NDArray[np.float64]) -> float:
    """Standard deviation of 1-bar log returns (NaN with fewer than 10 returns)."""
    r = np.diff(np.log(close))
    r = r[np.isfinite(r)]
    return float(np.std(r)) if r.size >= 10 else math.nan


def _mean(values: npt.NDArray[np.float64]) -> float:
    return float(np.mean(values)) if values.size else math.nan


def outcome_relation(
    engine: Engine, bars: BarLoader, symbol: str, strategy: str, now: dt.datetime
) -> OutcomeRelation:
    """AUC and ECE of logged probabilities vs triple-barrier outcome, and the lag-1 persistence
    of returns (the relation the momentum features encode), before / after now - 48 h."""
    from cvntrade.features import LOOKBACK_BARS, horizon_bars_for, triple_barrier
    from cvntrade.market.schema import interval_ms
    from cvntrade.monitoring.drift import known_outcomes, read_predictions
    from cvntrade.strategy import Strategy
    from cvntrade.training.metrics import ece_equal_mass, roc_auc

    start = now - BASELINE
    times, probs, used = read_predictions(engine, symbol, start, strategy)
    step = interval_ms("1h")
    frame = bars(symbol, start - dt.timedelta(milliseconds=step * LOOKBACK_BARS), now)
    if frame is None or not len(frame) or used is None or not times.size:
        return OutcomeRelation()
    parsed = Strategy.parse(used)
    tb = triple_barrier(
        frame["open"],
        frame["high"],
        frame["low"],
        frame["close"],
        parsed.stop_pct,
        parsed.take_pct,
        horizon_bars_for(parsed, "1h"),
    )
    stamps = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    cut = int(np.datetime64(now - RECENT, "ms").astype(np.int64))
    known = []
    for mask in (times < cut, times >= cut):
        known.append(known_outcomes(times[mask] - step, probs[mask], stamps, tb.label))
    (p0, y0), (p1, y1) = known
    close = frame["close"].to_numpy(np.float64)
    start_ms = int(np.datetime64(start, "ms").astype(np.int64))
    before = close[(stamps >= start_ms) & (stamps < cut)]
    # The recent window's returns start from the last close before it.
    after = close[max(int(np.searchsorted(stamps, cut)) - 1, 0) :]
    return OutcomeRelation(
        auc_before=roc_auc(p0, y0) if p0.size else math.nan,
        n_before=int(p0.size),
        auc_after=roc_auc(p1, y1) if p1.size else math.nan,
        n_after=int(p1.size),
        ece_before=ece_equal_mass(p0, y0),
        ece_after=ece_equal_mass(p1, y1),
        persistence_before=persistence(before),
        persistence_after=persistence(after),
        p_mean_before=_mean(p0),
        p_mean_after=_mean(p1),
        hit_rate_before=_mean(y0),
        hit_rate_after=_mean(y1),
        volatility_before=volatility(before),
        volatility_after=volatility(after),
    )


def baseline_psi(
    features: pd.DataFrame, stamps: npt.NDArray[np.int64], reference: Reference, now: dt.datetime
) -> dict[str, float]:
    """Per feature, the largest PSI of the 48 h blocks of the baseline `[now - 14 d, now - 48 h)`
    against the training reference: how large PSI gets on 48 autocorrelated bars without the
    incident (the recent window's PSI is judged against it, not against a fixed bound)."""
    from cvntrade.monitoring.drift import feature_psi

    worst: dict[str, float] = {}
    end = now - RECENT
    while end - RECENT >= now - BASELINE:
        lo = int(np.datetime64(end - RECENT, "ms").astype(np.int64))
        hi = int(np.datetime64(end, "ms").astype(np.int64))
        block = features[(stamps >= lo) & (stamps < hi)].reset_index(drop=True)
        for k, v in feature_psi(reference, block).items():
            if math.isfinite(v):
                worst[k] = max(worst.get(k, 0.0), v)
        end -= RECENT
    return worst


def focal_models(engine: Engine, now: dt.datetime) -> dict[str, tuple[str, int, str]]:
    """Per symbol, the focal model (name, version, strategy) of its latest logged prediction in
    the last 48 h: the model the alert is about, even after a rollback moved the champion.

    Set-based and index-driven: a recursive query walks the distinct symbols of the
    (crypto_symbol, bar_time) index (one seek each), and for each symbol one backward index
    seek finds its latest focal prediction in the window; only those rows leave the database.
    (Reading every prediction of the window to keep the last one per symbol cost 0.2-0.5 s on
    1 M predictions; this costs about a millisecond on both backends.)
    """
    from sqlalchemy import func, select

    from cvntrade.db.tables import predictions

    pr = predictions.c
    walk = select(func.min(pr.crypto_symbol).label("symbol")).cte("symbols", recursive=True)
    after = predictions.alias("after")
    following = select(func.min(after.c.crypto_symbol)).where(after.c.crypto_symbol > walk.c.symbol)
    symbols = walk.union_all(select(following.scalar_subquery()).where(walk.c.symbol.is_not(None)))
    q = predictions.alias("latest")
    latest_id = (
        select(q.c.id)
        .where(
            q.c.crypto_symbol == symbols.c.symbol,
            q.c.model_loss_function == "focal",
            q.c.bar_time >= now - RECENT,
            q.c.bar_time < now,
        )
        .order_by(q.c.bar_time.desc(), q.c.strategy)
        .limit(1)
        .scalar_subquery()
    )
    ids = select(latest_id.label("id")).where(symbols.c.symbol.is_not(None)).subquery()
    query = (
        select(pr.crypto_symbol, pr.model_name, pr.model_version, pr.strategy)
        .join(ids, pr.id == ids.c.id)
        .order_by(pr.crypto_symbol)
    )
    with engine.connect() as conn:
        return {
            symbol: (name, int(version), strategy)
            for symbol, name, version, strategy in conn.execute(query)
        }


def gather(
    engine: Engine,
    *,
    now: dt.datetime,
    references: ReferenceProvider,
    bars: BarLoader,
    version_tags: VersionTags,
    symbols: Sequence[str] | None = None,
    root: Path | None = None,
) -> tuple[list[SymbolEvidence], ImplementationEvidence]:
    """Read every signal the diagnosis needs (read-only). `symbols` None = every served one."""
    from cvntrade.features import LOOKBACK_BARS
    from cvntrade.journal.expectancy import expectancy_folds
    from cvntrade.monitoring.drift import symbol_drift
    from cvntrade.training.fingerprint import objective_fingerprint

    folds = {
        f.crypto_symbol: f for f in expectancy_folds(engine, clock=lambda: now, windows_only=True)
    }
    models = focal_models(engine, now)
    wanted = list(symbols) if symbols else sorted(models)
    warmup = dt.timedelta(hours=LOOKBACK_BARS)
    out = []
    trained: list[dt.datetime] = []
    for symbol in wanted:
        if symbol not in models:
            continue
        name, version, strategy = models[symbol]
        reference = references(name, version)
        d = symbol_drift(
            engine,
            bars(symbol, now - RECENT - warmup, now),
            symbol=symbol,
            model_name=name,
            model_version=version,
            reference=reference,
            since=now - RECENT,
            strategy=strategy,
        )
        tag, created = version_tags(name, version)
        if created is not None:
            trained.append(created)
        rel = outcome_relation(engine, bars, symbol, strategy, now)
        psi_base: dict[str, float] = {}
        frame = bars(symbol, now - BASELINE - warmup, now)
        if reference is not None and frame is not None and len(frame):
            from cvntrade.features import compute_features

            stamps = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
            psi_base = baseline_psi(compute_features(frame), stamps, reference, now)
        fold = folds.get(symbol)
        out.append(
            SymbolEvidence(
                crypto_symbol=symbol,
                model_name=name,
                model_version=version,
                psi=dict(d.psi),
                sharpness_recent=d.sharpness_recent,
                sharpness_training=d.sharpness_training,
                ece_live=d.ece_live,
                ece_training=d.ece_training,
                n_outcomes=d.n_outcomes,
                exp_48h=fold.exp_48h if fold else None,
                exp_14d_baseline=fold.exp_14d_baseline if fold else None,
                psi_baseline=psi_base,
                auc_before=rel.auc_before,
                n_before=rel.n_before,
                auc_after=rel.auc_after,
                n_after=rel.n_after,
                ece_before=rel.ece_before,
                ece_after=rel.ece_after,
                persistence_before=rel.persistence_before,
                persistence_after=rel.persistence_after,
                p_mean_before=rel.p_mean_before,
                p_mean_after=rel.p_mean_after,
                hit_rate_before=rel.hit_rate_before,
                hit_rate_after=rel.hit_rate_after,
                volatility_before=rel.volatility_before,
                volatility_after=rel.volatility_after,
                fingerprint_tag=tag,
                trained_at=created,
            )
        )
    is_git, commits, note = git_commits_since(root or repo_root(), min(trained, default=None))
    impl = ImplementationEvidence(
        installed_fingerprint=objective_fingerprint(),
        self_check_error=self_check(),
        git_checkout=is_git,
        commits=commits,
        git_note=note,
    )
    return out, impl


def registry_version_tags(tracking_uri: str) -> VersionTags:
    """(fingerprint tag, creation time) of a version from the MLflow registry (None, None when
    the registry does not know it)."""
    from cvntrade.errors import CvnError
    from cvntrade.registry import MlflowRegistry
    from cvntrade.training.fingerprint import FINGERPRINT_TAG

    registry = MlflowRegistry(tracking_uri)

    def tags(name: str, version: int) -> tuple[str | None, dt.datetime | None]:
        try:
            info = registry.get_version(name, version)
        except CvnError:
            return None, None
        return info.tags.get(FINGERPRINT_TAG), info.created_at

    return tags


def run_diagnosis(
    engine: Engine, settings: Settings, *, now: dt.datetime, symbols: Sequence[str] | None = None
) -> Diagnosis:
    """Gather from the configured database, MLflow registry and market store, then diagnose."""
    from cvntrade.runbook.diagnose import diagnose

    return diagnose(*gather_evidence(engine, settings, now=now, symbols=symbols))


def gather_evidence(
    engine: Engine, settings: Settings, *, now: dt.datetime, symbols: Sequence[str] | None = None
) -> tuple[list[SymbolEvidence], ImplementationEvidence]:
    """The evidence `run_diagnosis` judges (kept by `runbook diagnose --incident` in its note)."""
    from cvntrade.monitoring.service import registry_references
    from cvntrade.monitoring.snapshot import parquet_bar_loader

    uri = settings.effective_tracking_uri
    evidence, impl = gather(
        engine,
        now=now,
        references=registry_references(uri),
        bars=parquet_bar_loader(settings.home / "data"),
        version_tags=registry_version_tags(uri),
        symbols=symbols,
    )
    if not evidence:
        from cvntrade.errors import NotFoundError

        which = f" for {', '.join(symbols)}" if symbols else ""
        raise NotFoundError(
            f"no focal predictions in the 48 h before {now.isoformat()}{which}: nothing to diagnose"
        )
    return evidence, impl

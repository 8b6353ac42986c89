"""Publishing a trained bundle: artifacts, MLflow run, model version, first-version champion.

Registration never moves an existing `champion` alias (promotion is the FTF gate's decision).
The one exception is a model with no champion at all: its new version becomes the champion, so
a freshly trained model can be traded at once — unless the caller says its validation was
degenerate (`auto_champion=False`: a fold with one class only), in which case a person must
promote it explicitly. That move goes through
`cvntrade.registry.set_alias`, so it is audited and emits an `alias_events` row like any other.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvntrade.training.bundle import MODEL_ARTIFACT_DIR, ModelBundle, write_bundle
from cvntrade.training.tracking import (
    Registration,
    RunRecord,
    artifact_root,
    experiment_name,
    log_and_register,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

FIRST_VERSION_REASON = "first trained version of the model (cvntrade train)"


@dataclass(frozen=True, slots=True)
class Publication:
    """What to publish besides the bundle: params, metrics, tags and descriptive artifacts."""

    params: Mapping[str, str]
    metrics: Mapping[str, float]
    fold_metrics: Sequence[Mapping[str, float]]
    tags: Mapping[str, str]
    calibration: Mapping[str, Any]
    bundle_extra: Mapping[str, Any]
    extra_artifacts: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Published:
    """The registered version and where `champion` points afterwards."""

    registration: Registration
    champion_version: int | None


def publish(
    engine: Engine,
    bundle: ModelBundle,
    publication: Publication,
    *,
    model_name: str,
    tracking_uri: str,
    home: Path,
    run_name: str,
    actor: str,
    auto_champion: bool = True,
) -> Published:
    """Write the artifacts, log the run, register the version, apply the first-version rule."""
    from cvntrade.registry import CHAMPION, MlflowRegistry, set_alias

    with tempfile.TemporaryDirectory(prefix="cvntrade-train-") as tmp:
        root = Path(tmp)
        write_bundle(bundle, root / MODEL_ARTIFACT_DIR, publication.bundle_extra)
        _write_json(root / "calibration.json", publication.calibration)
        _write_json(root / "features.json", {"feature_names": list(bundle.feature_names)})
        for name, payload in publication.extra_artifacts.items():
            _write_json(root / name, payload)
        record = RunRecord(
            experiment=experiment_name(bundle.symbol, bundle.strategy),
            run_name=run_name,
            params=publication.params,
            metrics=publication.metrics,
            fold_metrics=publication.fold_metrics,
            run_tags={**publication.tags, "mlflow.source.git.commit": publication.tags["git_sha"]},
            artifacts=root,
        )
        registration = log_and_register(
            tracking_uri,
            record,
            model_name=model_name,
            version_tags=publication.tags,
            artifact_location=artifact_root(tracking_uri, home),
        )
    registry = MlflowRegistry(tracking_uri)
    champion = registry.aliases(model_name).get(CHAMPION)
    if champion is None and auto_champion:
        set_alias(
            engine,
            registry,
            name=model_name,
            alias=CHAMPION,
            version=registration.version,
            reason=FIRST_VERSION_REASON,
            actor=actor,
        )
        champion = registration.version
    return Published(registration, champion)


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))

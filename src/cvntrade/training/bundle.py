"""What a registered model version is to its users: booster, features, calibration, threshold.

A version's artifact directory (`<run artifacts>/model`, the version's `source`) holds

* `booster.ubj`: the XGBoost booster (UBJSON);
* `bundle.json`: format, symbol, strategy, interval, feature names, loss, focal gamma and
  alpha, calibration, temperature, threshold and the rule that chose it.

`load_bundle` reads them back; the trading engine calls it on every alias switch, so it reads a
local artifact directory in place (no copy) and keeps no global cache.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt

from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.training.booster import booster_margins
from cvntrade.training.calibration import calibrated_probability

if TYPE_CHECKING:
    import xgboost

BUNDLE_FORMAT = "cvntrade-model-bundle-v1"
BOOSTER_FILE = "booster.ubj"
BUNDLE_FILE = "bundle.json"
INFERENCE_THREADS = 1
"""XGBoost threads of a loaded bundle's booster (per-bar inference: one row per call)."""
MODEL_ARTIFACT_DIR = "model"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A trained model ready to predict: margins through `sigmoid(margin / temperature)`.

    `threshold` is the entry threshold on the calibrated probability (see docs/training.md for
    the rule that chose it). `loss_function` is `binary` or `focal`; `calibration` is `none`
    (then `temperature == 1.0`) or `temperature_scaling`.
    """

    booster: xgboost.Booster
    feature_names: tuple[str, ...]
    loss_function: str
    calibration: str
    temperature: float
    threshold: float
    strategy: str
    symbol: str

    def margins(self, features: npt.ArrayLike) -> FloatArray:
        """Booster margins (float64) of rows whose columns are `feature_names`, in order."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise UserInputError(
                f"expected rows of {len(self.feature_names)} features "
                f"({', '.join(self.feature_names[:3])}, …), got an array of shape {x.shape}"
            )
        return booster_margins(self.booster, x)

    def predict_proba(self, features: npt.ArrayLike) -> FloatArray:
        """Calibrated probability that the trade hits its take profit: sigmoid(margin / T)."""
        return calibrated_probability(self.margins(features), self.temperature)


def write_bundle(
    bundle: ModelBundle, directory: Path, extra: Mapping[str, Any] | None = None
) -> None:
    """Write `booster.ubj` and `bundle.json` (plus `extra` descriptive keys) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    bundle.booster.save_model(str(directory / BOOSTER_FILE))
    payload = {
        **(extra or {}),
        "format": BUNDLE_FORMAT,
        "booster_file": BOOSTER_FILE,
        "feature_names": list(bundle.feature_names),
        "loss_function": bundle.loss_function,
        "calibration": bundle.calibration,
        "temperature": bundle.temperature,
        "threshold": bundle.threshold,
        "strategy": bundle.strategy,
        "symbol": bundle.symbol,
    }
    (directory / BUNDLE_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True))


def read_bundle(directory: Path) -> ModelBundle:
    """Read a bundle written by `write_bundle` (UserInputError if it is not one).

    The booster is set to `INFERENCE_THREADS` (1) threads: bundles serve per-bar predictions.
    """
    import xgboost

    path = directory / BUNDLE_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFoundError(f"no {BUNDLE_FILE} in {directory}: not a CVNTrade model") from None
    if meta.get("format") != BUNDLE_FORMAT:
        raise UserInputError(f"{path}: unknown bundle format {meta.get('format')!r}")
    booster = xgboost.Booster()
    try:
        booster.load_model(str(directory / meta["booster_file"]))
    except xgboost.core.XGBoostError as exc:
        first_line = str(exc).splitlines()[0]
        raise DependencyError(f"{directory}: cannot read the booster: {first_line}") from None
    # Serving predicts a few rows per call: OpenMP threads only add wake-ups, and on a busy
    # 2-core machine a descheduled second thread made the per-bar p99 16 ms (p50 0.1 ms).
    booster.set_param({"nthread": INFERENCE_THREADS})
    return ModelBundle(
        booster=booster,
        feature_names=tuple(meta["feature_names"]),
        loss_function=str(meta["loss_function"]),
        calibration=str(meta["calibration"]),
        temperature=float(meta["temperature"]),
        threshold=float(meta["threshold"]),
        strategy=str(meta["strategy"]),
        symbol=str(meta["symbol"]),
    )


def load_bundle(tracking_uri: str, model_name: str, version: int) -> ModelBundle:
    """The bundle of a registered version, read from that version's artifacts.

    Raises `NotFoundError` for an unknown model or version, `DependencyError` when the registry
    or its artifact store cannot be reached.
    """
    from mlflow import MlflowClient

    from cvntrade.registry.mlflow_errors import translated_mlflow_errors

    what = f"model {model_name!r} version {version}"
    with translated_mlflow_errors(what):
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        source = str(client.get_model_version(model_name, str(version)).source)
    local = _local_directory(source)
    if local is not None:
        if not local.is_dir():
            raise DependencyError(f"{what}: artifact directory {local} is missing")
        return read_bundle(local)
    with _downloaded(source, tracking_uri, what) as directory:
        return read_bundle(directory)


def _local_directory(source: str) -> Path | None:
    """The local path of an artifact URI (`file://…` or a plain path), None if remote."""
    parsed = urlparse(source)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and source[1:3] in (":\\", ":/")):
        return Path(source)
    return None


@contextmanager
def _downloaded(source: str, tracking_uri: str, what: str) -> Iterator[Path]:
    """Download a remote artifact directory into a temporary directory for the block."""
    from mlflow.artifacts import download_artifacts

    from cvntrade.registry.mlflow_errors import translated_mlflow_errors

    with tempfile.TemporaryDirectory(prefix="cvntrade-bundle-") as tmp:
        with translated_mlflow_errors(what):
            path = download_artifacts(artifact_uri=source, dst_path=tmp, tracking_uri=tracking_uri)
        yield Path(path)

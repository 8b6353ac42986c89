"""Fingerprint of the focal objective's code, recorded on every focal version at training time.

`objective_fingerprint()` hashes the source of the installed
`cvntrade.training.xgboost.focal_loss` module (plus a replacement factory's source when one is
swapped in, as the `implementation-regression` drill does). Training records it as the MLflow
tag `focal_objective_fingerprint`; `runbook diagnose` compares the champion's tag with the
fingerprint of the objective installed now, so a changed or broken objective is visible.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

FINGERPRINT_TAG = "focal_objective_fingerprint"


def objective_fingerprint(objective_factory: Callable[..., Any] | None = None) -> str:
    """SHA-256 (first 16 hex digits) of the focal objective's code.

    Default: the installed `cvntrade.training.xgboost.focal_loss` module source. For a factory
    that is not that module's own `focal_objective` (a planted copy), its source is hashed too.
    """
    from cvntrade.training.xgboost import focal_loss

    digest = hashlib.sha256(inspect.getsource(focal_loss).encode())
    factory = objective_factory or focal_loss.focal_objective
    if factory is not _installed_factory():
        digest.update(inspect.getsource(factory).encode())
    return digest.hexdigest()[:16]


def _installed_factory() -> Callable[..., Any]:
    from cvntrade.training.xgboost import focal_loss

    original = getattr(focal_loss, "_drill_original_focal_objective", None)
    factory: Callable[..., Any] = original or focal_loss.focal_objective
    return factory

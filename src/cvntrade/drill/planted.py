"""The planted defect of the `implementation-regression` drill, and objective fingerprints.

The defect lives in a *copy* of the focal objective used only while one drill world trains:
`planted_focal_defect()` swaps `cvntrade.training.xgboost.focal_loss.focal_objective` in memory,
in this process, for the duration of a `with` block, and always restores it. The package's files
are never touched, so every other run (and the world's own diagnosis, which checks the installed
code) sees the correct objective.

`objective_fingerprint` hashes the code of the focal objective a run would train with (the
installed module's source, plus the defective copy's when a defect is planted). The drill records
it on every focal version as the MLflow tag `focal_objective_fingerprint`, so a diagnosis can
compare
"the objective this champion was trained with" with "the objective installed now".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from cvntrade.training.fingerprint import FINGERPRINT_TAG, objective_fingerprint

__all__ = [
    "FINGERPRINT_TAG",
    "defective_objective_factory",
    "objective_fingerprint",
    "planted_focal_defect",
]

HESS_FLOOR = 1e-6


def defective_objective_factory() -> Callable[..., Any]:
    """A focal objective factory with a sign error: `s = 1 - 2y` instead of `s = 2y - 1`.

    The gradient is that of the focal loss of the *other* class, so the booster learns to rank
    bars inversely: its most confident signals are the trades most likely to lose. The hessian
    is floored like the real objective's, so training converges quietly.
    """
    from cvntrade.training.xgboost.focal_loss import focal_grad_hess

    def focal_objective(
        gamma: float, alpha: float, *_args: Any, **_kwargs: Any
    ) -> Callable[..., Any]:
        def objective(preds: Any, dtrain: Any) -> tuple[Any, Any]:
            label = np.asarray(dtrain.get_label(), dtype=np.float64)
            grad, hess = focal_grad_hess(preds, 1.0 - label, gamma, alpha)  # the planted bug
            return grad.astype(np.float32), np.maximum(hess, HESS_FLOOR).astype(np.float32)

        return objective

    return focal_objective


@contextmanager
def planted_focal_defect() -> Iterator[str]:
    """While active, focal training in this process uses a defective copy of the objective.

    Yields the fingerprint of the defective objective. Restores the installed one on exit.
    """
    from cvntrade.training.xgboost import focal_loss

    original = focal_loss.focal_objective
    defective = defective_objective_factory()
    focal_loss._drill_original_focal_objective = original  # type: ignore[attr-defined]
    focal_loss.focal_objective = defective
    try:
        yield objective_fingerprint(defective)
    finally:
        focal_loss.focal_objective = original
        del focal_loss._drill_original_focal_objective  # type: ignore[attr-defined]

"""Pick numba's threading layer before its first parallel kernel runs (why: XGBoost's OpenMP).

numba's default layer on Linux is OpenMP through the *system* ``libgomp``, while XGBoost's wheel
ships its own copy of ``libgomp``. Two OpenMP runtimes then keep two thread pools whose idle
workers busy-wait ("spin") after every parallel region. On a 2-core machine the focal objective
(a numba kernel called once per boosting round, between XGBoost's parallel regions) and XGBoost
spin against each other: focal training measured 1.33x the wall time of ``binary:logistic``
with ``OMP_WAIT_POLICY`` unset, 1.085x only with ``OMP_WAIT_POLICY=PASSIVE``, a variable users
never set. numba's ``workqueue`` layer parks idle workers on a condition variable (no spinning),
so only XGBoost's runtime is left spinning and the two no longer fight. It is chosen here, in the
package, unless the user picked a layer with ``NUMBA_THREADING_LAYER`` (respected as is).

The layer is fixed by numba at the first parallel launch in the process, so every module with a
``parallel=True`` kernel calls `prefer_sleeping_threads` at import. Caveat of ``workqueue``: it
aborts the process when two Python threads launch parallel kernels at once (a Dask runner with
several threads per worker does), so every parallel launch holds `PARALLEL_LAUNCH`.
"""

from __future__ import annotations

import os
import threading

__all__ = ["PARALLEL_LAUNCH", "THREADING_LAYER", "prefer_sleeping_threads"]

PARALLEL_LAUNCH = threading.Lock()
"""Held around every ``parallel=True`` kernel call: one parallel launch per process at a time."""

THREADING_LAYER = "workqueue"
"""The numba threading layer CVNTrade selects when the user did not choose one."""


def prefer_sleeping_threads() -> str:
    """Select numba's non-spinning ``workqueue`` layer unless the user chose a layer.

    Returns the layer numba will use (or already uses, when a parallel kernel ran before this
    call: then nothing changes). Idempotent and cheap.
    """
    from numba.core import config
    from numba.np.ufunc import parallel

    if os.environ.get("NUMBA_THREADING_LAYER"):
        return str(getattr(config, "THREADING_LAYER", "default"))
    if getattr(parallel, "_is_initialized", False):  # threads already started: too late
        return str(parallel.threading_layer())  # type: ignore[no-untyped-call]
    setattr(config, "THREADING_LAYER", THREADING_LAYER)  # noqa: B010 - untyped numba config
    return THREADING_LAYER

"""The champion cache: each symbol's `champion` model, swapped atomically when the alias moves.

The cache loads a symbol's champion once, then re-checks the alias every `poll_s` seconds and
whenever a new row appears in `alias_events` (written by every audited alias move, whatever the
process), so a rollback propagates within one check. If the registry cannot be reached, the
last good model keeps serving, marked stale, and the cache recovers by itself on a later check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, func, select

from cvntrade.db.tables import alias_events
from cvntrade.errors import CvnError, DependencyError, NotFoundError
from cvntrade.registry import CHAMPION, Registry
from cvntrade.trading.positions import ModelStamp

log = logging.getLogger(__name__)


class TradableModel(Protocol):
    """What the engine needs from a loaded model (`cvntrade.training.bundle.ModelBundle`)."""

    @property
    def threshold(self) -> float:
        """Entry threshold on the calibrated probability."""
        ...

    @property
    def loss_function(self) -> str:
        """`binary` or `focal`."""
        ...

    def predict_proba(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities of a take profit, one per row of `features`."""
        ...


ModelLoader = Callable[[str, int], TradableModel]


@dataclass(frozen=True, slots=True)
class ServedModel:
    """The model serving a symbol right now, and whether it may be out of date."""

    stamp: ModelStamp
    model: TradableModel
    stale: bool = False


class ChampionCache:
    """Per-symbol champions with alias polling, cross-process invalidation and stale fallback."""

    def __init__(
        self,
        *,
        registry: Registry,
        loader: ModelLoader,
        db: Engine,
        model_names: Mapping[str, str],
        poll_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._loader = loader
        self._db = db
        self._names = dict(model_names)
        self._poll_s = poll_s
        self._monotonic = monotonic
        self._served: dict[str, ServedModel] = {}
        self._last_poll = -float("inf")
        self._last_event_id = self._newest_event_id()

    def served(self, symbol: str) -> ServedModel:
        """The model serving `symbol` (loaded on first use; `NotFoundError` without a champion)."""
        if symbol not in self._served:
            self._refresh_symbol(symbol, initial=True)
        return self._served[symbol]

    def check(self) -> bool:
        """Re-check aliases when an alias event arrived or `poll_s` elapsed; True if any swapped."""
        newest = self._newest_event_id()
        due = self._monotonic() - self._last_poll >= self._poll_s
        if newest == self._last_event_id and not due:
            return False
        self._last_event_id = newest
        return self.refresh()

    def refresh(self) -> bool:
        """Re-read every symbol's champion alias now; True if any model was swapped."""
        self._last_poll = self._monotonic()
        swapped = False
        for symbol in list(self._names):
            swapped |= self._refresh_symbol(symbol, initial=symbol not in self._served)
        return swapped

    def _refresh_symbol(self, symbol: str, *, initial: bool) -> bool:
        name = self._names[symbol]
        current = self._served.get(symbol)
        try:
            aliases = self._registry.aliases(name)
            if CHAMPION not in aliases:
                raise NotFoundError(f"model {name!r} has no {CHAMPION!r} alias")
            version = aliases[CHAMPION]
            if current is not None and current.stamp.version == version and not current.stale:
                return False
            if current is not None and current.stamp.version == version:
                self._served[symbol] = ServedModel(current.stamp, current.model, stale=False)
                log.info("registry reachable again: %s v%s no longer stale", name, version)
                return False
            model = self._loader(name, version)
        except (DependencyError, OSError) as exc:
            if initial or current is None:
                raise
            if not current.stale:
                log.warning(
                    "registry unreachable, serving %s v%s stale: %s",
                    name,
                    current.stamp.version,
                    exc,
                )
            self._served[symbol] = ServedModel(current.stamp, current.model, stale=True)
            return False
        except CvnError:
            if initial or current is None:
                raise
            log.exception(
                "cannot load the champion of %s; keeping v%s", name, current.stamp.version
            )
            return False
        stamp = ModelStamp(name, version, model.loss_function)
        self._served[symbol] = ServedModel(stamp, model)
        if current is not None:
            log.info("champion of %s: v%s → v%s", name, current.stamp.version, version)
        return True

    def _newest_event_id(self) -> int:
        with self._db.connect() as conn:
            newest = conn.execute(select(func.max(alias_events.c.id))).scalar()
        return int(newest or 0)

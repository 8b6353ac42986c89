"""Registry records, independent of MLflow's own classes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """One version of a registered model, with its tags and the aliases pointing at it."""

    name: str
    version: int
    run_id: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    created_at: dt.datetime | None = None

    @property
    def loss_function(self) -> str | None:
        """The `loss_function` tag: `binary` or `focal` (None for untagged versions)."""
        return self.tags.get("loss_function")

    def runbook_line(self) -> str:
        """The runbook's line: `version=42 run_id=abc tags={loss_function: focal} aliases=[…]`.

        Only the `loss_function` tag is shown, as in the runbook; `--json` carries all tags.
        """
        tags = f"loss_function: {self.loss_function}" if self.loss_function else ""
        return (
            f"version={self.version} run_id={self.run_id or '-'} tags={{{tags}}} "
            f"aliases=[{', '.join(self.aliases)}]"
        )

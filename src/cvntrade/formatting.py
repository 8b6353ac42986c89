"""How numbers are written for people: signed figures without `-0.0000`, counts as integers."""

from __future__ import annotations

import math


def fmt_signed(value: float, digits: int = 4) -> str:
    """`value` with its sign and `digits` decimals; anything that rounds to zero is `+0.0000`.

    `f"{-0.00001:+.4f}"` gives `-0.0000`, which reads as a loss that is not there.
    """
    if math.isnan(value):
        return "—"
    rounded = round(value, digits)
    return f"{(rounded if rounded != 0 else 0.0):+.{digits}f}"


def fmt_fixed(value: float, digits: int = 4) -> str:
    """`value` with `digits` decimals and no sign unless negative; never `-0.0000`."""
    if math.isnan(value):
        return "—"
    rounded = round(value, digits)
    return f"{(rounded if rounded != 0 else 0.0):.{digits}f}"

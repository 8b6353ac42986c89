"""Numbers as people read them: no `-0.0000`, sign and rounding kept."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from cvntrade.formatting import fmt_fixed, fmt_signed


def test_tiny_losses_do_not_print_as_negative_zero() -> None:
    assert fmt_signed(-0.00001) == "+0.0000"
    assert fmt_signed(-0.0) == "+0.0000"
    assert fmt_fixed(-0.00004) == "0.0000"
    assert fmt_signed(-0.25) == "-0.2500"
    assert fmt_signed(1.5, digits=2) == "+1.50"
    assert fmt_signed(math.nan) == "—"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_formatted_value_is_the_rounded_value_and_never_negative_zero(value: float) -> None:
    for text in (fmt_signed(value), fmt_fixed(value)):
        assert text not in ("-0.0000", "+-0.0000")
        assert abs(float(text) - value) <= 0.5e-4 + 1e-9 * abs(value)

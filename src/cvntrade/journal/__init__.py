"""The trade journal: records, repository, validated bulk import and the runbook's queries."""

from cvntrade.journal.expectancy import (
    FoldExpectancy,
    LossExpectancy,
    SymbolExpectancy,
    expectancy_between,
    expectancy_by_symbol,
    expectancy_folds,
    parse_window,
)
from cvntrade.journal.importer import ImportResult, import_trades
from cvntrade.journal.records import Trade

__all__ = [
    "FoldExpectancy",
    "ImportResult",
    "LossExpectancy",
    "SymbolExpectancy",
    "Trade",
    "expectancy_between",
    "expectancy_by_symbol",
    "expectancy_folds",
    "import_trades",
    "parse_window",
]

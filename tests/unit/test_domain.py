"""The domain vocabulary: one definition per word, both spellings of a loss understood."""

from __future__ import annotations

import pytest

from cvntrade.config.keys import LOSS_FUNCTIONS as CONFIG_LOSSES
from cvntrade.db.tables import EXIT_REASONS, LOSS_FUNCTIONS, TRADE_SOURCES
from cvntrade.domain import ExitReason, IncidentStatus, LossFunction, TradeSource
from cvntrade.errors import UserInputError
from cvntrade.runbook.incidents import CLOSED_STATUSES, STATUSES


def test_each_loss_has_a_config_and_a_journal_spelling() -> None:
    assert LossFunction.parse("binary:logistic") is LossFunction.BINARY
    assert LossFunction.parse("binary") is LossFunction.BINARY
    assert LossFunction.parse(" focal ") is LossFunction.FOCAL
    assert [loss.config_value for loss in LossFunction] == list(CONFIG_LOSSES)
    assert [loss.value for loss in LossFunction] == list(LOSS_FUNCTIONS)


def test_an_unknown_loss_is_a_clean_input_error_naming_the_field() -> None:
    with pytest.raises(UserInputError, match=r"unknown --loss 'logistic'"):
        LossFunction.parse("logistic")
    with pytest.raises(UserInputError, match=r"CVN_LOSS_FUNCTION"):
        LossFunction.parse("Focal", field="CVN_LOSS_FUNCTION")


def test_schema_constraints_and_statuses_come_from_the_enums() -> None:
    assert tuple(ExitReason) == EXIT_REASONS
    assert "data_gap" in EXIT_REASONS
    assert tuple(TradeSource) == TRADE_SOURCES
    assert tuple(IncidentStatus) == STATUSES
    assert CLOSED_STATUSES == ("resolved", "false_positive")

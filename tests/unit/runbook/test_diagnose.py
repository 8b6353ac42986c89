"""`runbook diagnose` scoring on hand-made evidence, and the focal self-check."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cvntrade.runbook.diagnose import (
    LIKELY,
    POSSIBLE,
    RULED_OUT,
    ImplementationEvidence,
    SymbolEvidence,
    diagnose,
    drifted_features,
    persistence_change,
    relation_inverted,
    verdict_for,
)
from cvntrade.runbook.diagnose_gather import exact_grad_hess, git_commits_since, self_check

SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
FEATURES = ("vol_24", "vol_72", "atr_14_pct", "range_pct", "ret_1", "close_location")
GOOD = ImplementationEvidence("abc", 1e-15, git_checkout=True)


def quiet(symbol: str) -> SymbolEvidence:
    """A symbol with nothing wrong: PSI at its baseline level, calibration and ranking kept."""
    return SymbolEvidence(
        crypto_symbol=symbol,
        model_version=2,
        psi=dict.fromkeys(FEATURES, 2.0),
        psi_baseline=dict.fromkeys(FEATURES, 2.5),
        ece_before=0.12,
        ece_after=0.15,
        n_after=45,
        n_before=280,
        auc_before=0.8,
        auc_after=0.65,
        persistence_before=0.6,
        persistence_after=0.55,
        exp_48h=0.2,
        exp_14d_baseline=0.3,
        fingerprint_tag="abc",
    )


def world(**changes: object) -> list[SymbolEvidence]:
    return [dataclasses.replace(quiet(s), **changes) for s in SYMBOLS]  # type: ignore[arg-type]


def verdicts(result: object) -> dict[str, str]:
    return {c.cause: c.verdict for c in result.causes}  # type: ignore[attr-defined]


def test_healthy_evidence_rules_everything_out_and_recommends_default_path() -> None:
    result = diagnose(world(), GOOD)
    assert set(verdicts(result).values()) == {RULED_OUT}
    assert result.likely == ()
    assert (result.path, result.scope) == ("A", "none")


def test_causes_come_in_the_runbook_priority_order() -> None:
    result = diagnose(world(), GOOD)
    assert [c.cause for c in result.causes] == [
        "distribution-drift",
        "calibration-drift",
        "concept-drift",
        "implementation-regression",
    ]


def test_volatility_shift_is_distribution_drift_with_top_features() -> None:
    psi = {**dict.fromkeys(FEATURES, 2.0), "vol_24": 8.0, "vol_72": 7.0, "atr_14_pct": 6.0}
    result = diagnose(world(psi=psi, ece_after=0.35), GOOD)
    assert result.ranking[0] == "distribution-drift"
    assert result.path == "A" and result.scope == "market-wide"
    lines = result.causes[0].evidence
    assert "vol_24 8.00 vs baseline 2.50" in lines[0]
    # miscalibration explained by drifted inputs is not calibration drift
    assert verdicts(result)["calibration-drift"] != LIKELY


def test_ece_rise_without_drift_is_calibration_drift_path_b() -> None:
    result = diagnose(world(ece_after=0.32), GOOD)
    assert result.likely == ("calibration-drift",)
    assert result.ranking[0] == "calibration-drift"
    assert result.path == "B"


def test_lost_persistence_and_inverted_relation_is_concept_drift_path_c() -> None:
    psi = {**dict.fromkeys(FEATURES, 2.0), "vol_24": 8.0, "vol_72": 7.0, "atr_14_pct": 6.0}
    result = diagnose(
        world(psi=psi, persistence_after=0.0, auc_after=0.3, exp_48h=-0.4, ece_after=0.3), GOOD
    )
    assert result.ranking[0] == "concept-drift"
    assert result.path == "C"
    assert verdicts(result)["distribution-drift"] != LIKELY


def test_fingerprint_mismatch_ranks_implementation_first_even_with_other_signals() -> None:
    result = diagnose(world(fingerprint_tag="zzz", ece_after=0.4, auc_after=0.3), GOOD)
    assert result.ranking[0] == "implementation-regression"
    assert result.path == "A"
    assert "!= installed" in " ".join(result.causes[3].evidence)


def test_failed_self_check_alone_is_likely_and_commits_alone_possible() -> None:
    broken = dataclasses.replace(GOOD, self_check_error=0.5)
    assert verdicts(diagnose(world(), broken))["implementation-regression"] == LIKELY
    changed = dataclasses.replace(GOOD, commits=("abc123 2026-11-30 edit focal",))
    assert verdicts(diagnose(world(), changed))["implementation-regression"] == POSSIBLE


def test_not_a_checkout_is_said() -> None:
    impl = ImplementationEvidence("abc", 0.0, git_checkout=False, git_note="installed wheel")
    lines = diagnose(world(), impl).causes[3].evidence
    assert any("not a git checkout (installed wheel)" in line for line in lines)


def test_drift_on_two_of_five_symbols_is_symbol_specific() -> None:
    psi = {**dict.fromkeys(FEATURES, 2.0), "vol_24": 8.0, "vol_72": 7.0, "atr_14_pct": 6.0}
    ev = [dataclasses.replace(s, psi=psi) if i < 2 else s for i, s in enumerate(world())]
    result = diagnose(ev, GOOD)
    dist = result.causes[0]
    assert dist.symbols == ("BTCUSDC", "ETHUSDC")
    assert dist.verdict == POSSIBLE  # 2/5 * 0.9 = 0.36
    assert result.scope == "none"  # nothing is likely


def test_verdict_bounds() -> None:
    assert verdict_for(0.5) == LIKELY
    assert verdict_for(0.49) == POSSIBLE
    assert verdict_for(0.2) == POSSIBLE
    assert verdict_for(0.19) == RULED_OUT


def test_drifted_features_are_judged_against_their_baseline() -> None:
    s = dataclasses.replace(quiet("BTCUSDC"), psi={"a": 3.0, "b": 3.0, "c": 0.2})
    s = dataclasses.replace(s, psi_baseline={"a": 1.0, "b": 2.5, "c": 0.0})
    assert [name for name, _, _ in drifted_features(s)] == ["a"]  # b within noise, c tiny


def test_relation_needs_enough_outcomes() -> None:
    s = dataclasses.replace(quiet("BTCUSDC"), auc_after=0.2)
    assert relation_inverted(s)
    assert not relation_inverted(dataclasses.replace(s, n_after=5))
    assert not relation_inverted(dataclasses.replace(s, auc_before=0.4))


def test_persistence_change_is_relative_and_needs_persistence_before() -> None:
    assert persistence_change(world()) == 0.0
    assert persistence_change(world(persistence_after=0.0)) == 1.0
    assert persistence_change(world(persistence_before=0.05, persistence_after=-0.2)) == 0.0
    assert persistence_change(world(persistence_after=math.nan)) == 0.0


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_independent_formula_matches_installed_focal_derivatives(gamma: float) -> None:
    from cvntrade.training.xgboost.focal_loss import focal_grad_hess

    z = np.linspace(-5, 5, 41)
    for y in (0.0, 1.0):
        label = np.full_like(z, y)
        got = focal_grad_hess(z, label, gamma, 0.25)
        ref = exact_grad_hess(z, label, gamma, 0.25)
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-12)


def test_self_check_passes_installed_and_catches_a_sign_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cvntrade.training.xgboost import focal_loss

    assert self_check() < 1e-9
    original = focal_loss.focal_grad_hess

    def wrong(margin, label, gamma, alpha):  # type: ignore[no-untyped-def]
        return original(margin, 1.0 - np.asarray(label), gamma, alpha)

    monkeypatch.setattr(focal_loss, "focal_grad_hess", wrong)
    assert self_check() > 0.1


def test_git_history_outside_a_checkout(tmp_path: object) -> None:
    from pathlib import Path

    is_git, commits, note = git_commits_since(Path(str(tmp_path)), None)
    assert not is_git and commits == () and "not a git checkout" in note

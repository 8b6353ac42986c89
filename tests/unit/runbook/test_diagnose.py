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
    Diagnosis,
    ImplementationEvidence,
    SymbolEvidence,
    diagnose,
    verdict_for,
)
from cvntrade.runbook.diagnose_gather import exact_grad_hess, git_commits_since, self_check
from cvntrade.runbook.diagnose_signals import (
    drifted_features,
    input_drift,
    overconfidence,
    persistence_change,
    pooled_overconfidence,
    ramp,
    ranking_kept,
    relation_inverted,
    volatility_shift,
)

SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
FEATURES = (
    "vol_24", "vol_72", "atr_14_pct", "range_pct", "ret_1", "ret_2", "ret_4", "body",
    "close_location", "rsi_14",
)  # fmt: skip
GOOD = ImplementationEvidence("abc", 1e-15, git_checkout=True)
DRIFTED_PSI = {**dict.fromkeys(FEATURES, 6.0), "close_location": 2.0}
"""Nine of ten features far above their baseline (2.5): clear input drift by PSI."""


def quiet(symbol: str) -> SymbolEvidence:
    """A symbol with nothing wrong: PSI at its baseline level, calibration, ranking, volatility
    and persistence kept."""
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
        auc_after=0.75,
        p_mean_before=0.42,
        hit_rate_before=0.40,
        p_mean_after=0.43,
        hit_rate_after=0.40,
        volatility_before=0.010,
        volatility_after=0.011,
        persistence_before=0.6,
        persistence_after=0.55,
        exp_48h=0.2,
        exp_14d_baseline=0.3,
        fingerprint_tag="abc",
    )


def world(**changes: object) -> list[SymbolEvidence]:
    return [dataclasses.replace(quiet(s), **changes) for s in SYMBOLS]  # type: ignore[arg-type]


def verdicts(result: Diagnosis) -> dict[str, str]:
    return {c.cause: c.verdict for c in result.causes}


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


def test_a_volatility_rise_is_distribution_drift_and_explains_the_over_confidence() -> None:
    # Stops fire on noise: the predictions became over-confident too, but the inputs moved.
    result = diagnose(world(volatility_after=0.03, hit_rate_after=0.15), GOOD)
    assert result.ranking[0] == "distribution-drift"
    assert result.likely == ("distribution-drift",)
    assert (result.path, result.scope) == ("A", "market-wide")
    assert "return volatility x3.000" in result.causes[0].evidence[1]
    assert verdicts(result)["calibration-drift"] == RULED_OUT


def test_psi_drift_on_many_features_is_distribution_drift_with_top_features() -> None:
    result = diagnose(world(psi=DRIFTED_PSI), GOOD)
    assert result.ranking[0] == "distribution-drift"
    assert verdicts(result)["distribution-drift"] == LIKELY
    assert "9 drifted features (top: " in result.causes[0].evidence[1]
    assert "vol_24 6.00 vs baseline 2.50" in result.causes[0].evidence[1]


def test_a_few_drifted_features_are_baseline_noise_not_drift() -> None:
    psi = {**dict.fromkeys(FEATURES, 2.0), "vol_24": 8.0, "vol_72": 7.0, "atr_14_pct": 6.0}
    result = diagnose(world(psi=psi), GOOD)
    assert verdicts(result)["distribution-drift"] == RULED_OUT


def test_over_confidence_with_ranking_kept_and_no_drift_is_calibration_drift_path_b() -> None:
    result = diagnose(world(hit_rate_after=0.20), GOOD)  # realised win rate fell 20 points
    assert result.likely == ("calibration-drift",)
    assert result.ranking[0] == "calibration-drift"
    assert (result.path, result.scope) == ("B", "market-wide")
    assert "rose by 0.210" in result.causes[1].evidence[0]  # and p_mean rose 0.01


def test_over_confidence_of_a_model_that_ranks_inversely_is_not_calibration_drift() -> None:
    result = diagnose(world(hit_rate_after=0.20, auc_after=0.3), GOOD)
    assert verdicts(result)["calibration-drift"] == RULED_OUT
    assert result.causes[1].symbols == ()


def test_one_over_confident_symbol_does_not_make_a_market_wide_calibration_drift() -> None:
    ev = world()
    ev[0] = dataclasses.replace(ev[0], hit_rate_after=0.0)  # 45 bad outcomes out of 225
    result = diagnose(ev, GOOD)
    assert verdicts(result)["calibration-drift"] == RULED_OUT
    assert result.causes[1].symbols == ("BTCUSDC",)


def test_lost_persistence_and_inverted_relation_is_concept_drift_path_c() -> None:
    result = diagnose(
        world(
            psi=DRIFTED_PSI,
            volatility_after=0.02,
            persistence_after=-0.2,
            auc_after=0.3,
            exp_48h=-0.4,
            hit_rate_after=0.2,
        ),
        GOOD,
    )
    assert result.ranking[0] == "concept-drift"
    assert (result.path, result.scope) == ("C", "market-wide")
    assert verdicts(result)["distribution-drift"] != LIKELY
    assert verdicts(result)["calibration-drift"] == RULED_OUT


def test_fingerprint_mismatch_ranks_implementation_first_even_with_other_signals() -> None:
    result = diagnose(world(fingerprint_tag="zzz", hit_rate_after=0.1, auc_after=0.3), GOOD)
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


def test_drift_on_two_of_five_symbols_is_symbol_specific_and_only_possible() -> None:
    ev = [
        dataclasses.replace(s, volatility_after=0.03) if i < 2 else s for i, s in enumerate(world())
    ]
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


def test_ramp_is_clipped_and_nan_is_nothing() -> None:
    assert [ramp(x, 1.0, 3.0) for x in (0.0, 1.0, 2.0, 3.0, 9.0)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert ramp(math.nan, 1.0, 3.0) == 0.0


def test_drifted_features_are_judged_against_their_baseline() -> None:
    s = dataclasses.replace(quiet("BTCUSDC"), psi={"a": 3.0, "b": 3.0, "c": 0.2})
    s = dataclasses.replace(s, psi_baseline={"a": 1.0, "b": 2.5, "c": 0.0})
    assert [name for name, _, _ in drifted_features(s)] == ["a"]  # b within noise, c tiny


def test_only_a_rise_of_volatility_is_a_shift() -> None:
    assert volatility_shift(1.2) == 0.0
    assert volatility_shift(2.0) == pytest.approx(0.5)
    assert volatility_shift(3.0) == 1.0
    assert volatility_shift(0.3) == 0.0  # calmer: fewer trades, not losses
    assert volatility_shift(math.nan) == 0.0
    calm = dataclasses.replace(quiet("BTCUSDC"), volatility_after=0.003)
    assert input_drift(calm) == 0.0
    assert input_drift(dataclasses.replace(calm, volatility_before=0.0)) == 0.0


def test_over_confidence_is_pooled_by_outcomes_and_needs_enough_of_them() -> None:
    big = dataclasses.replace(quiet("BTCUSDC"), n_after=90, hit_rate_after=0.10)  # +0.31
    small = dataclasses.replace(quiet("ETHUSDC"), n_after=30, hit_rate_after=0.40)  # +0.01
    assert overconfidence(big) == pytest.approx(0.31)
    # Every outcome weighs the same: (90 * 0.33 + 30 * 0.03) / 120 - 0.02 before = 0.235.
    assert pooled_overconfidence([big, small]) == pytest.approx(0.235)
    few = dataclasses.replace(big, n_after=10)
    assert math.isnan(overconfidence(few))
    assert math.isnan(pooled_overconfidence([few]))


def test_ranking_kept_needs_outcomes_and_an_auc_above_chance() -> None:
    assert ranking_kept(world()) == 1.0
    assert ranking_kept(world(auc_after=0.55)) == pytest.approx(0.5)
    assert ranking_kept(world(auc_after=0.3)) == 0.0
    assert ranking_kept(world(n_after=3)) == 0.0  # unknown is not intact
    assert ranking_kept(world(auc_after=math.nan)) == 0.0


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

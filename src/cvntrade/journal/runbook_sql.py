# ruff: noqa: E501 - the statements are kept exactly as the runbook prints them
"""The runbook's SQL, verbatim from `expectancy_negative_focal` (PostgreSQL dialect).

Kept byte-for-byte as the runbook prints them, so operators can paste them into `psql` and so the
tests can prove our schema answers them and our commands agree with them.
"""

from __future__ import annotations

STEP1_CONFIRM_SQL = """\
SELECT crypto_symbol, AVG(realized_pnl_pct) AS expectancy_48h, COUNT(*) AS n_trades
FROM trade_journal
WHERE entry_time >= (NOW() AT TIME ZONE 'UTC') - INTERVAL '48 hours'
AND model_loss_function = 'focal'
GROUP BY crypto_symbol
HAVING AVG(realized_pnl_pct) < 0;
"""
"""Runbook step 1 (confirm the alert is real): negative 48 h focal expectancy per symbol."""

STEP2_CHECK_CONFIG_SQL = """\
SELECT
base_env->>'CVN_LOSS_FUNCTION' AS loss_function,
base_env->>'CVN_FOCAL_GAMMA' AS focal_gamma,
base_env->>'CVN_FOCAL_ALPHA' AS focal_alpha,
version,
updated_at
FROM ftf_config
WHERE id = 1;
"""
"""Runbook step 2 (check the active config): the loss, gamma, alpha, version and time of ftf_config."""

DIAGNOSIS_FOLDS_SQL = """\
SELECT
crypto_symbol,
AVG(realized_pnl_pct) FILTER (WHERE entry_time >= (NOW() AT TIME ZONE 'UTC') - INTERVAL '7 days') AS exp_7d,
AVG(realized_pnl_pct) FILTER (WHERE entry_time >= (NOW() AT TIME ZONE 'UTC') - INTERVAL '48 hours') AS exp_48h,
AVG(realized_pnl_pct) FILTER (WHERE entry_time >= (NOW() AT TIME ZONE 'UTC') - INTERVAL '14 days' AND entry_time < (NOW() AT TIME ZONE 'UTC') - INTERVAL '48 hours') AS exp_14d_baseline
FROM trade_journal
WHERE model_loss_function = 'focal'
GROUP BY crypto_symbol;
"""
"""Runbook diagnosis (confirm via per-fold analysis): 7 d, 48 h and the 14 d baseline per symbol."""

RUNBOOK_SQL = {
    "step1": STEP1_CONFIRM_SQL,
    "step2": STEP2_CHECK_CONFIG_SQL,
    "folds": DIAGNOSIS_FOLDS_SQL,
}

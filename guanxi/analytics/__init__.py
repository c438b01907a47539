"""Guanxi analytics — customer insight as pure numpy/scipy/Polars functions (no Django, no other guanxi app).

The Django side loads a workspace's paid orders into a *transaction frame* (`frames`: ``customer_id``,
``timestamp``/``date``, ``amount`` [, ``refunded``, ``cost``]), calls these functions with an explicit ``as_of``,
and stores what they return. Nothing here touches a database, a file (except `readers`/`fit_file`) or the clock.

Modules and their public API (units are in each docstring: RFM recency in days, model times in the summary's
time unit — weeks by default —, money in the shop's currency units):

* `frames` — input contract: `prepare_transactions`, `to_date`, time units.
* `summary` — `customer_summary` (frequency, recency, T, monetary value, first purchase value; same-day
  purchases merged) and `calibration_holdout_summary`.
* `rfm` — `rfm_table`, `rfm_thresholds`, `rfm_scores` (1–5, 11 segments), `value_classes` (8-class Chinese
  value model), labels `RFM_SEGMENTS`, `VALUE_CLASSES`, `label`.
* `value` — `customer_profit`, `value_ranking` (ABC tiers), `pareto_curve`, `top_share`.
* `lifecycle` — `LifecycleRules`, `lifecycle_stages`, `lifecycle_transitions`, `transition_counts`,
  `transition_matrix`.
* `bgnbd`, `pareto_nbd`, `gamma_gamma` — `fit_bgnbd`, `fit_pareto_nbd` (optionally with covariates),
  `fit_gamma_gamma`: maximum likelihood with analytic gradients, a `fitting.FitReport` (log-likelihood,
  convergence, standard errors), and per-customer predictions on the returned models (P(alive), expected
  purchases, P(purchase), expected order value). They refuse below `MIN_REPEAT_CUSTOMERS` repeat customers
  with `InsufficientDataError`, and
  raise `ConvergenceError` when a fit does not converge.
* `hypergeometric` — the overflow-free Pareto/NBD integral `log_tail_integral`.
* `buy_again` — `fit_buy_again`: the "will buy again" score and why it is built as it is.
* `clv` — `lifetime_value` (monthly-discounted CLV), `ChurnBands`, `churn_risk_band`.
* `at_risk` — `at_risk_customers`: valuable customers drifting away, with the reason to show staff.
* `metrics` — `roc_auc` (rank-based, ties as ½).
* `kpis` — `period_kpis`, `monthly_kpis`, `retention_cohorts`, `product_table`.
* `insight` — `customer_insight`: one call for a whole refresh (`InsightSettings` → `InsightResult`).
* `readers`, `fit_file` — transaction files (``cdnow``, ``cdnow-sample``; `register_reader` for more) and
  `fit_file`, the logic of ``guanxi analytics fit``.
"""

from guanxi.analytics.at_risk import at_risk_customers
from guanxi.analytics.bgnbd import BGNBDModel, fit_bgnbd
from guanxi.analytics.buy_again import BuyAgainModel, fit_buy_again
from guanxi.analytics.clv import ChurnBands, churn_risk_band, lifetime_value
from guanxi.analytics.errors import (
    AnalyticsError,
    ConvergenceError,
    FileFormatError,
    InsufficientDataError,
    SchemaError,
)
from guanxi.analytics.fitting import MIN_REPEAT_CUSTOMERS, FitReport
from guanxi.analytics.frames import prepare_transactions, to_date
from guanxi.analytics.gamma_gamma import GammaGammaModel, fit_gamma_gamma
from guanxi.analytics.insight import InsightResult, InsightSettings, customer_insight
from guanxi.analytics.kpis import monthly_kpis, period_kpis, product_table, retention_cohorts
from guanxi.analytics.lifecycle import (
    MOVEMENTS,
    STAGES,
    LifecycleRules,
    lifecycle_stages,
    lifecycle_transitions,
    transition_counts,
    transition_matrix,
)
from guanxi.analytics.metrics import roc_auc
from guanxi.analytics.pareto_nbd import ParetoNBDModel, fit_pareto_nbd
from guanxi.analytics.readers import READERS, read_transactions, register_reader
from guanxi.analytics.rfm import (
    RFM_SEGMENTS,
    VALUE_CLASSES,
    RFMThresholds,
    ValueReference,
    label,
    rfm_scores,
    rfm_table,
    rfm_thresholds,
    value_classes,
    value_reference,
)
from guanxi.analytics.summary import calibration_holdout_summary, customer_summary
from guanxi.analytics.value import customer_profit, pareto_curve, top_share, value_ranking

__all__ = [
    "AnalyticsError", "at_risk_customers", "BGNBDModel", "BuyAgainModel", "ChurnBands", "ConvergenceError", "FileFormatError", "FitReport",
    "GammaGammaModel", "InsightResult", "InsightSettings", "InsufficientDataError", "LifecycleRules",
    "MIN_REPEAT_CUSTOMERS", "MOVEMENTS", "ParetoNBDModel", "READERS", "RFMThresholds", "RFM_SEGMENTS", "STAGES",
    "SchemaError", "VALUE_CLASSES", "ValueReference", "calibration_holdout_summary", "churn_risk_band",
    "customer_insight", "customer_profit", "customer_summary", "fit_bgnbd", "fit_buy_again", "fit_gamma_gamma",
    "fit_pareto_nbd", "label", "lifecycle_stages", "lifecycle_transitions", "lifetime_value", "monthly_kpis",
    "pareto_curve", "period_kpis", "prepare_transactions", "product_table", "read_transactions",
    "register_reader", "retention_cohorts", "rfm_scores", "rfm_table", "rfm_thresholds", "roc_auc", "to_date",
    "top_share", "transition_counts", "transition_matrix", "value_classes", "value_ranking", "value_reference",
]  # fmt: skip

"""One call for a whole refresh: every per-customer score of issue 4 from a transaction frame and ``as_of``.

`customer_insight` is what the Django side calls: it loads the workspace's paid orders into a transaction
frame (see `guanxi.analytics.frames`), passes the workspace's settings, stores `InsightResult.customers` as
score rows and `InsightResult.summary()` (JSON-ready) on the run. Models that cannot be fitted (too few repeat
customers, see `guanxi.analytics.fitting.MIN_REPEAT_CUSTOMERS`) are reported in ``model_errors`` and their
columns are null: the RFM, value and lifecycle columns are always filled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Iterable

import numpy as np
import polars as pl

from guanxi.analytics.bgnbd import BGNBDModel, fit_bgnbd
from guanxi.analytics.buy_again import BuyAgainModel, fit_buy_again
from guanxi.analytics.clv import ChurnBands, churn_risk_band, discounted_value, month_horizons
from guanxi.analytics.errors import AnalyticsError, HomogeneousDropoutError
from guanxi.analytics.fitting import MIN_REPEAT_CUSTOMERS
from guanxi.analytics.frames import CUSTOMER, days_per_unit, prepare_transactions, to_date
from guanxi.analytics.gamma_gamma import GammaGammaModel, fit_gamma_gamma
from guanxi.analytics.lifecycle import LifecycleRules, lifecycle_stages
from guanxi.analytics.pareto_nbd import ParetoNBDModel, fit_pareto_nbd
from guanxi.analytics.rfm import RFMThresholds, ValueReference, rfm_scores, rfm_table, rfm_thresholds, value_classes, value_reference
from guanxi.analytics.summary import customer_summary
from guanxi.analytics.value import customer_profit, value_ranking


@dataclasses.dataclass(frozen=True)
class InsightSettings:
    """A workspace's analytics settings (all optional; defaults documented in each module).

    Horizons are in days. ``max_fit_customers``: the probability models are fitted on a fixed-seed random
    sample of at most this many customers (estimates from 100,000 customers are as precise as any shop needs)
    and predict for everyone.
    """

    rfm_frequency: str = "orders"
    rfm_thresholds: RFMThresholds | None = None
    value_reference: ValueReference | None = None
    lifecycle_rules: LifecycleRules = LifecycleRules()
    a_share: float = 0.8
    b_share: float = 0.95
    clv_months: int = 12
    monthly_discount_rate: float = 0.01
    margin: float = 1.0
    buy_again_days: int = 90
    churn_horizon_days: int = 365
    churn_bands: ChurnBands = ChurnBands()
    time_unit: str = "week"
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS
    max_fit_customers: int = 100_000
    seed: int = 20050101


@dataclasses.dataclass(frozen=True)
class InsightResult:
    """Scores per customer and the fitted models of one refresh."""

    as_of: dt.date
    customers: pl.DataFrame
    bgnbd: BGNBDModel | None
    pareto_nbd: ParetoNBDModel | None
    gamma_gamma: GammaGammaModel | None
    buy_again: BuyAgainModel | None
    predictions_model: str | None  # "buy_again", "bgnbd" (no Pareto/NBD could be fitted) or None (RFM only)
    model_errors: dict[str, str]
    rfm_thresholds: RFMThresholds | None
    value_reference: ValueReference | None
    seconds: dict[str, float]
    # Per model in `model_errors`: the failure's code and figures (`AnalyticsError.details`), for callers that
    # show the reason in their readers' language.
    model_error_details: dict[str, dict] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready: fitted parameters (with log-likelihood, convergence, standard errors), errors, the
        thresholds used, and customer counts per RFM segment, value class, value tier, lifecycle stage and
        churn risk."""

        def model(m) -> dict | None:
            if m is None:
                return None
            out = {"params": m.params}
            if m.report is not None:
                out.update(
                    log_likelihood=m.report.log_likelihood,
                    converged=m.report.converged,
                    standard_errors=m.report.standard_errors,
                    customers=m.report.customers,
                )
            return out

        def counts(column: str) -> dict[str, int]:
            frame = self.customers.filter(pl.col(column).is_not_null()).group_by(column).len()
            return {str(k): int(v) for k, v in frame.sort(column).iter_rows()}

        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers.height,
            "buyers": int(self.customers["frequency"].is_not_null().sum()),
            "models": {
                "bgnbd": model(self.bgnbd),
                "pareto_nbd": model(self.pareto_nbd),
                "gamma_gamma": model(self.gamma_gamma),
                "buy_again": None
                if self.buy_again is None
                else {"variant": self.buy_again.variant, **(model(self.buy_again.purchase_model) or {})},
            },
            "predictions_model": self.predictions_model,
            "model_errors": dict(self.model_errors),
            "model_error_details": dict(self.model_error_details),
            "rfm_thresholds": self.rfm_thresholds.as_dict() if self.rfm_thresholds else None,
            "value_reference": self.value_reference.as_dict() if self.value_reference else None,
            "counts": {
                "rfm_segment": counts("rfm_segment"),
                "value_class": counts("value_class"),
                "value_tier": counts("value_tier"),
                "lifecycle_stage": counts("lifecycle_stage"),
                "churn_risk": counts("churn_risk"),
            },
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }


def customer_insight(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str,
    customers: Iterable | pl.Series | None = None,
    settings: InsightSettings = InsightSettings(),
) -> InsightResult:
    """RFM, value, lifecycle, purchase/spend models and predictions for every customer as of ``as_of``.

    Args:
        transactions: paid orders (see `guanxi.analytics.frames`); orders after ``as_of`` are ignored.
        as_of: the refresh date (last included day).
        customers: all known customer ids (those without paid orders get only ``lifecycle_stage = potential``).
        settings: the workspace's `InsightSettings`.

    Returns an `InsightResult` whose ``customers`` frame has, per customer: ``recency_days, frequency, monetary,
    orders, first_purchase, last_purchase, mean_interval_days`` (days between purchase days, null for one
    purchase), ``r_score, f_score, m_score, rfm_segment, value_class, gross_profit, value_rank, value_tier,
    lifecycle_stage, p_alive, expected_purchases_30d, expected_purchases_90d, expected_purchases_365d,
    buy_again`` (probability of a purchase within ``buy_again_days``), ``expected_order_value, clv`` (over
    ``clv_months``, money), ``churn_probability`` and ``churn_risk`` (low/medium/high).
    """
    end = to_date(as_of)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now

    frame = prepare_transactions(transactions, as_of=end)
    rfm = rfm_table(frame, as_of=end, frequency=settings.rfm_frequency)  # type: ignore[arg-type]
    thresholds = settings.rfm_thresholds or (rfm_thresholds(rfm) if rfm.height else None)
    reference = settings.value_reference or (value_reference(rfm) if rfm.height else None)
    # The workspace's own cut points score by value; without them by rank (reported cut points: where it changes).
    scored = value_classes(rfm_scores(rfm, settings.rfm_thresholds), reference)
    lap("rfm")
    ranking = value_ranking(customer_profit(frame), a_share=settings.a_share, b_share=settings.b_share)
    lap("value")
    stages = lifecycle_stages(rfm, as_of=end, rules=settings.lifecycle_rules, customers=customers)
    lap("lifecycle")

    summary = customer_summary(frame, as_of=end, time_unit=settings.time_unit)
    fit_rows = summary
    if summary.height > settings.max_fit_customers:
        fit_rows = summary.sample(n=settings.max_fit_customers, seed=settings.seed)
    errors: dict[str, str] = {}
    details: dict[str, dict] = {}
    last_error: dict[str, AnalyticsError] = {}

    def attempt(name: str, fit):
        try:
            result = fit()
        except AnalyticsError as exc:
            errors[name] = str(exc)
            last_error[name] = exc
            details[name] = exc.details()
            result = None
        lap(name)
        return result

    options = {"time_unit": settings.time_unit, "min_repeat_customers": settings.min_repeat_customers}
    bgnbd = attempt("bgnbd", lambda: fit_bgnbd(fit_rows, **options))
    pareto = attempt("pareto_nbd", lambda: fit_pareto_nbd(fit_rows, **options))
    pareto_error = last_error.get("pareto_nbd")
    spend = attempt("gamma_gamma", lambda: fit_gamma_gamma(fit_rows, min_repeat_customers=settings.min_repeat_customers))
    if isinstance(pareto_error, HomogeneousDropoutError):
        errors["buy_again"] = str(pareto_error)  # its Pareto/NBD would climb the same ridge
        details["buy_again"] = pareto_error.details()
        buy_again = None
    else:
        buy_again = attempt(
            "buy_again", lambda: fit_buy_again(fit_rows, **options, initial=pareto.params if pareto else None)
        )
    # Predictions come from the buy-again model; when no Pareto/NBD can be fitted, from the BG/NBD (its P(alive)
    # is 1 for one-time buyers, but its expected purchases, which the scores below use, still rank them).
    purchases = buy_again or bgnbd

    unit = days_per_unit(settings.time_unit)
    predictions: dict[str, np.ndarray] = {CUSTOMER: summary[CUSTOMER].to_numpy()}
    n = summary.height
    if purchases is not None:
        # Every horizon in one pass: 30/90/365 days, the buy-again and churn horizons, and month ends for CLV.
        fixed = [30.0, 90.0, 365.0, float(settings.buy_again_days), float(settings.churn_horizon_days)]
        months = month_horizons(settings.time_unit, settings.clv_months)
        p_alive, expected = purchases.predict(summary, [d / unit for d in fixed] + months)
        churn = np.exp(-expected[:, 4])  # P(no purchase within the churn horizon)
        predictions.update(
            p_alive=p_alive,
            expected_purchases_30d=expected[:, 0],
            expected_purchases_90d=expected[:, 1],
            expected_purchases_365d=expected[:, 2],
            buy_again=-np.expm1(-expected[:, 3]),
            churn_probability=churn,
            churn_risk=churn_risk_band(churn, settings.churn_bands),
        )
    if spend is not None and spend.q > 1.0:
        order_value = spend.expected_order_value(summary)
        predictions["expected_order_value"] = order_value
        if purchases is not None:
            predictions["clv"] = discounted_value(
                expected[:, len(fixed) :],
                order_value,
                monthly_discount_rate=settings.monthly_discount_rate,
                margin=settings.margin,
            )
    float_columns = [
        "p_alive", "expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d", "buy_again",
        "expected_order_value", "clv", "churn_probability",
    ]  # fmt: skip
    for name in float_columns:
        predictions.setdefault(name, np.full(n, np.nan))
    predictions.setdefault("churn_risk", np.full(n, None, dtype=object))
    model_frame = pl.DataFrame(predictions).with_columns(
        pl.col(float_columns).fill_nan(None), pl.col("churn_risk").cast(pl.String)
    )
    lap("predictions")

    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    result = (
        stages.select(CUSTOMER, "lifecycle_stage")
        .join(
            scored.select(
                CUSTOMER, "recency_days", "frequency", "monetary", "orders", "first_purchase", "last_purchase",
                pl.when(pl.col("purchase_days") > 1).then(span / (pl.col("purchase_days") - 1)).alias("mean_interval_days"),
                "r_score", "f_score", "m_score", "rfm_segment", "value_class",
            ),  # fmt: skip
            on=CUSTOMER,
            how="left",
        )
        .join(ranking.select(CUSTOMER, "gross_profit", "value_rank", "value_tier"), on=CUSTOMER, how="left")
        .join(model_frame, on=CUSTOMER, how="left")
        .sort(CUSTOMER)
    )
    lap("assemble")
    return InsightResult(
        as_of=end,
        customers=result,
        bgnbd=bgnbd,
        pareto_nbd=pareto,
        gamma_gamma=spend,
        buy_again=buy_again,
        predictions_model="buy_again" if buy_again else "bgnbd" if bgnbd else None,
        model_errors=errors,
        model_error_details=details,
        rfm_thresholds=thresholds,
        value_reference=reference,
        seconds=seconds,
    )

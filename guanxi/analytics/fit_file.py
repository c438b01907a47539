"""``guanxi analytics fit``: fit the purchase and spend models on a transaction file, touching no workspace.

`fit_file` reads the file with a reader from `guanxi.analytics.readers` (formats ``cdnow`` and
``cdnow-sample``; taobao/shopify/generic plug in through `register_reader`), builds the calibration summary in
weeks (same-day purchases merged, T from the first purchase to ``calibration_end``), fits BG/NBD, Pareto/NBD,
Gamma-Gamma and the buy-again model, and — when the data extends past ``calibration_end`` — scores the holdout
up to ``observation_end`` (default: the last day in the file). It returns::

    {"customers": n, "time_unit": "week",
     "bgnbd": {"r", "alpha", "a", "b", "log_likelihood"},
     "pareto_nbd": {"r", "alpha", "s", "beta", "log_likelihood"},
     "gamma_gamma": {"p", "q", "gamma", "log_likelihood", "customers"},
     "holdout": {"actual_repeat_purchases", "predicted": {"bgnbd", "pareto_nbd"},
                 "auc_buy_again": {"bgnbd", "pareto_nbd", "guanxi"}},
     "seconds": {"read", "summary", "bgnbd", "pareto_nbd", "gamma_gamma", "buy_again", "holdout", "total"}}

* ``customers``: customers with a purchase on or before ``calibration_end``.
* ``holdout.actual_repeat_purchases``: their purchase days in the holdout; ``predicted``: the models'
  expected purchase days over the holdout length, summed.
* ``holdout.auc_buy_again``: ROC AUC of "bought at least once in the holdout" for the scores the literature
  reports — BG/NBD expected purchases, Pareto/NBD P(alive) — and Guanxi's buy-again score
  (`guanxi.analytics.buy_again`).
* A model that cannot be fitted (too few repeat customers) is ``null``, and an ``errors`` object says why.
  ``holdout`` is present only when there is a holdout.

With ``scores_out``, a CSV with one row per customer is written: ``customer_id, p_alive,
expected_purchases_holdout, buy_again_score, clv_12m, rfm_segment, value_class``. P(alive), expected purchases
and the buy-again score come from the buy-again model (Pareto/NBD with the first-order-value covariate); the
buy-again horizon is the holdout (90 days without one, when ``expected_purchases_holdout`` is empty); CLV is
12 months at 1% a month with Gamma-Gamma order values; RFM segment and value class are as of
``calibration_end``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import polars as pl

from guanxi.analytics.bgnbd import fit_bgnbd
from guanxi.analytics.buy_again import fit_buy_again
from guanxi.analytics.clv import lifetime_value
from guanxi.analytics.errors import AnalyticsError
from guanxi.analytics.frames import CUSTOMER, DATE, prepare_transactions, to_date
from guanxi.analytics.gamma_gamma import fit_gamma_gamma
from guanxi.analytics.metrics import roc_auc
from guanxi.analytics.pareto_nbd import fit_pareto_nbd
from guanxi.analytics.readers import read_transactions
from guanxi.analytics.rfm import rfm_scores, rfm_table, value_classes
from guanxi.analytics.summary import FREQUENCY_HOLDOUT, calibration_holdout_summary, customer_summary

TIME_UNIT = "week"
DAYS_PER_WEEK = 7.0


def fit_file(
    path: str | Path,
    fmt: str,
    calibration_end: dt.date | str,
    observation_end: dt.date | str | None = None,
    scores_out: str | Path | None = None,
) -> dict:
    """Fit on ``path`` (format ``fmt``) calibrated to ``calibration_end``; see the module docstring for the result.

    Raises `guanxi.analytics.errors.FileFormatError` for an unreadable file or unknown format, and ValueError
    when no purchase falls on or before ``calibration_end`` or ``observation_end`` is not after it.
    """
    started = clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 4)
        clock = now

    cal_end = to_date(calibration_end)
    transactions = prepare_transactions(read_transactions(path, fmt))
    lap("read")
    if transactions.height == 0 or transactions[DATE].min() > cal_end:
        raise ValueError(f"no purchase on or before the calibration end {cal_end}")
    last_day = transactions[DATE].max()
    obs_end = to_date(observation_end) if observation_end is not None else last_day
    if observation_end is not None and obs_end <= cal_end:
        raise ValueError(f"observation end {obs_end} must be after the calibration end {cal_end}")
    has_holdout = obs_end > cal_end
    if has_holdout:
        summary = calibration_holdout_summary(
            transactions, calibration_end=cal_end, observation_end=obs_end, time_unit=TIME_UNIT
        )
    else:
        summary = customer_summary(transactions, as_of=cal_end, time_unit=TIME_UNIT)
    lap("summary")

    errors: dict[str, str] = {}

    def attempt(name: str, fit):
        try:
            return fit()
        except AnalyticsError as exc:
            errors[name] = str(exc)
            return None
        finally:
            lap(name)

    bgnbd = attempt("bgnbd", lambda: fit_bgnbd(summary, time_unit=TIME_UNIT))
    pareto = attempt("pareto_nbd", lambda: fit_pareto_nbd(summary, time_unit=TIME_UNIT))
    spend = attempt("gamma_gamma", lambda: fit_gamma_gamma(summary))
    buy_again = attempt(
        "buy_again", lambda: fit_buy_again(summary, time_unit=TIME_UNIT, initial=pareto.params if pareto else None)
    )

    result: dict = {
        "customers": summary.height,
        "time_unit": TIME_UNIT,
        "bgnbd": None if bgnbd is None else {**bgnbd.params, "log_likelihood": bgnbd.report.log_likelihood},
        "pareto_nbd": None
        if pareto is None
        else {**pareto.params, "log_likelihood": pareto.report.log_likelihood},
        "gamma_gamma": None
        if spend is None
        else {**spend.params, "log_likelihood": spend.report.log_likelihood, "customers": spend.report.customers},
    }
    horizon = (obs_end - cal_end).days / DAYS_PER_WEEK if has_holdout else 90 / DAYS_PER_WEEK
    if has_holdout:
        bought = summary[FREQUENCY_HOLDOUT].to_numpy() > 0

        def auc(scores) -> float | None:
            if scores is None or bought.all() or not bought.any() or not np.all(np.isfinite(scores)):
                return None
            return roc_auc(scores, bought)

        bg_expected = bgnbd.expected_purchases(summary, horizon) if bgnbd else None
        pn_expected = pareto.expected_purchases(summary, horizon) if pareto else None
        result["holdout"] = {
            "actual_repeat_purchases": int(summary[FREQUENCY_HOLDOUT].sum()),
            "predicted": {
                "bgnbd": None if bg_expected is None else float(bg_expected.sum()),
                "pareto_nbd": None if pn_expected is None else float(pn_expected.sum()),
            },
            "auc_buy_again": {
                "bgnbd": auc(bg_expected),
                "pareto_nbd": auc(pareto.p_alive(summary) if pareto else None),
                "guanxi": auc(buy_again.score(summary, horizon) if buy_again else None),
            },
        }
        lap("holdout")
    if scores_out is not None:
        _write_scores(Path(scores_out), transactions, summary, cal_end, buy_again, spend, horizon, has_holdout)
        lap("scores")
    seconds["total"] = round(time.perf_counter() - started, 4)
    result["seconds"] = seconds
    if errors:
        result["errors"] = errors
    return result


def _write_scores(path, transactions, summary, cal_end, buy_again, spend, horizon, has_holdout) -> None:
    n = summary.height
    nan = np.full(n, np.nan)
    p_alive = buy_again.p_alive(summary) if buy_again else nan
    expected = buy_again.expected_purchases(summary, horizon) if (buy_again and has_holdout) else nan
    score = buy_again.score(summary, horizon) if buy_again else nan
    if buy_again and spend and spend.q > 1:
        clv = lifetime_value(buy_again, spend.expected_order_value(summary), summary, months=12, monthly_discount_rate=0.01)
    else:
        clv = nan
    rfm = value_classes(rfm_scores(rfm_table(transactions, as_of=cal_end)))
    scores = pl.DataFrame(
        {
            CUSTOMER: summary[CUSTOMER],
            "p_alive": p_alive,
            "expected_purchases_holdout": expected,
            "buy_again_score": score,
            "clv_12m": clv,
        }
    ).with_columns(pl.exclude(CUSTOMER).fill_nan(None))
    scores = scores.join(rfm.select(CUSTOMER, "rfm_segment", "value_class"), on=CUSTOMER, how="left")
    path.parent.mkdir(parents=True, exist_ok=True)
    scores.write_csv(path, float_precision=6)

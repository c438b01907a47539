"""The analytics refresh: load a workspace's paid orders, score every customer with `guanxi.analytics`, store it.

The maths lives in `guanxi.analytics` (pure, no Django); this module only moves data between the database and
its columnar frames. A refresh writes all of its results in one transaction, so a failure (say, a database error
half-way) leaves the previous scores in place and marks the run failed with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from django.db import DatabaseError
from django.utils import timezone

from guanxi.analytics import InsightSettings, customer_insight
from guanxi.demo.bulk import BulkWriter
from guanxi.insight.models import AnalyticsAsOf, AnalyticsRun, CustomerScore
from guanxi.insight.reports import dashboard_figures
from guanxi.insight.snapshots import COLUMNS as SNAPSHOT_COLUMNS
from guanxi.insight.snapshots import previous_refresh, snapshot_write
from guanxi.insight.tables import (
    customer_ids,
    paid_orders,
    product_titles,
    scores_replace,
    second_connection_usable,
    submit_on_own_connection,
)
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

log = logging.getLogger(__name__)


def _as_of_date(as_of: dt.date | dt.datetime | None) -> dt.date:
    """The refresh's last included day, in the workspace time zone (default: today there)."""
    if as_of is None:
        as_of = timezone.now()
    if isinstance(as_of, dt.datetime):
        return as_of.astimezone(current_time_zone()).date()
    return as_of


def json_safe(value):
    """`value` with every NaN or infinite float replaced by None: JSON has no NaN (SQLite's JSON check refuses
    the run), and a model fitted on a small shop can report a NaN log-likelihood or standard error."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def analytics_as_of_set(*, workspace, as_of: dt.date | None) -> None:
    """Score `workspace` as of `as_of` whenever a refresh names no day (a historical data set), or as of today
    again with None."""
    if as_of is None:
        AnalyticsAsOf.all_workspaces.filter(workspace=workspace).delete()
        return
    AnalyticsAsOf.all_workspaces.update_or_create(workspace=workspace, defaults={"as_of": as_of})


def beside_each_other(write: Callable[[Callable[[], dict]], None], compute: Callable[[], dict]) -> None:
    """`write(result_of)` and `compute()`, where `write` calls `result_of()` for `compute`'s result.

    Where a second connection is usable (`second_connection_usable`), `write` runs in a thread on its own
    connection while this one computes: the database inserts a million scores while Polars works out the
    dashboard, on the other core. Elsewhere `write` runs here, calling `compute` when it asks.
    """
    if not second_connection_usable():
        write(compute)
        return
    computed: Future = Future()
    with ThreadPoolExecutor(max_workers=1) as pool:
        writing = submit_on_own_connection(pool, write, computed.result)
        try:
            computed.set_result(compute())
        except BaseException as error:
            computed.set_exception(error)  # the writer rolls back
            writing.exception()
            raise
        writing.result()



def _vacuum_scores() -> bool:
    """Vacuum the score table just replaced (see `BulkWriter.vacuum`); a failure only costs the next refresh
    time, so it is logged, not raised: the scores are committed."""
    try:
        return BulkWriter().vacuum([CustomerScore])
    except DatabaseError:
        log.warning("vacuum of the score table failed", exc_info=True)
        return False


def insight_refresh(*, as_of: dt.date | dt.datetime | None = None, settings: InsightSettings | None = None,
                    segments: bool = True) -> AnalyticsRun:
    """Score every customer of the active workspace as of `as_of` (a day in the workspace time zone; default:
    the workspace's fixed day if it has one, see `analytics_as_of_set`, else today).

    Returns the run (status succeeded, with the JSON summary: fitted parameters, counts per segment/stage, and
    the seconds spent loading, scoring, computing the dashboard and writing: `refresh_seconds`; on PostgreSQL
    the dashboard and the write run side by side, so the two overlap).
    On failure the run is marked failed with the reason, previous scores stay, and the error is re-raised.
    Afterwards saved segments are refreshed (unless ``segments`` is False), since many of their rules read
    these scores.
    """
    workspace = current_workspace()
    if as_of is None:
        from guanxi.insight.selectors import analytics_as_of

        as_of = analytics_as_of()
    day = _as_of_date(as_of)
    end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=current_time_zone())
    run = AnalyticsRun.objects.create(workspace=workspace, as_of=end_of_day)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        orders, customers = paid_orders(), customer_ids()
        loaded = time.perf_counter()
        result = customer_insight(orders.transactions, as_of=day, customers=customers,
                                  settings=settings or InsightSettings())
        seconds |= {"load": loaded - started, "score": time.perf_counter() - loaded}
        earlier, stages = previous_refresh(day)
        titles = product_titles()

        def dashboard() -> dict:
            begun = time.perf_counter()
            figures = dashboard_figures(transactions=orders.transactions, products=orders.products,
                                        scores=result.customers, previous_stages=stages, previous_day=earlier,
                                        end=day, titles=titles)
            seconds["dashboard"] = time.perf_counter() - begun
            return figures

        def write(dashboard_figures_of) -> None:
            """Scores, snapshot and the finished run in one transaction; the dashboard's figures are awaited
            only at the end."""
            begun = time.perf_counter()
            # Without the per-row foreign-key checks at COMMIT where the role may (30 s for two million rows):
            # every score points at this run, this workspace and a customer read above, and customers are never
            # deleted (a merge keeps both rows).
            with BulkWriter().transaction(trusted_references=True):
                scores = scores_replace(result.customers, run=run)
                snapshot_write(scores.select(SNAPSHOT_COLUMNS), run=run, day=day, previous=stages)
                waited = time.perf_counter()
                run.dashboard = json_safe(dashboard_figures_of())
                begun += time.perf_counter() - waited
                run.status = AnalyticsRun.Status.SUCCEEDED
                # The money figures' currency, and the currencies left out for want of a rate.
                run.summary = json_safe(result.summary()) | {"currency": workspace.currency,
                                                           "missing_rates": list(orders.missing_rates)}
                run.finished_at = timezone.now()
                run.save(update_fields=["status", "summary", "dashboard", "finished_at", "updated_at"])
            seconds["write"] = time.perf_counter() - begun

        beside_each_other(write, dashboard)
    except Exception as error:
        log.exception("analytics refresh of %s failed", workspace.slug)
        AnalyticsRun.objects.filter(pk=run.pk).update(
            status=AnalyticsRun.Status.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise
    written = time.perf_counter()
    if _vacuum_scores():
        seconds["vacuum"] = time.perf_counter() - written
    seconds["total"] = time.perf_counter() - started
    run.summary["refresh_seconds"] = {name: round(s, 2) for name, s in seconds.items()}
    AnalyticsRun.objects.filter(pk=run.pk).update(summary=run.summary)
    if segments:
        from guanxi.segments.services import segments_refresh_all

        segments_refresh_all(as_of=end_of_day)
    return run

"""The analytics refresh: load a workspace's paid orders, score every customer with `guanxi.analytics`, store it.

The maths lives in `guanxi.analytics` (pure, no Django); this module only moves data between the database and
its columnar frames. A refresh writes all of its results in one transaction, so a failure (say, a database error
half-way) leaves the previous scores in place and marks the run failed with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import DatabaseError
from django.utils import timezone

from guanxi.analytics import InsightSettings, customer_insight
from guanxi.demo.bulk import BulkWriter
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.insight.reports import dashboard_figures
from guanxi.insight.snapshots import COLUMNS as SNAPSHOT_COLUMNS
from guanxi.insight.snapshots import previous_refresh, snapshot_write
from guanxi.insight.tables import customer_ids, paid_orders, product_titles, scores_replace
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

log = logging.getLogger(__name__)


def _as_of_date(as_of: dt.date | dt.datetime | None) -> dt.date:
    """The refresh's last included day, in the workspace time zone (default: today there)."""
    if as_of is None:
        as_of = timezone.now()
    if isinstance(as_of, dt.datetime):
        return as_of.astimezone(current_time_zone()).date()
    return as_of


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
    """Score every customer of the active workspace as of `as_of` (a day in the workspace time zone).

    Returns the run (status succeeded, with the JSON summary: fitted parameters, counts per segment/stage, and
    the seconds spent loading, scoring, computing the dashboard and writing: `refresh_seconds`).
    On failure the run is marked failed with the reason, previous scores stay, and the error is re-raised.
    Afterwards saved segments are refreshed (unless ``segments`` is False), since many of their rules read
    these scores.
    """
    workspace = current_workspace()
    day = _as_of_date(as_of)
    end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=current_time_zone())
    run = AnalyticsRun.objects.create(workspace=workspace, as_of=end_of_day)
    try:
        started = time.perf_counter()
        orders, customers = paid_orders(), customer_ids()
        loaded = time.perf_counter()
        result = customer_insight(orders.transactions, as_of=day, customers=customers,
                                  settings=settings or InsightSettings())
        scored = time.perf_counter()
        earlier, stages = previous_refresh(day)
        dashboard = dashboard_figures(transactions=orders.transactions, products=orders.products,
                                      scores=result.customers,
                                      previous_stages=stages, previous_day=earlier, end=day,
                                      titles=product_titles())
        reported = time.perf_counter()
        del orders  # ten million rows at scale: let them go before the write-back
        # One transaction, without the per-row foreign-key checks at COMMIT where the role may (30 s for two
        # million rows): every score points at this run, this workspace and a customer read above, and
        # customers are never deleted (a merge keeps both rows).
        with BulkWriter().transaction(trusted_references=True):
            scores = scores_replace(result.customers, run=run)
            snapshot_write(scores.select(SNAPSHOT_COLUMNS), run=run, day=day, previous=stages)
            run.status = AnalyticsRun.Status.SUCCEEDED
            run.summary = result.summary()
            run.dashboard = dashboard
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "summary", "dashboard", "finished_at", "updated_at"])
    except Exception as error:
        log.exception("analytics refresh of %s failed", workspace.slug)
        AnalyticsRun.objects.filter(pk=run.pk).update(
            status=AnalyticsRun.Status.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise
    written = time.perf_counter()
    seconds = {"load": loaded - started, "score": scored - loaded, "dashboard": reported - scored,
               "write": written - reported}
    if _vacuum_scores():
        seconds["vacuum"] = time.perf_counter() - written
    run.summary["refresh_seconds"] = {name: round(s, 2) for name, s in seconds.items()}
    AnalyticsRun.objects.filter(pk=run.pk).update(summary=run.summary)
    if segments:
        from guanxi.segments.services import segments_refresh_all

        segments_refresh_all(as_of=end_of_day)
    return run

"""Dated lifecycle snapshots, stored as changes.

A customer's lifecycle stage, RFM segment and value class as of a refresh day D is their latest `ScoreSnapshot`
row dated on or before D. A refresh writes rows only for the customers whose three labels differ from that state
(a customer's first refresh writes one for everybody), so the table grows by each day's changes — a few thousand
rows at a million customers — instead of by every customer every day (365 million rows a year). The CLV on a row
is the one at that change. Transitions between two refresh days (upgraded, lost, …) compare their states.

Refreshes normally move forward in time. Refreshing a day again rewrites that day's rows; when a later refresh day
exists, its rows are rewritten too, so the later day keeps the state it recorded.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from guanxi.demo.bulk import BulkWriter
from guanxi.insight.models import AnalyticsRun, ScoreSnapshot
from guanxi.insight.tables import select_frame, table_name
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

LABELS = ["lifecycle_stage", "rfm_segment", "value_class"]
COLUMNS = ["customer_id", *LABELS, "clv"]
_SCHEMA = {"customer_id": pl.Int64, "as_of": pl.Date, "lifecycle_stage": pl.Utf8, "rfm_segment": pl.Utf8,
           "value_class": pl.Utf8, "clv": pl.Float64}


def snapshot_state(day: dt.date, *, including_day: bool = True) -> pl.DataFrame:
    """Each customer's ``customer_id, lifecycle_stage, rfm_segment, value_class, clv`` as of `day` (from rows dated
    on or before it, or strictly before with ``including_day=False``); customers never snapshotted are absent."""
    frame = select_frame(
        f"SELECT customer_id, as_of, {', '.join(LABELS)}, clv FROM {table_name(ScoreSnapshot)} "
        f"WHERE workspace_id = %s AND as_of {'<=' if including_day else '<'} %s",
        [current_workspace().pk, day.isoformat()], _SCHEMA,
    )
    return frame.sort("customer_id", "as_of").unique("customer_id", keep="last", maintain_order=True).select(COLUMNS)


def _run_day(run: AnalyticsRun) -> dt.date:
    return run.as_of.astimezone(current_time_zone()).date()


def _succeeded_runs():
    return AnalyticsRun.objects.filter(status=AnalyticsRun.Status.SUCCEEDED)


def previous_refresh(day: dt.date) -> tuple[dt.date | None, pl.DataFrame | None]:
    """The latest successful refresh day before `day` and each customer's state then (`snapshot_state`)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=current_time_zone())
    run = _succeeded_runs().filter(as_of__lt=start).order_by("-as_of").first()
    if run is None:
        return None, None
    earlier = _run_day(run)
    return earlier, snapshot_state(earlier)


def _changes(state: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """The rows of `state` whose labels differ from `base`'s for the same customer, or who are not in `base`."""
    theirs = base.select("customer_id", *(pl.col(label).alias(f"{label}_base") for label in LABELS))
    differs = pl.any_horizontal(pl.col(label).ne_missing(pl.col(f"{label}_base")) for label in LABELS)
    return state.join(theirs, on="customer_id", how="left").filter(differs).select(COLUMNS)


def _overlay(base: pl.DataFrame, newer: pl.DataFrame) -> pl.DataFrame:
    """`base` with each of `newer`'s customers replaced by their `newer` row."""
    return pl.concat([base.join(newer, on="customer_id", how="anti"), newer.select(COLUMNS)])


def snapshot_write(current: pl.DataFrame, *, run: AnalyticsRun, day: dt.date,
                   previous: pl.DataFrame | None = None) -> int:
    """Record `current` (`COLUMNS`, one row per scored customer) as the state on `day`; returns the rows written.

    `previous` is the state before `day` when the caller has read it already (`previous_refresh(day)`: a
    million rows at scale). The caller holds the transaction. A customer absent from `current` (merged away
    since) keeps their state.
    """
    end = dt.datetime.combine(day, dt.time.max, tzinfo=current_time_zone())
    later_run = _succeeded_runs().filter(as_of__gt=end).exclude(pk=run.pk).order_by("as_of").first()
    later = _run_day(later_run) if later_run else None
    base = previous if previous is not None else snapshot_state(day, including_day=False)
    later_state = snapshot_state(later) if later else None  # read before `day`'s rows change under it

    ScoreSnapshot.objects.filter(as_of=day).delete()
    rows = _insert(_changes(current, base), run_id=run.pk, day=day)
    if later is not None:
        ScoreSnapshot.objects.filter(as_of=later).delete()
        rows += _insert(_changes(later_state, _overlay(base, current)), run_id=later_run.pk, day=later)
    return rows


def _insert(frame: pl.DataFrame, *, run_id: int, day: dt.date) -> int:
    frame = frame.with_columns(workspace_id=pl.lit(current_workspace().pk), run_id=pl.lit(run_id),
                               as_of=pl.lit(day.isoformat()))
    return BulkWriter().insert_frame(ScoreSnapshot, frame.columns, frame)

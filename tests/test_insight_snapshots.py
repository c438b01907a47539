"""Lifecycle snapshots stored as changes: each refresh day's state is read back exactly, and only changes are rows."""

import datetime as dt
import zoneinfo

import polars as pl
import pytest

from guanxi.customers.services import customer_create
from guanxi.insight.models import AnalyticsRun, CustomerScore, ScoreSnapshot
from guanxi.insight.services import insight_refresh
from guanxi.insight.snapshots import previous_refresh, snapshot_state, snapshot_write

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY1, DAY2, DAY3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture
def buyers(workspace):
    return [customer_create(name=name).pk for name in ("甲", "乙", "丙")]


def _state(buyers, stages, segments=None):
    return pl.DataFrame({
        "customer_id": buyers, "lifecycle_stage": list(stages), "rfm_segment": list(segments or ["new"] * len(buyers)),
        "value_class": ["一般发展"] * len(buyers), "clv": [10.0 * (i + 1) for i in range(len(buyers))],
    }, schema_overrides={"clv": pl.Float64})


def _refresh(workspace, state, day):
    """What a refresh does with its scores: write the day's snapshot, then succeed."""
    run = AnalyticsRun.objects.create(workspace=workspace, as_of=dt.datetime.combine(day, dt.time.max, SHANGHAI))
    rows = snapshot_write(state, run=run, day=day)
    AnalyticsRun.objects.filter(pk=run.pk).update(status=AnalyticsRun.Status.SUCCEEDED)
    return rows


def _labels(frame):
    return {row["customer_id"]: (row["lifecycle_stage"], row["rfm_segment"]) for row in frame.to_dicts()}


def test_each_day_reads_back_as_written_while_only_changes_are_stored(workspace, buyers):
    first = _state(buyers, ["developing", "potential", "developing"])
    second = _state(buyers, ["growing", "potential", "developing"])
    third = _state(buyers, ["growing", "potential", "terminating"], ["loyal", "new", "at_risk"])

    assert _refresh(workspace, first, DAY1) == 3  # the first refresh records everybody
    assert _refresh(workspace, second, DAY2) == 1  # then only 甲 moved
    assert _refresh(workspace, second, DAY2) == 1  # the same day again: rewritten, not doubled
    assert _refresh(workspace, third, DAY3) == 2

    assert ScoreSnapshot.objects.count() == 6
    for day, state in ((DAY1, first), (DAY2, second), (DAY3, third)):
        assert _labels(snapshot_state(day)) == _labels(state), day
    assert snapshot_state(DAY1, including_day=False).is_empty()
    assert previous_refresh(DAY1) == (None, None)
    earlier, stages = previous_refresh(DAY3)
    assert earlier == DAY2 and _labels(stages) == _labels(second)


def test_a_day_without_changes_is_still_the_previous_refresh(workspace, buyers):
    same = _state(buyers, ["developing", "potential", "developing"])
    _refresh(workspace, same, DAY1)
    assert _refresh(workspace, same, DAY2) == 0
    earlier, stages = previous_refresh(DAY3)
    assert earlier == DAY2 and _labels(stages) == _labels(same)


def test_refreshing_a_past_day_again_keeps_the_later_days_state(workspace, buyers):
    first = _state(buyers, ["developing", "potential", "developing"])
    second = _state(buyers, ["growing", "potential", "developing"])  # no change for 乙 and 丙
    third = _state(buyers, ["growing", "mature", "developing"])
    _refresh(workspace, first, DAY1)
    _refresh(workspace, second, DAY2)
    _refresh(workspace, third, DAY3)

    # DAY1 again with other figures: 甲 now growing already (so DAY2 is no change for them), 丙 mature.
    redone = _state(buyers, ["growing", "potential", "mature"])
    _refresh(workspace, redone, DAY1)

    assert _labels(snapshot_state(DAY1)) == _labels(redone)
    assert _labels(snapshot_state(DAY2)) == _labels(second)  # 丙 back to developing on DAY2, as recorded then
    assert _labels(snapshot_state(DAY3)) == _labels(third)


def test_a_customer_missing_from_a_refresh_keeps_their_state(workspace, buyers):
    _refresh(workspace, _state(buyers, ["developing", "growing", "mature"]), DAY1)
    _refresh(workspace, _state(buyers[:2], ["growing", "growing"]), DAY2)  # 丙 merged away meanwhile
    assert _labels(snapshot_state(DAY2))[buyers[2]] == ("mature", "new")


@pytest.mark.parametrize("days_later", [1, 30])
def test_a_later_refresh_stores_exactly_the_customers_whose_labels_changed(cdnow_workspace, days_later):
    as_of = dt.date(1997, 9, 30)
    insight_refresh(as_of=as_of, segments=False)
    before = {s.customer_id: (s.lifecycle_stage, s.rfm_segment, s.value_class) for s in CustomerScore.objects.all()}
    later = as_of + dt.timedelta(days=days_later)
    run = insight_refresh(as_of=later, segments=False)
    after = {s.customer_id: (s.lifecycle_stage, s.rfm_segment, s.value_class) for s in CustomerScore.objects.all()}

    changed = {customer for customer, labels in after.items() if before.get(customer) != labels}
    assert set(ScoreSnapshot.objects.filter(as_of=later).values_list("customer_id", flat=True)) == changed
    state = {row["customer_id"]: (row["lifecycle_stage"], row["rfm_segment"], row["value_class"])
             for row in snapshot_state(later).to_dicts()}
    assert state == after
    flows = run.dashboard["flows"]
    assert run.dashboard["flows_since"] == as_of.isoformat() and flows is not None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_refresh_vacuums_the_scores_it_replaced(cdnow_subset):
    from django.db import connection

    from guanxi.demo.cdnow import load_cdnow
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.services import workspace_create

    workspace = workspace_create(slug="vac", name="Vacuumed", time_zone="America/New_York", currency="USD")
    load_cdnow(workspace=workspace, path=cdnow_subset)
    with tenancy.active(workspace):
        insight_refresh(as_of=dt.date(1997, 9, 30), segments=False)
        run = insight_refresh(as_of=dt.date(1997, 10, 31), segments=False)
    phases = run.summary["refresh_seconds"]
    assert {"load", "score", "dashboard", "write"} <= set(phases)
    if connection.vendor != "postgresql":
        assert "vacuum" not in phases
        return
    assert "vacuum" in phases
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT last_vacuum IS NOT NULL, n_dead_tup FROM pg_stat_user_tables WHERE relname = %s",
                       [CustomerScore._meta.db_table])
        assert cursor.fetchone() == (True, 0)


def test_the_state_before_a_day_is_the_previous_refreshs_state(workspace, buyers):
    _refresh(workspace, _state(buyers, ["developing", "potential", "developing"]), DAY1)
    _refresh(workspace, _state(buyers, ["growing", "potential", "developing"]), DAY2)
    _, given = previous_refresh(DAY3)  # what a refresh hands to snapshot_write instead of reading it again
    assert given.sort("customer_id").equals(snapshot_state(DAY3, including_day=False).sort("customer_id"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broken", ["dashboard_figures", "snapshot_write"])
def test_a_refresh_failing_in_the_dashboard_or_the_write_keeps_the_previous_scores(cdnow_subset, monkeypatch, broken):
    # Committed data (transaction=True): on PostgreSQL the write then runs on its own connection beside the
    # dashboard, and a failure on either side must roll the other back.
    from guanxi.demo.cdnow import load_cdnow
    from guanxi.insight import services
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.services import workspace_create

    workspace = workspace_create(slug="fail", name="Failing", time_zone="America/New_York", currency="USD")
    load_cdnow(workspace=workspace, path=cdnow_subset)
    with tenancy.active(workspace):
        insight_refresh(as_of=dt.date(1997, 9, 30), segments=False)
        before = sorted(CustomerScore.objects.values_list("customer_id", "as_of", "recency_days"))
        snapshots = ScoreSnapshot.objects.count()

        def fail(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(services, broken, fail)
        with pytest.raises(RuntimeError, match="disk full"):
            insight_refresh(as_of=dt.date(1997, 12, 31), segments=False)
        assert sorted(CustomerScore.objects.values_list("customer_id", "as_of", "recency_days")) == before
        assert ScoreSnapshot.objects.count() == snapshots
        failed = AnalyticsRun.objects.order_by("-id").first()
        assert failed.status == AnalyticsRun.Status.FAILED and "disk full" in failed.error

"""The nightly analytics job scores every workspace; the on-demand job scores one as of a given day."""

import datetime as dt

import pytest

from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.insight.tasks import nightly_insight_refresh, refresh_workspace_insight
from guanxi.workspaces import tenancy
from guanxi.workspaces.services import workspace_currency_set


@pytest.fixture
def cdnow_head(tmp_path):
    path = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        path.write_text("".join(next(source) for _ in range(1201)))
    return path


def test_the_nightly_job_scores_every_workspace(workspace, other_workspace, cdnow_head):
    workspace_currency_set(workspace=workspace, currency="USD")  # CDNOW sold in dollars
    load_cdnow(workspace=workspace, path=cdnow_head)
    nightly_insight_refresh.call_local()
    with tenancy.active(workspace):
        run = AnalyticsRun.objects.get()
        assert run.status == AnalyticsRun.Status.SUCCEEDED
        assert CustomerScore.objects.count() == run.summary["customers"] > 100
    with tenancy.active(other_workspace):
        assert AnalyticsRun.objects.get().status == AnalyticsRun.Status.SUCCEEDED
        assert CustomerScore.objects.count() == 0


def test_the_on_demand_job_scores_one_workspace_as_of_a_day(workspace, other_workspace, cdnow_head):
    workspace_currency_set(workspace=workspace, currency="USD")  # CDNOW sold in dollars
    load_cdnow(workspace=workspace, path=cdnow_head)
    run_id = refresh_workspace_insight.call_local(workspace.pk, "1997-12-31")
    with tenancy.active(workspace):
        run = AnalyticsRun.objects.get(pk=run_id)
        assert run.as_of.astimezone(tenancy.current_time_zone()).date() == dt.date(1997, 12, 31)
        assert CustomerScore.objects.filter(run=run).count() == run.summary["customers"]
    with tenancy.active(other_workspace):
        assert not AnalyticsRun.objects.exists()


def test_the_demo_is_scored(db, cdnow_head):
    from guanxi.demo import build_demo

    now = dt.datetime(2025, 6, 18, 6, 30, tzinfo=dt.timezone.utc)
    login = build_demo(customers=60, orders=300, now=now, cdnow_path=cdnow_head)
    with tenancy.active(login.workspace):
        run = AnalyticsRun.objects.get()
        assert run.status == AnalyticsRun.Status.SUCCEEDED
        assert CustomerScore.objects.count() == run.summary["customers"] >= 60
    with tenancy.active(login.cdnow_workspace):
        run = AnalyticsRun.objects.get()
        assert run.status == AnalyticsRun.Status.SUCCEEDED
        assert CustomerScore.objects.count() == run.summary["customers"] > 100

"""The analytics refresh on real CDNOW orders, its failure path, and the `guanxi analytics` commands."""

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from guanxi.analytics import InsightSettings
from guanxi.analytics.errors import SchemaError
from guanxi.cli import main
from guanxi.customers.models import Customer, Identity
from guanxi.demo.cdnow import CDNOW_MASTER
from guanxi.insight.models import AnalyticsRun, CustomerScore, ScoreSnapshot
from guanxi.insight.services import insight_refresh
from guanxi.workspaces import tenancy

SAMPLE_DIR = CDNOW_MASTER.parent
AS_OF = dt.date(1998, 6, 30)


def purchases_by_buyer(path) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Each CDNOW customer id's purchases, read straight from the file."""
    found = defaultdict(list)
    for line in path.read_text().splitlines()[1:]:
        customer, day, _cds, dollars = line.split()
        found[customer].append((dt.datetime.strptime(day, "%Y%m%d").date(), Decimal(dollars)))
    return found


def test_a_refresh_scores_every_customer_with_figures_matching_the_file(cdnow_workspace, cdnow_subset):
    run = insight_refresh(as_of=AS_OF)
    assert run.status == AnalyticsRun.Status.SUCCEEDED
    expected = purchases_by_buyer(cdnow_subset)
    assert CustomerScore.objects.count() == Customer.objects.count() == len(expected)
    assert ScoreSnapshot.objects.filter(as_of=AS_OF).count() == len(expected)
    ids = dict(Identity.objects.filter(kind="buyer_id").values_list("value", "customer_id"))
    for buyer in sorted(expected)[:40]:
        score = CustomerScore.objects.get(customer_id=ids[buyer])
        purchases = expected[buyer]
        last = max(day for day, _ in purchases)
        assert score.frequency == len(purchases), buyer
        assert score.monetary == sum(amount for _, amount in purchases), buyer
        assert score.recency_days == (AS_OF - last).days, buyer
        assert 1 <= score.rfm_r <= 5 and score.rfm_segment and score.value_class and score.value_tier
        assert score.lifecycle_stage == Customer.objects.get(pk=score.customer_id).lifecycle_stage
    fitted = run.summary["models"]["bgnbd"]
    assert fitted is not None and fitted["converged"], run.summary["model_errors"]
    assert sum(run.summary["counts"]["lifecycle_stage"].values()) == len(expected)


def test_a_failed_refresh_keeps_the_previous_scores_and_records_why(cdnow_workspace):
    insight_refresh(as_of=AS_OF)
    before = list(CustomerScore.objects.order_by("customer_id").values_list("customer_id", "rfm_segment", "clv"))
    with pytest.raises(SchemaError, match="fortnights"):
        insight_refresh(as_of=AS_OF, settings=InsightSettings(rfm_frequency="fortnights"))
    after = list(CustomerScore.objects.order_by("customer_id").values_list("customer_id", "rfm_segment", "clv"))
    assert after == before
    failed = AnalyticsRun.objects.order_by("-id").first()
    assert failed.status == AnalyticsRun.Status.FAILED and failed.error


def test_refreshing_one_workspace_leaves_another_untouched(cdnow_workspace, other_workspace):
    with tenancy.active(other_workspace):
        assert insight_refresh(as_of=AS_OF).summary["customers"] == 0
        assert CustomerScore.objects.count() == 0
    assert CustomerScore.objects.count() == 0  # the CDNOW workspace was not refreshed yet
    insight_refresh(as_of=AS_OF)
    with tenancy.active(other_workspace):
        assert CustomerScore.objects.count() == 0


def test_the_refresh_command_prints_the_run_summary(cdnow_workspace, capsys):
    assert main(["analytics", "refresh", "--as-of", "1998-06-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and out["customers"] == Customer.objects.count()
    assert set(out["counts"]) >= {"rfm_segment", "value_class", "lifecycle_stage"}


@pytest.mark.django_db
def test_the_fit_command_reproduces_the_published_bgnbd_parameters(capsys, tmp_path):
    scores = tmp_path / "scores.csv"
    code = main(["analytics", "fit", str(SAMPLE_DIR / "CDNOW_sample.txt"), "--format", "cdnow-sample",
                 "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30", "--scores", str(scores)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert out["bgnbd"][name] == pytest.approx(value, rel=0.005)
    assert out["customers"] == 2357
    assert len(scores.read_text().splitlines()) == 2357 + 1


@pytest.mark.django_db
def test_the_fit_command_refuses_a_missing_file_with_one_line(capsys):
    code = main(["analytics", "fit", "no-such-file.txt", "--format", "cdnow", "--calibration-end", "1997-09-30"])
    assert code == 2
    assert "no-such-file.txt" in capsys.readouterr().err


def test_the_360_page_shows_the_scores_and_the_inputs_behind_them(cdnow_workspace, make_member, client,
                                                                   member_password):
    owner = make_member(cdnow_workspace, "owner")
    client.login(username=owner.username, password=member_password)
    score_less = Customer.objects.order_by("id").first()
    assert "No scores yet" in client.get(f"/customers/{score_less.pk}/").content.decode()
    insight_refresh(as_of=AS_OF)
    score = CustomerScore.objects.filter(frequency__gte=2).select_related("customer").first()
    page = client.get(f"/customers/{score.customer_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    labels = {"champions": "Champions", "loyal": "Loyal", "potential_loyalist": "Potential Loyalist", "new": "New",
              "promising": "Promising", "need_attention": "Need Attention", "about_to_sleep": "About to Sleep",
              "at_risk": "At Risk", "cant_lose_them": "Can&#x27;t Lose Them", "hibernating": "Hibernating",
              "lost": "Lost"}
    assert labels[score.rfm_segment] in page
    assert f"R{score.rfm_r} F{score.rfm_f} M{score.rfm_m}" in page
    assert f"From {score.frequency} paid orders, last one {score.recency_days} days ago" in page


def test_the_nightly_job_refreshes_every_workspace(cdnow_workspace, other_workspace):
    from guanxi.insight.tasks import nightly_insight_refresh

    nightly_insight_refresh.call_local()
    assert set(AnalyticsRun.all_workspaces.values_list("workspace__slug", "status")) == {
        ("cd", "succeeded"), ("rival", "succeeded")}
    assert CustomerScore.objects.count() == Customer.objects.count()

""""Top N% means N%": on the whole CDNOW file, scored as of its last day, `clv_top_percent <= P` holds exactly
the ⌈P% × scored customers⌉ customers first by CLV (ties broken by customer id), and the built-in "High value at
risk" is a small share of the shop, not half of it.

CDNOW as of 1998-06-30: most of its 23,570 customers bought once in early 1997, so their CLV rounds to the same
few cents; comparing "CLV ≥ the k-th CLV" let all of them in."""

import datetime as dt
import math
from collections import Counter
from decimal import Decimal

import numpy as np
import pytest

from guanxi.demo.cdnow import load_cdnow
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.insight.services import insight_refresh
from guanxi.segments.builtin import HIGH_VALUE_AT_RISK
from guanxi.segments.models import Segment
from guanxi.segments.rules import compile_rules
from guanxi.segments.services import segments_ensure_builtin
from guanxi.workspaces import tenancy
from guanxi.workspaces.services import workspace_create

pytestmark = pytest.mark.django_db

AS_OF = dt.date(1998, 6, 30)
PERCENTS = (1, 2, 5, 10, 20, 33, 50, 90, 100)


@pytest.fixture
def scored_cdnow(db):
    """The whole CDNOW file in its own workspace with the built-in segments, scored as of its last day."""
    workspace = workspace_create(slug="cdnow-top", name="CDNOW", time_zone="America/New_York", currency="USD")
    with tenancy.active(workspace):
        load_cdnow(workspace=workspace)
        segments_ensure_builtin()
        insight_refresh(as_of=AS_OF)
        yield workspace


def _ranking(column: str = "clv") -> list[tuple[Decimal, int]]:
    """(value, customer id) of every scored customer, best first, ties by customer id."""
    return sorted(CustomerScore.objects.exclude(**{column: None}).values_list(column, "customer_id"),
                  key=lambda pair: (-pair[0], pair[1]))


def test_top_p_percent_on_cdnow_holds_the_first_ceil_p_percent_by_clv_then_customer_id(scored_cdnow):
    ranking = _ranking()
    n = len(ranking)
    assert n == 23570
    # Why the tie-break is needed: CLV values repeat in bulk, so "CLV ≥ the k-th CLV" would overshoot.
    at_half = ranking[math.ceil(n * 0.5) - 1][0]
    assert sum(1 for clv, _ in ranking if clv >= at_half) > math.ceil(n * 0.5)
    for field, column in (("clv_top_percent", "clv"), ("profit_top_percent", "gross_profit")):
        ranking = _ranking(column)
        for percent in PERCENTS:
            got = set(compile_rules({"all": [{"field": field, "op": "<=", "value": percent}]},
                                    as_of=AS_OF).values_list("pk", flat=True))
            k = math.ceil(n * percent / 100)
            assert (percent - 1) * n / 100 <= len(got) <= k, (field, percent)
            assert got == {pk for _, pk in ranking[:k]}, (field, percent)


def test_high_value_at_risk_on_cdnow_is_a_small_share_of_the_shop(scored_cdnow):
    """The fifth who brought the most profit, with a high churn risk: 557 of CDNOW's 23,570 customers (2.4%) as
    of 1998-06-30; it held about half of a shop before."""
    n = CustomerScore.objects.count()
    segment = Segment.objects.get(builtin_key=HIGH_VALUE_AT_RISK)
    segment.refresh_from_db()
    top = {pk for _, pk in _ranking("gross_profit")[:math.ceil(n / 5)]}
    high = set(CustomerScore.objects.filter(churn_risk="high").values_list("customer_id", flat=True))
    assert set(segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True)) == top & high
    assert 0.005 * n < segment.member_count <= n / 10


def test_rfm_scores_on_cdnow_hold_a_fifth_each_so_the_heatmap_has_no_empty_row_or_column(scored_cdnow):
    """60% of CDNOW's customers bought once: scoring equal frequencies alike left F 2 and 3 empty."""
    n = CustomerScore.objects.count()
    for field in ("rfm_r", "rfm_f", "rfm_m"):
        sizes = Counter(CustomerScore.objects.values_list(field, flat=True))
        assert set(sizes) == {1, 2, 3, 4, 5}, field
        assert all(n // 5 <= size <= n // 5 + 1 for size in sizes.values()), (field, sizes)


def test_the_clv_histogram_on_cdnow_shows_the_spread_in_1_2_5_bands(scored_cdnow):
    """Twenty equal-width bands up to the 99th percentile crowd CDNOW's customers into the first bars."""
    run = AnalyticsRun.objects.filter(status="succeeded").latest("created_at")
    bands = run.dashboard["clv_histogram"]
    values = np.array([float(v) for v in CustomerScore.objects.exclude(clv=None).values_list("clv", flat=True)])
    assert sum(b[2] for b in bands) == len(values)
    assert all(hi in (lo * 2, lo * 2.5) or (lo, hi) == (0.0, 1.0) for lo, hi, _ in bands)
    equal_width, _ = np.histogram(values.clip(0, np.quantile(values, 0.99)), bins=20)
    assert len([b for b in bands if b[2]]) >= 8
    assert max(b[2] for b in bands) < 0.6 * len(values) < equal_width.max()

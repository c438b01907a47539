"""Segments of a workspace scored as of a fixed day (CDNOW's 1998-06-30, `AnalyticsAsOf`) count "days since the
last order" from that day whenever a refresh names no day — nightly, after an import, the refresh button, the
builder's preview — as insight does; a workspace without a fixed day still counts from now."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.commerce.services import order_create
from guanxi.customers.services import customer_create
from guanxi.insight.services import analytics_as_of_set
from guanxi.insight.tasks import refresh_after_import
from guanxi.segments.models import Segment
from guanxi.segments.rules import compile_matches
from guanxi.segments.services import segment_create, segments_refresh_all
from guanxi.segments.tasks import nightly_segments_refresh, refresh_workspace_segments
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create
from segments_world import SHANGHAI
from web_helpers import client_for

pytestmark = pytest.mark.django_db

FIXED = dt.date(1998, 6, 30)
RECENT = {"all": [{"field": "days_since_last_order", "op": "<=", "value": 30}]}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _buyers(workspace):
    """One customer who bought ten days before FIXED, one who bought four months before it."""
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name="CDNOW", platform=Platform.OWN_SITE, currency="USD")
        buyers = []
        for name, day in (("recent", dt.date(1998, 6, 20)), ("lapsed", dt.date(1998, 3, 1))):
            customer = customer_create(name=name)
            order_create(store=store, customer=customer, number=name, status="paid", paid_amount=Decimal("20"),
                         placed_at=dt.datetime.combine(day, dt.time(12), tzinfo=SHANGHAI))
            buyers.append(customer)
    return buyers


@pytest.fixture
def cdnow(workspace):
    analytics_as_of_set(workspace=workspace, as_of=FIXED)
    recent, _lapsed = _buyers(workspace)
    segments_refresh_all()
    return recent, segment_create(name="Bought this month", rules=RECENT)


def _members(segment) -> set[int]:
    return set(segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True))


def _as_of_day(segment) -> dt.date:
    segment.refresh_from_db()
    return segment.refreshed_as_of.astimezone(SHANGHAI).date()


def test_every_refresh_without_a_day_counts_from_the_fixed_day(cdnow, workspace):
    recent, segment = cdnow
    assert _members(segment) == {recent.pk} and _as_of_day(segment) == FIXED
    for refresh in (lambda: nightly_segments_refresh.call_local(),
                    lambda: refresh_workspace_segments.call_local(workspace.pk),
                    lambda: refresh_after_import(workspace.pk)):
        Segment.objects.filter(pk=segment.pk).update(refreshed_as_of=None)
        refresh()
        assert _members(segment) == {recent.pk} and _as_of_day(segment) == FIXED
    assert compile_matches(RECENT).count() == 1  # the builder's preview agrees with the saved segment


def test_the_refresh_button_and_preview_count_from_the_fixed_day(cdnow, owner):
    recent, segment = cdnow
    client = client_for(owner)
    Segment.objects.filter(pk=segment.pk).update(refreshed_as_of=None)
    assert client.post(reverse("segments:refresh", args=[segment.pk])).status_code == 302
    assert _members(segment) == {recent.pk} and _as_of_day(segment) == FIXED


def test_a_day_named_still_wins(cdnow, workspace):
    _recent, segment = cdnow
    refresh_workspace_segments.call_local(workspace.pk, "1998-08-15")
    assert _members(segment) == set() and _as_of_day(segment) == dt.date(1998, 8, 15)


def test_a_workspace_without_a_fixed_day_counts_from_now(cdnow, other_workspace):
    _buyers(other_workspace)
    with tenancy.active(other_workspace):
        segment = segment_create(name="Bought this month", rules=RECENT)
        assert _members(segment) == set()
        assert _as_of_day(segment) > FIXED

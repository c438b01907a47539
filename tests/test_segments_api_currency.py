"""Money in the segment API's customers (preview samples, members) comes with the currency it is in: the
workspace's reporting currency, each order converted at its day's rate."""

import pytest

from guanxi.workspaces.models import Role
from guanxi.workspaces.services import workspace_currency_set
from test_segments_api import _fast_passwords, client_for, make_shop  # noqa: F401

pytestmark = pytest.mark.django_db


def test_customers_in_previews_and_members_name_the_reporting_currency(workspace, client_for):  # noqa: F811
    workspace_currency_set(workspace=workspace, currency="USD")
    _customers, segment = make_shop(workspace)
    client = client_for(Role.ANALYST)
    members = client.get(f"/segments/{segment.pk}/members", {"sort": "total_paid"}).json()["items"]
    # A workspace reporting in dollars (its store too): the figures come with "USD", the other keys as they were.
    assert [(m["customer"]["total_paid"], m["customer"]["currency"]) for m in members] == [
        ("200.00", "USD"), ("300.00", "USD"), ("400.00", "USD"), ("500.00", "USD"), ("600.00", "USD")]
    assert {"id", "name", "paid_orders", "total_paid", "clv", "p_alive", "churn_risk"} <= set(members[0]["customer"])
    sample = client_for(Role.MARKETING).post("/segments/preview", {"rules": {"all": [{"field": "total_paid", "op": ">", "value": 0}]},
                                               "sample": 3}).json()["sample"]
    assert len(sample) == 3 and {c["currency"] for c in sample} == {"USD"}

"""Merging duplicate customers and undoing it: everything moves, and undo puts back exactly what moved."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from guanxi.activities.services import interaction_log, task_create
from guanxi.commerce.services import order_create
from guanxi.customers.merge import customer_merge, customer_merge_undo, merge_history, merge_to_undo
from guanxi.customers.models import Consent, Customer, CustomerMerge, CustomerTag, Identity
from guanxi.customers.selectors import customer_list, search_customer_ids
from guanxi.customers.services import consent_set, customer_create
from guanxi.workspaces.models import Role

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.timezone.utc)


def _order(store, customer, number, paid="99.00"):
    return order_create(store=store, customer=customer, number=number, status="paid", placed_at=T0,
                        paid_amount=Decimal(paid))


@pytest.fixture
def pair(workspace, store):
    keep = customer_create(name="雷秀", identities=[("phone", "15699693949"), ("buyer_nick", "tb77769927")],
                           tags=["vip"])
    absorb = customer_create(name="", city="武汉市", identities=[("email", "leixiu@example.com"),
                                                                  ("buyer_nick", "雷秀小店")], tags=["vip", "团购"])
    _order(store, keep, "K-1")
    _order(store, absorb, "A-1", "10.00")
    _order(store, absorb, "A-2", "20.00")
    interaction_log(customer=absorb, summary="问尺码")
    task_create(customer=absorb, title="回访", due_on=dt.date(2024, 3, 5))
    consent_set(customer=keep, channel="email", granted=True, source="staff", at=T0)
    consent_set(customer=absorb, channel="email", granted=False, source="unsubscribe", at=T0 + dt.timedelta(days=1))
    consent_set(customer=absorb, channel="sms", granted=True, source="web_form", at=T0)
    return keep, absorb


def _snapshot(customer):
    customer.refresh_from_db()
    return {
        "identities": sorted(Identity.objects.filter(customer=customer).values_list("kind", "value")),
        "orders": sorted(customer.orders.values_list("number", flat=True)),
        "interactions": customer.interactions.count(),
        "tasks": customer.tasks.count(),
        "tags": sorted(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True)),
        "consents": sorted(Consent.objects.filter(customer=customer).values_list("channel", "granted", "source")),
        "name": customer.name, "city": customer.city, "merged_into": customer.merged_into_id,
    }


def test_merging_moves_identities_orders_and_history_to_the_kept_customer(pair, owner):
    keep, absorb = pair
    merge = customer_merge(keep=keep, absorb=absorb, by=owner)

    kept = _snapshot(keep)
    assert kept["identities"] == sorted([("phone", "+8615699693949"), ("buyer_nick", "tb77769927"),
                                         ("email", "leixiu@example.com"), ("buyer_nick", "雷秀小店")])
    assert kept["orders"] == ["A-1", "A-2", "K-1"]
    assert (kept["interactions"], kept["tasks"]) == (1, 1)
    assert kept["tags"] == ["vip", "团购"]
    # The newer statement wins: the duplicate's unsubscribe (a day later) must not be lost.
    assert kept["consents"] == [("email", False, "unsubscribe"), ("sms", True, "web_form")]
    assert kept["city"] == "武汉市" and kept["name"] == "雷秀"
    absorbed = _snapshot(absorb)
    assert absorbed["merged_into"] == keep.pk
    assert absorbed["identities"] == absorbed["tags"] == absorbed["consents"] == [] and absorbed["orders"] == []
    assert merge.merged_by == owner and merge.undone_at is None
    # The duplicate is gone from lists and search finds the kept customer by the duplicate's email.
    assert absorb.pk not in set(customer_list().values_list("id", flat=True))
    assert search_customer_ids("leixiu@example.com") == [keep.pk]


def test_undo_puts_back_exactly_what_the_merge_moved(pair, owner, store):
    keep, absorb = pair
    before = _snapshot(keep), _snapshot(absorb)
    merge = customer_merge(keep=keep, absorb=absorb, by=owner)
    _order(store, keep, "K-2")  # a new order after the merge stays with the kept customer
    customer_merge_undo(merge=merge_to_undo(absorbed=absorb), by=owner)

    after_keep, after_absorb = _snapshot(keep), _snapshot(absorb)
    assert after_keep["orders"] == ["K-1", "K-2"]
    after_keep["orders"] = ["K-1"]
    assert (after_keep, after_absorb) == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == owner
    assert [m.pk for m in merge_history(customer=keep)] == [merge.pk]


def test_a_merge_is_refused_for_the_same_customer_an_absorbed_one_or_twice_undone(pair, owner, workspace):
    keep, absorb = pair
    with pytest.raises(ValidationError):
        customer_merge(keep=keep, absorb=keep, by=owner)
    merge = customer_merge(keep=keep, absorb=absorb, by=owner)
    third = customer_create(name="第三")
    with pytest.raises(ValidationError, match="already merged"):
        customer_merge(keep=third, absorb=absorb, by=owner)
    with pytest.raises(ValidationError, match="already merged"):
        customer_merge(keep=absorb, absorb=third, by=owner)
    # Keep was merged on into `third`: the first merge cannot be undone until that one is.
    later = customer_merge(keep=third, absorb=keep, by=owner)
    with pytest.raises(ValidationError, match="undo that merge first"):
        customer_merge_undo(merge=merge, by=owner)
    customer_merge_undo(merge=later, by=owner)
    customer_merge_undo(merge=merge, by=owner)
    with pytest.raises(ValidationError, match="already undone"):
        customer_merge_undo(merge=merge, by=owner)
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_another_workspaces_customer_cannot_be_merged(pair, owner, other_workspace):
    from guanxi.workspaces import tenancy

    keep, _absorb = pair
    with tenancy.active(other_workspace):
        stranger = customer_create(name="外人")
    with pytest.raises(Customer.DoesNotExist):
        customer_merge(keep=keep, absorb=stranger, by=owner)
    assert CustomerMerge.objects.count() == 0


# --- API ------------------------------------------------------------------------------------------------------


def test_merge_and_undo_over_the_api(pair, workspace, make_member):
    from guanxi.api.testing import ApiClient
    from guanxi.workspaces.services import api_token_create

    keep, absorb = pair
    user = make_member(workspace, Role.SALES)
    client = ApiClient(api_token_create(workspace=workspace, user=user, name="t"))
    response = client.post(f"/customers/{keep.pk}/merge", {"absorb_id": absorb.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kept"]["id"] == keep.pk and body["absorbed"]["id"] == absorb.pk and body["undone_at"] is None
    assert body["moved"]["orders"] == 2 and body["moved"]["identities"] == 2

    history = client.get(f"/customers/{keep.pk}/merges").json()
    assert history["count"] == 1 and history["items"][0]["id"] == body["id"]

    again = client.post(f"/customers/{keep.pk}/merge", {"absorb_id": absorb.pk})
    assert again.status_code == 400 and "already merged" in again.json()["error"]["message"]

    undone = client.post(f"/customers/{absorb.pk}/unmerge")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] is not None
    assert client.post(f"/customers/{absorb.pk}/unmerge").status_code == 400
    assert sorted(absorb.orders.values_list("number", flat=True)) == ["A-1", "A-2"]

    analyst = ApiClient(api_token_create(workspace=workspace, user=make_member(workspace, Role.ANALYST), name="a"))
    assert analyst.post(f"/customers/{keep.pk}/merge", {"absorb_id": absorb.pk}).status_code == 403
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


# --- web ------------------------------------------------------------------------------------------------------


def test_merge_and_undo_from_the_customer_page(pair, workspace, client, make_member, member_password):
    keep, absorb = pair
    user = make_member(workspace, Role.SERVICE)
    client.login(username=user.username, password=member_password)
    page = client.get(f"/customers/{keep.pk}/merge/")
    assert page.status_code == 200
    assert "merge" in page.content.decode().lower()

    response = client.post(f"/customers/{keep.pk}/merge/", {"absorb_id": absorb.pk})
    assert response.status_code == 302
    absorb.refresh_from_db()
    assert absorb.merged_into_id == keep.pk
    page = client.get(f"/customers/{keep.pk}/merge/").content.decode()
    assert f"#{absorb.pk}" in page

    merge = merge_to_undo(absorbed=absorb)
    response = client.post(f"/customers/merges/{merge.pk}/undo/")
    assert response.status_code == 302
    absorb.refresh_from_db()
    assert absorb.merged_into_id is None


def test_a_read_only_member_cannot_merge_from_the_web(pair, workspace, client, make_member, member_password):
    keep, absorb = pair
    user = make_member(workspace, Role.ANALYST)
    client.login(username=user.username, password=member_password)
    assert client.post(f"/customers/{keep.pk}/merge/", {"absorb_id": absorb.pk}).status_code == 403
    absorb.refresh_from_db()
    assert absorb.merged_into_id is None

"""Undoing an import (guanxi.imports.undo): an overlapping import undone gives back the earlier state exactly (stats,
every order's fields, customers, identities, tags, consents, notes, segment facts), on the fast and the exact path;
an undo that later imports make unsafe is refused; an undo that fails half-way changes nothing; the web's Undo is
for owners of the import's own workspace."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from guanxi.activities.models import Interaction
from guanxi.cli import main
from guanxi.commerce.models import Order, OrderLine, Shipment
from guanxi.commerce.selectors import order_stats
from guanxi.customers.models import Consent, Customer, CustomerTag, Identity, Tag
from guanxi.imports import columnar, undo
from guanxi.imports.models import ImportChange, ImportJob
from guanxi.imports.services import COMPARED
from guanxi.segments.facts import FACT_FIELDS, facts_rebuild
from guanxi.segments.models import CustomerFacts, CustomerPurchase
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import store_create

DATA = Path(__file__).parent / "data" / "imports"
TAOBAO = DATA / "ExportOrderList_sample.csv"
TAOBAO_ITEMS = DATA / "ExportOrderDetailList_sample.csv"
SHOPIFY = DATA / "orders_export_sample.csv"


@pytest.fixture(params=["fast", "exact"])
def path_kind(request, monkeypatch):
    """Run the test once with the columnar fast path where a file qualifies, once with the exact path only."""
    if request.param == "exact":
        monkeypatch.setattr(columnar, "plan_for", lambda opened, store_id: None)
    return request.param


def _taobao_rows():
    header, *rows = list(csv.reader(io.StringIO(TAOBAO.read_bytes().decode("gb18030"))))
    return header, rows


def _write(tmp_path, name, header, rows):
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path = tmp_path / name
    path.write_bytes(out.getvalue().encode("gb18030"))
    return path


def _import(capsys, path, store_name, *extra):
    capsys.readouterr()  # what came before (the facts rebuild's log line) is not this command's
    code = main(["import", "orders", str(path), "--store", store_name, "--workspace", "acme", "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def _undo(capsys, import_id):
    capsys.readouterr()
    code = main(["import", "undo", str(import_id), "--workspace", "acme", "--json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _state():
    """Every figure an import can move, ids included: an undo must give back the same rows, not look-alikes."""
    facts_rebuild()
    figures = order_stats(store=None)
    for key in ("paid_revenue", "refunds"):
        figures[key] = Decimal(figures[key]).quantize(Decimal("0.01"))
    return {
        "stats": figures,
        "orders": sorted(Order.objects.values_list("id", "number", "customer_id", *COMPARED)),
        "lines": sorted(OrderLine.objects.values_list("id", "order_id", "sku", "quantity", "amount")),
        "shipments": sorted(Shipment.objects.values_list("id", "order_id", "tracking_number")),
        "customers": sorted(Customer.objects.values_list("id", "name", "lifecycle_stage")),
        "identities": sorted(Identity.objects.values_list("customer_id", "kind", "value", "store_id")),
        "tags": sorted(Tag.objects.values_list("id", "name")),
        "customer_tags": sorted(CustomerTag.objects.values_list("customer_id", "tag_id")),
        "consents": sorted(Consent.objects.values_list("customer_id", "channel", "granted", "recorded_at")),
        "notes": sorted(Interaction.objects.values_list("id", "customer_id", "summary")),
        "facts": sorted(CustomerFacts.objects.values_list(*FACT_FIELDS)),
        "purchases": sorted(CustomerPurchase.objects.values_list("line_id", "customer_id", "sku", "placed_at")),
    }


def _overlapping_files(tmp_path):
    """A: the first 40 orders. B: orders 20 to the end, five of the overlap with another status and a refund."""
    header, rows = _taobao_rows()
    status, refund = header.index("订单状态"), header.index("退款金额")
    first = _write(tmp_path, "a.csv", header, rows[:40])
    changed = [r for r in rows[20:40] if r[status] != "交易关闭"][:5]
    for row in changed:
        row[status], row[refund] = "交易关闭", "1.00"
    second = _write(tmp_path, "b.csv", header, rows[20:])
    return first, second, len(changed), len(rows) - 40


def test_undoing_an_overlapping_import_gives_back_the_state_before_it(workspace, store, tmp_path, capsys, path_kind):
    first, second, changed, new = _overlapping_files(tmp_path)
    empty = _state()
    a = _import(capsys, first, store.name)
    after_a = _state()
    b = _import(capsys, second, store.name)
    assert (b["orders_updated"], b["orders_created"]) == (changed, new)
    assert _state() != after_a
    customers_of_b = Customer.objects.count() - len(after_a["customers"])

    code, out, err = _undo(capsys, a["import_id"])  # B changed orders A created: A cannot go first
    assert code == 2 and out == "" and f"#{b['import_id']}" in err and len(err.strip().splitlines()) == 1
    code, out, _ = _undo(capsys, b["import_id"])
    assert code == 0
    assert json.loads(out) == {"orders_removed": new, "orders_restored": changed, "customers_removed": customers_of_b}
    assert _state() == after_a
    assert ImportJob.objects.get(pk=b["import_id"]).undone_at is not None

    code, _, err = _undo(capsys, b["import_id"])
    assert code == 2 and "undone already" in err
    code, out, _ = _undo(capsys, a["import_id"])  # B is undone: nothing stands in A's way any more
    assert code == 0 and json.loads(out)["orders_removed"] == a["orders_created"]
    assert _state() == empty


def test_undo_removes_the_identities_it_gave_existing_customers(workspace, tmp_path, capsys, path_kind):
    """A buyer known by email gets a phone from a second store's export; its undo takes the phone away again, and
    the buyer (who has an order from the first) stays."""
    for name in ("Own A", "Own B"):
        store_create(workspace=workspace, name=name, platform=Platform.OWN_SITE)
    header = "order_number,created,amount,status,customer_id,customer_name,email,phone\n"
    older = tmp_path / "a.csv"
    older.write_text(header + "W-1,2024-03-05 10:23:00,99.00,paid,,廖娜,liao@example.com,\n")
    newer = tmp_path / "b.csv"
    newer.write_text(header + "V-1,2024-04-05 10:23:00,50.00,paid,,廖娜,liao@example.com,+86 157 8547 5689\n"
                              "V-2,2024-04-06 10:00:00,10.00,paid,,新客,new@example.com,+86 157 0000 0001\n")
    _import(capsys, older, "Own A")
    before = _state()
    second = _import(capsys, newer, "Own B")
    assert (second["customers_matched"], second["customers_created"]) == (1, 1)
    assert Identity.objects.filter(kind="phone", value="+8615785475689").exists()
    code, out, _ = _undo(capsys, second["import_id"])
    assert code == 0 and json.loads(out) == {"orders_removed": 2, "orders_restored": 0, "customers_removed": 1}
    assert _state() == before


def test_undo_removes_lines_tags_and_consents_given_to_existing_customers(workspace, tmp_path, capsys):
    """The Shopify sample into a workspace that knows some of its buyers already (from a first Shopify store's
    import): the second import adds lines, tags, consents and identities; its undo takes them all out."""
    store_create(workspace=workspace, name="Shopify A", platform=Platform.SHOPIFY, currency="USD")
    store_create(workspace=workspace, name="Shopify B", platform=Platform.SHOPIFY, currency="USD")
    with open(SHOPIFY, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    tags, marketing = header.index("Tags"), header.index("Accepts Marketing")
    for row in rows:  # store A knew these buyers without tags and with the opposite consent
        row[tags] = ""
        row[marketing] = {"yes": "no", "no": "yes"}.get(row[marketing], row[marketing])
    older = tmp_path / "older.csv"
    with open(older, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows[:30]])
    _import(capsys, older, "Shopify A")
    before = _state()
    second = _import(capsys, SHOPIFY, "Shopify B")
    kinds = set(ImportChange.objects.filter(job_id=second["import_id"]).values_list("kind", flat=True))
    assert {"customer_tag", "tag", "consent"} <= kinds and second["customers_matched"] > 0
    assert _state() != before
    code, out, _ = _undo(capsys, second["import_id"])
    assert code == 0 and json.loads(out)["orders_removed"] == second["orders_created"]
    assert _state() == before


def test_an_undo_refreshes_the_figures_once_it_commits(workspace, store, capsys, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    from guanxi.insight import tasks

    queued = []
    monkeypatch.setattr(tasks, "refresh_after_import", queued.append)
    job = ImportJob.objects.get(pk=_import(capsys, TAOBAO, store.name)["import_id"])
    with django_capture_on_commit_callbacks(execute=True):
        undo.import_undo(job=job)
    assert queued == [workspace.pk]


def test_an_undo_that_fails_half_way_changes_nothing(workspace, store, tmp_path, capsys, monkeypatch):
    first, second, _, _ = _overlapping_files(tmp_path)
    _import(capsys, first, store.name)
    b = _import(capsys, second, store.name)
    before = _state()

    def broken(job):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(undo, "_remove_customers", broken)  # after orders were restored and removed
    with pytest.raises(RuntimeError):
        undo.import_undo(job=ImportJob.objects.get(pk=b["import_id"]))
    assert _state() == before
    assert ImportJob.objects.get(pk=b["import_id"]).undone_at is None


def test_an_order_changed_after_the_import_by_a_webhook_refuses_the_undo(workspace, tmp_path, capsys):
    from guanxi.imports.services import shopify_order_receive

    shop = store_create(workspace=workspace, name="Shop", platform=Platform.SHOPIFY, currency="USD")
    result = _import(capsys, SHOPIFY, shop.name)
    order = Order.objects.get(number="#1002")
    shopify_order_receive(store=shop, payload={
        "name": "#1002", "financial_status": "refunded", "created_at": "2024-08-19T06:20:50-05:00",
        "total_price": "16.94", "email": "emma.obrien7@example.com",
        "refunds": [{"transactions": [{"kind": "refund", "amount": "16.94"}]}],
    })
    assert Order.objects.get(pk=order.pk).status != order.status
    before = _state()
    code, out, err = _undo(capsys, result["import_id"])
    assert code == 2 and "changed after it" in err
    assert _state() == before


def test_another_workspaces_import_cannot_be_undone_from_here(workspace, other_workspace, capsys, tmp_path):
    other_store = store_create(workspace=other_workspace, name="Rival Taobao", platform=Platform.TAOBAO)
    with tenancy.active(other_workspace):
        job, _ = undo.orders_import_recorded(workspace=other_workspace, store=other_store, path=TAOBAO)
    code, _, err = _undo(capsys, job.pk)
    assert code == 2 and f"no import #{job.pk} in acme" in err
    with tenancy.active(other_workspace):
        assert Order.objects.count() > 0 and ImportJob.objects.get(pk=job.pk).undone_at is None


def test_every_table_pointing_to_orders_is_one_the_undo_removes_rows_from():
    """The undo deletes orders, lines and shipments set-based, not through the ORM's cascade: a new model that
    points to them must be added to undo.ORDER_DEPENDENTS (and removed there), or its rows would be left behind."""
    targets = (Order, OrderLine, Shipment)
    pointing = {(model, field.name) for model in apps.get_models() for field in model._meta.get_fields()
                if isinstance(field, models.ForeignKey) and field.related_model in targets}
    assert pointing == undo.ORDER_DEPENDENTS


# The web page ----------------------------------------------------------------------------------------------------


@pytest.fixture
def undone_ready(workspace, store, tmp_path, capsys):
    """An import made from the command line: the upload page lists it, its page offers the Undo."""
    return _import(capsys, TAOBAO, store.name)["import_id"]


def _sign_in(client, workspace, make_member, member_password, role):
    user = make_member(workspace, role)
    client.login(username=user.username, password=member_password)
    return user


def test_an_owner_undoes_an_import_from_its_page(client, workspace, make_member, member_password, undone_ready):
    owner = _sign_in(client, workspace, make_member, member_password, Role.OWNER)
    listing = client.get("/imports/").content.decode()
    assert f"/imports/jobs/{undone_ready}/" in listing
    page = client.get(f"/imports/jobs/{undone_ready}/").content.decode()
    assert f"/imports/jobs/{undone_ready}/undo/" in page and "data-confirm" in page
    response = client.post(f"/imports/jobs/{undone_ready}/undo/")
    assert response.status_code == 302 and Order.objects.count() == 0
    job = ImportJob.objects.get(pk=undone_ready)
    assert job.undone_by == owner and job.undo_summary["orders_removed"] > 0
    page = client.get(f"/imports/jobs/{undone_ready}/").content.decode()
    assert f"/imports/jobs/{undone_ready}/undo/" not in page
    assert client.post(f"/imports/jobs/{undone_ready}/undo/").status_code == 409


@pytest.mark.parametrize("role", [Role.SALES, Role.ANALYST])
def test_only_owners_may_undo(client, workspace, make_member, member_password, undone_ready, role):
    _sign_in(client, workspace, make_member, member_password, role)
    orders = Order.objects.count()
    if role == Role.SALES:  # may see the import, not its Undo
        assert f"/imports/jobs/{undone_ready}/undo/" not in client.get(f"/imports/jobs/{undone_ready}/").content.decode()
    assert client.post(f"/imports/jobs/{undone_ready}/undo/").status_code == 403
    assert Order.objects.count() == orders and ImportJob.objects.get(pk=undone_ready).undone_at is None


def test_another_workspaces_owner_gets_404(client, workspace, other_workspace, make_member, member_password,
                                           undone_ready):
    _sign_in(client, other_workspace, make_member, member_password, Role.OWNER)
    orders = Order.objects.count()
    assert client.post(f"/imports/jobs/{undone_ready}/undo/").status_code == 404
    assert Order.objects.count() == orders


def test_a_refused_undo_on_the_web_answers_409_and_says_why(client, workspace, store, make_member, member_password,
                                                             tmp_path, capsys):
    first, second, _, _ = _overlapping_files(tmp_path)
    a = _import(capsys, first, store.name)["import_id"]
    b = _import(capsys, second, store.name)["import_id"]
    _sign_in(client, workspace, make_member, member_password, Role.OWNER)
    before = _state()
    response = client.post(f"/imports/jobs/{a}/undo/")
    assert response.status_code == 409 and f"#{b}" in response.content.decode()
    assert _state() == before

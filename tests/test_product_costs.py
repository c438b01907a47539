"""Product costs: `guanxi products costs FILE.csv` and Settings → Product costs set the cost each order line gets
(by its order's day, in the cost's currency), refuse bad files by line and column, and a product without any
cost has an unknown margin ("—"), not 100 %."""

import datetime as dt
import json
from decimal import Decimal

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.analytics import product_table
from guanxi.cli import main
from guanxi.commerce.models import OrderLine, Product, ProductCost
from guanxi.commerce.services import order_create, product_create
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import store_create
from web_helpers import client_for

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def orders(workspace):
    """Three TEA-01 orders (CNY store: 10-30 and 11-05; USD store: 11-06) and one CUP-02 order."""
    cny = store_create(workspace=workspace, name="淘宝店", platform="taobao", currency="CNY")
    usd = store_create(workspace=workspace, name="US", platform="shopify", currency="USD")
    buyer = customer_create(name="李娜")
    product_create(sku="TEA-01", title="龙井", price=Decimal("100"))

    def order(store, number, day, sku="TEA-01"):
        return order_create(store=store, customer=buyer, number=number, status="completed",
                            placed_at=dt.datetime(2026, *day, 0, 30, tzinfo=SHANGHAI), paid_amount=Decimal("200"),
                            lines=[{"sku": sku, "title": sku, "quantity": 2, "unit_price": Decimal("100")}])

    return [order(cny, "A1", (10, 30)), order(cny, "A2", (11, 5)), order(usd, "B1", (11, 6)),
            order(cny, "A3", (11, 7), sku="CUP-02")]


def _unit_costs(orders):
    return [OrderLine.objects.get(order=o).unit_cost for o in orders]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_cost_file_costs_each_line_by_its_orders_day_and_currency(workspace, orders, tmp_path, capsys):
    path = tmp_path / "costs.csv"
    # Periods start at local midnight: A2 was placed 00:30 on 11-05 in Shanghai (16:30 UTC on 11-04).
    path.write_text("sku,cost,currency,from\nTEA-01,40,CNY,\nTEA-01,45.5,CNY,2026-11-05\n", encoding="utf-8")
    code, out, err = run(capsys, "products", "costs", str(path), "--workspace", "acme", "--json")
    assert code == 0, err
    assert json.loads(out) == {"rows": 2, "created": 2, "updated": 0, "lines_costed": 2}
    # B1 is a USD order: a CNY cost does not price it; CUP-02 has no cost.
    assert _unit_costs(orders) == [Decimal("40.00"), Decimal("45.50"), None, None]
    assert Product.objects.get(sku="TEA-01").cost == Decimal("45.50")

    path.write_text("sku,cost,currency,from\nTEA-01,9,USD,2026-11-06\n", encoding="utf-8")
    code, out, _ = run(capsys, "products", "costs", str(path), "--workspace", "acme", "--json")
    assert code == 0 and json.loads(out)["created"] == 1
    assert _unit_costs(orders) == [Decimal("40.00"), Decimal("45.50"), Decimal("9.00"), None]

    # The same file again changes nothing.
    code, out, _ = run(capsys, "products", "costs", str(path), "--workspace", "acme", "--json")
    assert json.loads(out) == {"rows": 1, "created": 0, "updated": 0, "lines_costed": 0}


@pytest.mark.parametrize("text, line, column", [
    ("sku,price\nTEA-01,4\n", 1, "cost"),
    ("sku,cost,colour\nTEA-01,4,red\n", 1, "colour"),
    ("sku,cost\nTEA-01,40\n,5\n", 3, "sku"),
    ("sku,cost\nTEA-01,4O\n", 2, "cost"),
    ("sku,cost\nTEA-01,-1\n", 2, "cost"),
    ("sku,cost,currency\nTEA-01,4,RMB¥\n", 2, "currency"),
    ("sku,cost,from\nTEA-01,4,2026-13-01\n", 2, "from"),
    ("sku,cost\nTEA-01,4\nTEA-01,5\n", 3, "sku"),
])
def test_a_bad_cost_file_is_refused_by_line_and_column_and_changes_nothing(
        workspace, orders, tmp_path, capsys, text, line, column):
    path = tmp_path / "costs.csv"
    path.write_text("sku,cost\nCUP-02,3\n", encoding="utf-8")
    run(capsys, "products", "costs", str(path), "--workspace", "acme")
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "products", "costs", str(path), "--workspace", "acme")
    assert code == 2 and out == ""
    assert f"{path}:{line}: column “{column}”" in err
    assert list(ProductCost.objects.values_list("sku", "cost")) == [("CUP-02", Decimal("3.00"))]
    assert _unit_costs(orders)[:3] == [None, None, None]


def test_a_product_without_any_cost_has_no_margin_not_a_hundred_percent():
    lines = pl.DataFrame({"sku": ["x", "y", "z", "z"], "quantity": [1, 5, 1, 1], "amount": [10.0, 25.0, 8.0, 8.0],
                          "cost": [4.0, None, 2.0, None]})
    table = product_table(lines).rows_by_key("sku", named=True, unique=True)
    assert table["y"]["margin"] is None and table["y"]["gross_profit"] is None and table["y"]["cost"] is None
    assert table["x"]["margin"] == pytest.approx(0.6)
    assert table["z"]["cost_known_share"] == 0.5 and table["z"]["gross_profit"] == pytest.approx(14.0)
    assert product_table(lines)["sku"].to_list() == ["z", "x", "y"]  # unknown profit last


def test_settings_product_costs_set_upload_and_delete(workspace, orders, owner):
    client = client_for(owner)
    assert client.get("/settings/costs/").status_code == 200
    response = client.post("/settings/costs/set/", {"sku": "CUP-02", "cost": "12.30", "currency": "cny",
                                                    "valid_from": ""})
    assert response.status_code == 302
    assert _unit_costs(orders)[3] == Decimal("12.30")
    page = client.get("/settings/costs/").content.decode()
    assert "CUP-02" in page and "12.30" in page

    bad = SimpleUploadedFile("costs.csv", b"sku,cost\nTEA-01,abc\n", content_type="text/csv")
    response = client.post("/settings/costs/upload/", {"file": bad})
    assert response.status_code == 400
    assert "Line 2" in response.content.decode() and "cost" in response.content.decode()
    good = SimpleUploadedFile("costs.csv", "sku,cost,from\nTEA-01,41,2026-11-01\n".encode(), content_type="text/csv")
    assert client.post("/settings/costs/upload/", {"file": good}).status_code == 302
    assert _unit_costs(orders)[:2] == [None, Decimal("41.00")]

    cost = ProductCost.objects.get(sku="CUP-02")
    assert client.post(f"/settings/costs/{cost.id}/delete/").status_code == 302
    assert _unit_costs(orders)[3] is None


def test_product_costs_are_for_owners_and_stay_in_their_workspace(workspace, other_workspace, orders, owner,
                                                                  make_member):
    sales = make_member(workspace, Role.SALES)
    assert client_for(sales).get("/settings/costs/").status_code == 403
    assert client_for(sales).post("/settings/costs/set/", {"sku": "X", "cost": "1", "currency": "CNY"}).status_code == 403
    with tenancy.active(other_workspace):
        theirs = ProductCost.objects.create(workspace=other_workspace, sku="THEIRS", cost=1, currency="CNY")
    assert client_for(owner).post(f"/settings/costs/{theirs.id}/delete/").status_code == 404
    assert "THEIRS" not in client_for(owner).get("/settings/costs/").content.decode()
    assert ProductCost.all_workspaces.filter(pk=theirs.pk).exists()


def test_lines_imported_after_a_cost_was_set_get_it_when_the_import_returns(workspace, tmp_path, capsys,
                                                                          django_capture_on_commit_callbacks):
    costs = tmp_path / "costs.csv"
    costs.write_text("sku,cost,currency\nTEA-01,40,CNY\n", encoding="utf-8")
    assert run(capsys, "products", "costs", str(costs), "--workspace", "acme")[0] == 0
    export = tmp_path / "orders.csv"
    export.write_text("order_number,created,amount,currency,status,email,sku,title,quantity,unit_price\n"
                      "G-1,2026-11-20 10:00,200,CNY,paid,a@example.com,TEA-01,龙井,2,100\n"
                      "G-2,2026-11-21 10:00,80,CNY,paid,b@example.com,CUP-02,杯,1,80\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):  # the refresh an import queues once it commits
        code, out, err = run(capsys, "import", "orders", str(export), "--store", "Own", "--platform", "own_site",
                             "--workspace", "acme", "--json")
    assert code == 0, err
    with tenancy.active(workspace):
        assert dict(OrderLine.objects.values_list("sku", "unit_cost")) == {"TEA-01": Decimal("40"), "CUP-02": None}

"""Shipping addresses kept from the exports: on each order, and on the customer as their latest order's unless
staff set it by hand; both import paths alike; the backfill of what was imported before; the customer form's
country field; region segment rules that now find imported customers."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.urls import reverse

from guanxi.cli import main
from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_update
from guanxi.imports.services import ImportFailed, orders_import
from guanxi.segments.rules import compile_matches
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create
from tests.test_import_fast_path import _both_ways, twin  # noqa: F401 - twin is a fixture
from tests.web_helpers import client_for

SAMPLES = Path(__file__).parent.parent / "guanxi" / "data" / "samples"
TAOBAO = SAMPLES / "taobao" / "ExportOrderList_sample.csv"
SHOPIFY = SAMPLES / "shopify" / "orders_export_sample.csv"
MUNICIPALITY = {"北京": "北京市", "上海": "上海市", "天津": "天津市", "重庆": "重庆市"}
PARTS = ("country", "province", "city", "district", "postcode")


def _records(path, encoding):
    with open(path, encoding=encoding, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(tmp_path, name, header, rows, encoding="gb18030"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding=encoding, newline="")
    return path


def _expected_taobao(cells_by_name):
    """The parts of a Taobao address as the rule states them, worked out here from the raw cell."""
    address = cells_by_name["修改后的收货地址"] or cells_by_name["收货地址"]
    street, _, postcode = address.rpartition("(")
    province, city, district = street.split()[:3]
    return "CN", MUNICIPALITY.get(province, province), city, district, postcode.rstrip(")")


def _address(obj):
    return tuple(getattr(obj, name) for name in PARTS)


def test_the_taobao_sample_keeps_each_orders_address_and_gives_it_to_the_buyer(workspace, store):
    header, rows = _records(TAOBAO, "gb18030")
    expected = {}
    for cells in rows:
        named = dict(zip(header, cells))
        expected[named["订单编号"].strip('="')] = (_expected_taobao(named), named["订单创建时间"], named["买家会员名"])
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    orders = {o.number: o for o in Order.objects.all()}
    assert {number: _address(o) for number, o in orders.items()} == {n: e[0] for n, e in expected.items()}
    assert any(e[0][1] == "北京市" for e in expected.values())  # Taobao writes 北京; the CRM keeps 北京市
    latest = {}  # customer id → (placed, parts) of their latest order, from the file
    for number, (parts, placed, _) in expected.items():
        customer_id = orders[number].customer_id
        if customer_id not in latest or placed >= latest[customer_id][0]:
            latest[customer_id] = (placed, parts)
    assert {c.id: _address(c) for c in Customer.objects.all()} == {cid: p for cid, (_, p) in latest.items()}
    assert len({nick for _, _, nick in expected.values()}) == len(latest)


def test_the_changed_address_wins_and_addresses_without_spaces_are_split_by_their_suffixes(
        monkeypatch, workspace, twin, tmp_path):  # noqa: F811
    header, rows = _records(TAOBAO, "gb18030")
    modified = header.index("修改后的收货地址")
    rows = [list(r) for r in rows[:3]]
    rows[0][modified] = "上海 上海市 浦东新区 世纪大道1号(200120)"
    rows[1][header.index("收货地址")] = "广东省深圳市南山区科技园1号(518000)"
    path = _write(tmp_path, "changed.csv", header, rows)
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert fast == exact and fast_rows == exact_rows
    orders = {o.number: _address(o) for o in Order.all_workspaces.filter(workspace=workspace)}
    numbers = [r[header.index("订单编号")].strip('="') for r in rows]
    assert orders[numbers[0]] == ("CN", "上海市", "上海市", "浦东新区", "200120")
    assert orders[numbers[1]] == ("CN", "广东省", "深圳市", "南山区", "518000")
    assert Order.all_workspaces.get(workspace=workspace, number=numbers[0]).receiver_address == "上海 上海市 浦东新区 世纪大道1号"


def test_shopify_takes_the_shipping_address_else_the_billing_one(workspace, tmp_path):
    header, rows = _records(SHOPIFY, "utf-8")
    first = [list(r) for r in rows if r[header.index("Financial Status")]][:2]
    for name, value in (("Shipping Country", "ca"), ("Shipping Province", "ON"), ("Shipping City", "Toronto"),
                        ("Shipping Zip", "M5V 2T6"), ("Shipping Address1", "1 King St W")):
        first[0][header.index(name)] = value
    path = _write(tmp_path, "shopify.csv", header, first, encoding="utf-8")
    store = store_create(workspace=workspace, name="Shopify", platform=Platform.SHOPIFY, currency="USD")
    orders_import(workspace=workspace, store=store, path=path)
    a, b = (Order.objects.get(number=r[0]) for r in first)
    assert _address(a) == ("CA", "ON", "Toronto", "", "M5V 2T6")
    assert a.receiver_address == "1 King St W, Toronto, M5V 2T6"
    billing = first[1]
    assert _address(b) == ("US", "IL", billing[header.index("Billing City")], "", billing[header.index("Billing Zip")])
    assert _address(a.customer) == _address(a) and a.customer.address == a.receiver_address


def test_the_shopify_sample_gives_every_buyer_a_country_and_region(workspace):
    store = store_create(workspace=workspace, name="Shopify", platform=Platform.SHOPIFY, currency="USD")
    orders_import(workspace=workspace, store=store, path=SHOPIFY)
    assert set(Customer.objects.values_list("country", "province")) == {("US", "IL")}
    assert compile_matches({"all": [{"field": "province", "op": "=", "value": "IL"}]}).count() == \
        Customer.objects.count() > 0


GENERIC_HEADER = ["order_number", "created", "amount", "status", "customer_id", "country", "province", "city",
                  "district", "postcode", "address"]


def test_generic_address_columns_are_read_on_both_paths(monkeypatch, workspace, twin, tmp_path):  # noqa: F811
    rows = [["G1", "2024-01-02 10:00:00", "10", "paid", "c1", "cn", "浙江省", "杭州市", "西湖区", "310000", "文三路1号"],
            ["G2", "2024-03-02 10:00:00", "20", "paid", "c1", "China", "江苏省", "南京市", "鼓楼区", "210000", "中山路2号"],
            ["G3", "2024-02-02 10:00:00", "30", "paid", "c2", "", "", "", "", "", ""]]
    path = _write(tmp_path, "generic.csv", GENERIC_HEADER, rows, encoding="utf-8")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic")
    assert fast == exact and fast_rows == exact_rows
    c1 = Order.all_workspaces.get(workspace=workspace, number="G2").customer
    # c1's latest order (G2, in March) gives the address, though G1 introduced the customer.
    assert (_address(c1), c1.address) == (("CN", "江苏省", "南京市", "鼓楼区", "210000"), "中山路2号")
    c2 = Order.all_workspaces.get(workspace=workspace, number="G3").customer
    assert _address(c2) == ("", "", "", "", "")


def test_an_unknown_country_is_refused_with_its_line_and_column(workspace, store, tmp_path):
    rows = [["G1", "2024-01-02 10:00:00", "10", "paid", "c1", "Atlantis", "", "", "", "", ""]]
    path = _write(tmp_path, "generic.csv", GENERIC_HEADER, rows, encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        orders_import(workspace=workspace, store=store, path=path, fmt="generic")
    assert failed.value.error.as_dict() == {
        "line": 2, "column": "country",
        "message": "“Atlantis” is not a country (use an ISO 3166 code such as CN or US)"}
    assert Order.objects.count() == 0


def test_a_later_order_moves_the_customer_unless_staff_set_the_address(workspace, store, tmp_path):
    first = [["G1", "2024-01-02 10:00:00", "10", "paid", "c1", "CN", "浙江省", "杭州市", "西湖区", "", ""],
             ["G2", "2024-01-02 10:00:00", "10", "paid", "c2", "CN", "浙江省", "杭州市", "西湖区", "", ""]]
    orders_import(workspace=workspace, store=store, fmt="generic",
                  path=_write(tmp_path, "a.csv", GENERIC_HEADER, first, encoding="utf-8"))
    staff_set = Order.objects.get(number="G2").customer
    customer_update(customer=staff_set, city="宁波市")
    later = [["G3", "2024-05-02 10:00:00", "10", "paid", "c1", "CN", "广东省", "深圳市", "南山区", "", ""],
             ["G4", "2024-05-02 10:00:00", "10", "paid", "c2", "CN", "广东省", "深圳市", "南山区", "", ""],
             ["G5", "2023-05-02 10:00:00", "10", "paid", "c1", "CN", "四川省", "成都市", "武侯区", "", ""]]
    orders_import(workspace=workspace, store=store, fmt="generic",
                  path=_write(tmp_path, "b.csv", GENERIC_HEADER, later, encoding="utf-8"))
    moved = Order.objects.get(number="G3").customer
    assert (moved.province, moved.city) == ("广东省", "深圳市")  # G5 is older: it does not win
    staff_set.refresh_from_db()
    assert (staff_set.address_set_by_staff, staff_set.province, staff_set.city) == (True, "浙江省", "宁波市")


def test_the_backfill_reads_taobao_addresses_already_imported(workspace, store, capsys):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    imported = {o.number: (_address(o)[:4]) for o in Order.objects.all()}
    # As imported before orders kept the parts: only the street text, and every customer in CN with no region.
    Order.objects.update(country="", province="", city="", district="", postcode="")
    Customer.objects.update(country="CN", province="", city="", district="", postcode="")
    assert compile_matches({"all": [{"field": "province", "op": "is_set"}]}).count() == 0
    assert main(["customers", "backfill-addresses", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"orders_filled": len(imported), "customers_changed": Customer.objects.count()}
    assert {o.number: _address(o)[:4] for o in Order.objects.all()} == imported
    assert compile_matches({"all": [{"field": "province", "op": "=", "value": "浙江省"}]}).count() == \
        Customer.objects.filter(orders__province="浙江省").distinct().count() > 0
    assert main(["customers", "backfill-addresses", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"orders_filled": 0, "customers_changed": 0}


def test_a_reimport_completes_orders_imported_without_address_parts(workspace, store):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    before = {o.number: _address(o) for o in Order.objects.all()}
    Order.objects.update(country="", province="", city="", district="", postcode="")
    result = orders_import(workspace=workspace, store=store, path=TAOBAO)
    assert result.orders_updated == 0 and result.orders_unchanged == len(before)
    assert {o.number: _address(o) for o in Order.objects.all()} == before


def test_the_customer_form_sets_the_country_and_marks_the_address_as_set_by_staff(workspace, store, owner):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    customer = Customer.objects.filter(province="浙江省").first()
    client = client_for(owner)
    url = reverse("web:customer_edit", args=[customer.id])
    page = client.get(url).content.decode()
    assert 'name="country"' in page and 'value="CN"' in page
    data = {"name": customer.name, "lifecycle_stage": customer.lifecycle_stage, "country": "Atlantis",
            "province": customer.province, "city": customer.city, "district": customer.district,
            "address": customer.address, "postcode": customer.postcode}
    assert "ISO 3166" in client.post(url, data).content.decode()
    customer.refresh_from_db()
    assert (customer.country, customer.address_set_by_staff) == ("CN", False)
    client.post(url, {**data, "country": "hk", "province": "香港特别行政区"})
    customer.refresh_from_db()
    assert (customer.country, customer.province, customer.address_set_by_staff) == ("HK", "香港特别行政区", True)
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    customer.refresh_from_db()
    assert (customer.country, customer.province) == ("HK", "香港特别行政区")


def test_the_shopify_webhook_keeps_the_shipping_address(workspace):
    from guanxi.imports.services import shopify_order_receive

    store = store_create(workspace=workspace, name="Shopify", platform=Platform.SHOPIFY, currency="USD")
    shopify_order_receive(store=store, payload={
        "name": "#9001", "financial_status": "paid", "created_at": "2024-05-01T10:00:00-04:00",
        "total_price": "10.00", "email": "a@example.com",
        "shipping_address": {"country_code": "US", "province_code": "NY", "city": "New York", "zip": "10001",
                             "address1": "1 Main St"}})
    order = Order.objects.get(number="#9001")
    assert _address(order) == ("US", "NY", "New York", "", "10001")
    assert _address(order.customer) == _address(order)

"""Money in its own currency: a Taobao store in CNY and a Shopify store in USD in one workspace (the real samples),
never added raw; converted to the reporting currency at the rate of each order's day where the owner set one.

The expected figures are worked out here from the orders, in Python, with the rates written out by hand: 1 USD =
7 CNY until 2024-05-31 and 8 from 2024-06-01 on (whole rates keep every conversion exact, on SQLite's floats too).
"""

import datetime as dt
import json
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from guanxi.cli import main
from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.customers.selectors import customer_kpis
from guanxi.imports.services import orders_import
from guanxi.insight.selectors import range_kpis
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.models import CustomerFacts
from guanxi.segments.rules import compile_matches
from guanxi.web.templatetags.guanxi_ui import money
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ExchangeRate, Platform, Store, Workspace
from guanxi.workspaces.services import exchange_rate_set, store_create

SAMPLES = Path(__file__).resolve().parent.parent / "guanxi" / "data" / "samples"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CHANGE = dt.date(2024, 6, 1)
CENT = Decimal("0.01")


@pytest.fixture
def stores(workspace):
    """The Taobao sample in a CNY store and the Shopify sample in a USD store of `workspace` (reporting CNY)."""
    taobao = store_create(workspace=workspace, name="TB", platform=Platform.TAOBAO, currency="CNY")
    shopify = store_create(workspace=workspace, name="SH", platform=Platform.SHOPIFY, currency="USD")
    orders_import(workspace=workspace, store=taobao, path=SAMPLES / "taobao" / "ExportOrderList_sample.csv",
                  items_path=SAMPLES / "taobao" / "ExportOrderDetailList_sample.csv")
    orders_import(workspace=workspace, store=shopify, path=SAMPLES / "shopify" / "orders_export_sample.csv")
    return taobao, shopify


def set_rates(workspace) -> None:
    exchange_rate_set(workspace=workspace, currency="USD", rate="7")
    exchange_rate_set(workspace=workspace, currency="USD", rate="8", on=CHANGE)


def in_yuan(order: Order, field: str) -> Decimal:
    """By hand: the order's `field` in CNY at the rate of its day."""
    amount = getattr(order, field)
    if order.currency == "CNY":
        return amount
    assert order.currency == "USD"
    return amount * (8 if order.placed_at.astimezone(SHANGHAI).date() >= CHANGE else 7)


def sums(orders, convert=None) -> tuple[Decimal, Decimal]:
    value = convert or (lambda order, field: getattr(order, field))
    paid = sum((value(o, "paid_amount") for o in orders if o.status in PAID_STATUSES), Decimal(0))
    return paid.quantize(CENT), sum((value(o, "refunded_amount") for o in orders), Decimal(0)).quantize(CENT)


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stats(capsys, *extra) -> dict:
    code, out, err = run(capsys, "--workspace", "acme", "stats", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


# guanxi stats -------------------------------------------------------------------------------------------------


def test_the_samples_are_one_store_per_currency(stores):
    taobao, shopify = stores
    assert set(Order.objects.filter(store=taobao).values_list("currency", flat=True)) == {"CNY"}
    assert set(Order.objects.filter(store=shopify).values_list("currency", flat=True)) == {"USD"}


def test_without_a_rate_stats_name_the_currency_and_add_nothing_across_currencies(stores, capsys):
    figures = stats(capsys)
    assert figures["currency"] == "CNY"
    assert figures["paid_revenue"] is None and figures["refunds"] is None
    assert figures["missing_rates"] == ["USD"]
    for code in ("CNY", "USD"):
        orders = list(Order.objects.filter(currency=code))
        paid, refunds = sums(orders)
        assert figures["by_currency"][code] == {
            "orders": len(orders), "paid_orders": sum(o.status in PAID_STATUSES for o in orders),
            "paid_revenue": str(paid), "refunds": str(refunds)}
    assert figures["orders"] == Order.objects.count()
    assert figures["customers"] == 24


def test_with_rates_stats_convert_each_order_at_the_rate_of_its_day(stores, capsys):
    code, out, err = run(capsys, "--workspace", "acme", "rates", "set", "USD", "7", "--json")
    assert code == 0, err
    assert json.loads(out) == {"currency": "USD", "rate": "7", "on": None, "reporting_currency": "CNY",
                               "workspace": "acme"}
    code, out, err = run(capsys, "--workspace", "acme", "rates", "set", "USD", "8", "--on", "2024-06-01", "--json")
    assert code == 0 and json.loads(out)["on"] == "2024-06-01"
    figures = stats(capsys)
    paid, refunds = sums(Order.objects.all(), in_yuan)
    assert (figures["paid_revenue"], figures["refunds"], figures["missing_rates"]) == (str(paid), str(refunds), [])
    # The change on the day matters: at 7 throughout the sum would differ.
    flat = sums(Order.objects.all(), lambda o, f: getattr(o, f) * (7 if o.currency == "USD" else 1))[0]
    assert flat != paid


def test_a_rate_from_a_day_on_leaves_the_earlier_orders_missing(stores, capsys):
    exchange_rate_set(workspace=stores[0].workspace, currency="USD", rate="8", on=CHANGE)
    figures = stats(capsys)
    assert figures["paid_revenue"] is None and figures["missing_rates"] == ["USD"]


def test_one_store_is_counted_in_its_own_currency(stores, capsys):
    set_rates(stores[0].workspace)
    figures = stats(capsys, "--store", "SH")
    paid, refunds = sums(Order.objects.filter(store=stores[1]))
    assert (figures["currency"], figures["paid_revenue"], figures["refunds"]) == ("USD", str(paid), str(refunds))
    assert list(figures["by_currency"]) == ["USD"] and figures["missing_rates"] == []


def test_the_readable_stats_show_each_currency(stores, capsys):
    code, out, _ = run(capsys, "--workspace", "acme", "stats")
    assert code == 0 and "missing rates" in out and "USD" in out and "CNY" in out


# rates set, workspace create --currency ------------------------------------------------------------------------


@pytest.mark.parametrize("argv, fragment", [
    (["rates", "set", "US", "7"], "currency"),
    (["rates", "set", "USD", "0"], "rate"),
    (["rates", "set", "USD", "seven"], "rate"),
    (["rates", "set", "USD", "7", "--on", "2024-02-30"], "--on"),
    (["rates", "set", "CNY", "1"], "reporting currency"),
])
def test_rates_set_refuses_bad_input_and_changes_nothing(workspace, capsys, argv, fragment):
    code, out, err = run(capsys, "--workspace", "acme", *argv, "--json")
    assert code == 2 and out == "" and fragment in err
    assert not ExchangeRate.objects.exists()


def test_setting_a_rate_for_the_same_day_again_replaces_it(workspace):
    exchange_rate_set(workspace=workspace, currency="usd", rate="7", on=CHANGE)
    exchange_rate_set(workspace=workspace, currency="USD", rate="7.25", on=CHANGE)
    assert list(ExchangeRate.objects.values_list("currency", "rate", "valid_from")) == [
        ("USD", Decimal("7.25"), CHANGE)]


def test_a_rate_belongs_to_its_workspace(workspace, other_workspace):
    exchange_rate_set(workspace=other_workspace, currency="USD", rate="9")
    assert not ExchangeRate.objects.exists()  # acme is the active workspace


def test_workspace_create_takes_a_reporting_currency(db, capsys):
    code, out, _ = run(capsys, "workspace", "create", "us-shop", "--currency", "usd")
    assert code == 0 and "USD" in out
    assert Workspace.objects.get(slug="us-shop").currency == "USD"
    code, _, err = run(capsys, "workspace", "create", "bad", "--currency", "dollars")
    assert code == 2 and "currency" in err and not Workspace.objects.filter(slug="bad").exists()
    run(capsys, "workspace", "create", "cn-shop")
    assert Workspace.objects.get(slug="cn-shop").currency == "CNY"


# Segment facts, rules, the 360 figures, insight KPIs -----------------------------------------------------------


def _customers_by_hand(convert) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for order in Order.objects.filter(status__in=PAID_STATUSES):
        totals[order.customer_id] = totals.get(order.customer_id, Decimal(0)) + convert(order, "paid_amount")
    return totals


def test_segment_totals_and_a_money_rule_convert_at_each_orders_day(stores):
    set_rates(stores[0].workspace)
    facts_rebuild()
    expected = _customers_by_hand(in_yuan)
    stored = dict(CustomerFacts.objects.values_list("customer_id", "total_paid"))
    assert {k: v.quantize(CENT) for k, v in stored.items() if k in expected} == {
        k: v.quantize(CENT) for k, v in expected.items()}
    rule = {"all": [{"field": "total_paid", "op": ">=", "value": 500}]}
    assert set(compile_matches(rule).values_list("pk", flat=True)) == {k for k, v in expected.items() if v >= 500}
    # The dollar buyers are in it only because their dollars were converted.
    usd_buyers = set(Order.objects.filter(currency="USD").values_list("customer_id", flat=True))
    assert usd_buyers & set(compile_matches(rule).values_list("pk", flat=True))


def test_without_a_rate_segment_totals_leave_the_dollars_out(stores):
    facts_rebuild()
    expected = _customers_by_hand(lambda o, f: getattr(o, f) if o.currency == "CNY" else Decimal(0))
    stored = dict(CustomerFacts.objects.values_list("customer_id", "total_paid"))
    assert {k: stored[k].quantize(CENT) for k in expected} == {k: v.quantize(CENT) for k, v in expected.items()}


def test_the_360_figures_are_converted_or_name_the_missing_currency(stores):
    usd_customer = Order.objects.filter(currency="USD", status__in=PAID_STATUSES).first().customer
    kpis = customer_kpis(usd_customer)
    assert kpis.missing_rates == ("USD",) and kpis.total_paid == 0 and kpis.currency == "CNY"
    set_rates(stores[0].workspace)
    kpis = customer_kpis(usd_customer)
    orders = list(Order.objects.filter(customer=usd_customer))
    assert kpis.missing_rates == () and kpis.total_paid == sums(orders, in_yuan)[0]


def test_insight_kpis_convert_and_name_what_they_leave_out(stores):
    start, end = dt.date(2020, 1, 1), dt.date(2026, 1, 1)
    without = range_kpis(start=start, end=end)
    paid, refunds = sums(Order.objects.filter(currency="CNY"))
    assert without["missing_rates"] == ["USD"] and without["currency"] == "CNY"
    assert round(without["revenue"], 2) == float(paid - refunds)  # revenue is net of refunds
    set_rates(stores[0].workspace)
    converted = range_kpis(start=start, end=end)
    assert converted["missing_rates"] == []
    paid, refunds = sums(Order.objects.filter(status__in=PAID_STATUSES), in_yuan)
    assert round(converted["revenue"], 2) == float(paid - refunds)


# The money filter ------------------------------------------------------------------------------------------------


def test_money_is_written_with_its_currency_for_the_language():
    with translation.override("en"):
        assert money(Decimal("1234.5"), "USD") == "$1,234.50"
        assert money(Decimal("1234.5"), "CNY") == "¥1,234.50"
        assert money(Decimal("-3"), "EUR") == "-€3.00"
        assert money(Decimal("1000000"), "SEK") == "SEK 1,000,000.00"
        assert money(None, "USD") == "—"
    with translation.override("zh-hans"):
        assert money(Decimal("1234.5"), "USD") == "US$1,234.50"
        assert money("1234.5", "CNY") == "¥1,234.50"


# A store made by the import ---------------------------------------------------------------------------------------


def test_a_store_made_by_the_import_takes_the_exports_currency(workspace, capsys, tmp_path):
    us = workspace_create_via_cli(capsys, "us", "USD")
    code, _, err = run(capsys, "import", "orders", str(SAMPLES / "taobao" / "ExportOrderList_sample.csv"),
                       "--store", "TB", "--platform", "taobao", "--workspace", "us", "--json")
    assert code == 0, err
    header, *rows = (SAMPLES / "shopify" / "orders_export_sample.csv").read_text().splitlines()
    euro = tmp_path / "eu.csv"
    euro.write_text("\n".join([header, *(row.replace(",USD,", ",EUR,") for row in rows)]) + "\n")
    code, _, err = run(capsys, "import", "orders", str(euro), "--store", "EU", "--platform", "shopify",
                       "--workspace", "us", "--json")
    assert code == 0, err
    with tenancy.active(us):
        assert dict(Store.objects.values_list("name", "currency")) == {"TB": "CNY", "EU": "EUR"}
        assert set(Order.objects.filter(store__name="EU").values_list("currency", flat=True)) == {"EUR"}


def workspace_create_via_cli(capsys, slug: str, currency: str) -> Workspace:
    code, _, err = run(capsys, "workspace", "create", slug, "--currency", currency)
    assert code == 0, err
    return Workspace.objects.get(slug=slug)


def test_a_segment_export_says_the_currency_of_its_converted_totals(stores, tmp_path):
    import csv

    from guanxi.segments.export import export_segment
    from guanxi.segments.services import segment_create

    set_rates(stores[0].workspace)
    facts_rebuild()
    usd_buyers = set(Order.objects.filter(currency="USD", status__in=PAID_STATUSES).values_list("customer_id",
                                                                                                 flat=True))
    segment = segment_create(name="dollar buyers", rules={"all": [{"field": "store", "op": "=", "value": "SH"}]})
    path = tmp_path / "members.csv"
    export_segment(segment, fmt="csv", path=path, see_contact=True)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {int(row["Customer ID"]) for row in rows} >= usd_buyers and {row["Currency"] for row in rows} == {"CNY"}
    expected = _customers_by_hand(in_yuan)
    for row in rows:
        assert Decimal(row["Total paid"]) == expected.get(int(row["Customer ID"]), Decimal(0)).quantize(CENT)

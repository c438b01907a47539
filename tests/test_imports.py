"""Order import: each sample's facts computed here from the file with the csv module, then compared with what the
importer stored; idempotence, overlap, changed status, atomic failures, cross-store matching, the CLI."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from guanxi.activities.models import Interaction
from guanxi.cli import main
from guanxi.commerce.models import Order, OrderLine, Shipment
from guanxi.commerce.selectors import order_stats
from guanxi.customers.models import Customer, Identity
from guanxi.imports.services import ImportFailed, orders_import
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create

DATA = Path(__file__).parent / "data" / "imports"
TAOBAO = DATA / "ExportOrderList_sample.csv"
TAOBAO_ITEMS = DATA / "ExportOrderDetailList_sample.csv"
SHOPIFY = DATA / "orders_export_sample.csv"
CDNOW = DATA / "CDNOW_sample.txt"
TAOBAO_PAID = {"交易成功", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认"}


def _facts(customers, orders, paid, revenue, refunds):
    cent = Decimal("0.01")
    return {"customers": customers, "orders": orders, "paid_orders": paid,
            "paid_revenue": Decimal(revenue).quantize(cent), "refunds": Decimal(refunds).quantize(cent)}


def stats(*, store):
    """order_stats with money to the cent (SQLite sums decimals as floats)."""
    figures = order_stats(store=store)
    for key in ("paid_revenue", "refunds"):
        figures[key] = Decimal(figures[key]).quantize(Decimal("0.01"))
    return figures


def taobao_facts(path=TAOBAO, encoding="gb18030"):
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.DictReader(handle))
    paid = [r for r in rows if r["订单状态"] in TAOBAO_PAID]
    return _facts(len({r["买家会员名"] for r in rows}), len({r["订单编号"].strip('="') for r in rows}), len(paid),
                  sum(Decimal(r["买家实际支付金额"]) for r in paid), sum(Decimal(r["退款金额"]) for r in rows))


def shopify_facts():
    with open(SHOPIFY, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    firsts = {}
    for r in rows:
        firsts.setdefault(r["Name"], r)
    paid = [r for r in firsts.values() if r["Financial Status"] in ("paid", "partially_refunded", "refunded")]
    buyers = {r["Email"].lower() or r["Billing Phone"] or r["Billing Name"] for r in firsts.values()}
    return _facts(len(buyers), len(firsts), len(paid), sum(Decimal(r["Total"]) for r in paid),
                  sum(Decimal(r["Refunded Amount"] or "0") for r in firsts.values()))


def cdnow_facts():
    lines = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    total = sum(Decimal(parts[-1]) for parts in lines)
    return _facts(len({parts[0] for parts in lines}), len(lines), len(lines), total, "0")


@pytest.fixture
def shopify_store(workspace):
    return store_create(workspace=workspace, name="Acme Shopify", platform=Platform.SHOPIFY, currency="USD")


def snapshot():
    return (Customer.objects.count(), Order.objects.count(), OrderLine.objects.count(), Identity.objects.count(),
            Shipment.objects.count(), Interaction.objects.count(),
            list(Order.objects.order_by("id").values_list("status", "paid_amount", "refunded_amount")))


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


# Samples ------------------------------------------------------------------------------------------------------


def test_taobao_sample_produces_the_facts_of_the_file(workspace, store):
    result = orders_import(workspace=workspace, store=store, path=TAOBAO, items_path=TAOBAO_ITEMS)
    assert result.format == "taobao"
    figures = stats(store=store)
    assert figures == taobao_facts()
    assert result.orders_created == figures["orders"] and result.customers_created == figures["customers"]


def test_taobao_sample_keeps_lines_shipments_message_and_postal_code(workspace, store):
    orders_import(workspace=workspace, store=store, path=TAOBAO, items_path=TAOBAO_ITEMS)
    order = Order.objects.get(number="1930679858178984")
    assert order.buyer_message == "送人的,请不要放发票\n谢谢"
    assert order.receiver_address == "浙江省 杭州市 西湖区 文三路103号, 23幢1531室"
    assert [(line.title, line.quantity) for line in order.lines.all()] == [
        ("儿童运动鞋 魔术贴", 1), ("情侣款 休闲板鞋 春季新款", 2), ("儿童运动鞋 魔术贴", 1)]
    assert order.shipments.get().tracking_number == "YT627757621567"
    # The apostrophe-marked phone and the plain one are the same identity.
    customer = Order.objects.get(number="1930679858179245").customer
    assert customer.identities.filter(kind="phone", value="+8617680909150").exists()


def test_shopify_sample_produces_the_facts_of_the_file(workspace, shopify_store):
    result = orders_import(workspace=workspace, store=shopify_store, path=SHOPIFY)
    assert result.format == "shopify"
    assert stats(store=shopify_store) == shopify_facts()
    order = Order.objects.get(number="#1003")
    assert order.lines.count() == 3


def test_cdnow_sample_produces_the_facts_of_the_file(workspace):
    cdnow = store_create(workspace=workspace, name="CDNOW", platform=Platform.OWN_SITE, currency="USD")
    result = orders_import(workspace=workspace, store=cdnow, path=CDNOW)
    assert result.format == "cdnow"
    assert stats(store=cdnow) == cdnow_facts()


def test_cdnow_master_layout_is_detected(workspace, tmp_path):
    cdnow = store_create(workspace=workspace, name="CDNOW", platform=Platform.OWN_SITE, currency="USD")
    path = write(tmp_path, "CDNOW_master.txt", " customer_id  date number_of_cds  dollar_value\n"
                 " 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n")
    result = orders_import(workspace=workspace, store=cdnow, path=path)
    assert (result.format, result.orders_created, result.customers_created) == ("cdnow", 3, 2)


# Idempotence ---------------------------------------------------------------------------------------------------


def test_reimporting_the_same_export_changes_nothing(workspace, store):
    orders_import(workspace=workspace, store=store, path=TAOBAO, items_path=TAOBAO_ITEMS)
    before = snapshot()
    result = orders_import(workspace=workspace, store=store, path=TAOBAO, items_path=TAOBAO_ITEMS)
    assert snapshot() == before
    assert (result.orders_created, result.orders_updated, result.customers_created) == (0, 0, 0)
    assert result.orders_unchanged == before[1]
    assert result.customers_matched == taobao_facts()["customers"]


def _taobao_text():
    return TAOBAO.read_bytes().decode("gb18030")


def _records(text):
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


def _csv(header, rows):
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue()


def test_an_overlapping_export_adds_only_the_new_orders(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    first = write(tmp_path, "a.csv", _csv(header, rows[:40]), "gbk")
    second = write(tmp_path, "b.csv", _csv(header, rows[20:]), "gbk")
    orders_import(workspace=workspace, store=store, path=first)
    result = orders_import(workspace=workspace, store=store, path=second)
    assert (result.orders_created, result.orders_unchanged, result.orders_updated) == (len(rows) - 40, 20, 0)
    assert stats(store=store) == taobao_facts()


def test_a_changed_status_and_refund_update_the_order_with_a_timeline_record(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    status, refund = header.index("订单状态"), header.index("退款金额")
    shipped = next(r for r in rows if r[status] == "买家已付款，等待卖家发货")
    orders_import(workspace=workspace, store=store, path=write(tmp_path, "a.csv", _csv(header, rows), "gbk"))
    shipped[status], shipped[refund] = "交易成功", "10.00"
    result = orders_import(workspace=workspace, store=store, path=write(tmp_path, "b.csv", _csv(header, rows)))
    assert (result.orders_updated, result.orders_created) == (1, 0)
    order = Order.objects.get(number=shipped[0].strip('="'))
    assert (order.status, order.refunded_amount) == ("completed", Decimal("10.00"))
    note = Interaction.objects.get(customer=order.customer)
    assert order.number in note.summary and "paid → completed" in note.body and note.author is None


# Matching ------------------------------------------------------------------------------------------------------


def test_a_buyer_known_in_another_store_by_phone_is_matched_not_duplicated(workspace, store, tmp_path):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    customers = Customer.objects.count()
    other = store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE)
    path = write(tmp_path, "g.csv", "order_number,created,amount,status,customer_id,customer_name,phone\n"
                 "W-1,2024/3/5 10:23,99.00,paid,c1,廖娜,+86 157 8547 5689\n"
                 "W-2,2024-03-06 10:00:00,10.00,pending_payment,c2,新客,\n")
    result = orders_import(workspace=workspace, store=other, path=path)
    assert (result.format, result.customers_matched, result.customers_created) == ("generic", 1, 1)
    assert Customer.objects.count() == customers + 1
    assert Order.objects.get(number="W-1").customer == Order.objects.get(number="1930679858178984").customer


def test_a_masked_phone_is_kept_for_display_and_never_an_identity(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    phone, nick, alipay = header.index("联系手机"), header.index("买家会员名"), header.index("买家支付宝账号")
    a, b = list(rows[0]), list(rows[1])
    a[0], b[0] = "X1", "X2"
    a[phone] = b[phone] = "138****5678"
    a[nick], b[nick] = "nick-a", "nick-b"
    a[alipay] = b[alipay] = ""
    orders_import(workspace=workspace, store=store, path=write(tmp_path, "m.csv", _csv(header, [a, b])))
    assert Customer.objects.count() == 2
    assert not Identity.objects.filter(value__contains="*").exists()
    assert Order.objects.get(number="X1").customer.display_phone == "138****5678"


# Tricky files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_every_encoding_reads_the_same(workspace, store, tmp_path, encoding):
    path = write(tmp_path, "t.csv", _taobao_text(), encoding)
    orders_import(workspace=workspace, store=store, path=path)
    assert stats(store=store) == taobao_facts()


def test_slash_dates_without_seconds_are_read(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    rows[0][header.index("订单创建时间")] = "2023/7/12 10:23"
    orders_import(workspace=workspace, store=store, path=write(tmp_path, "d.csv", _csv(header, rows[:1])))
    placed = Order.objects.get().placed_at.astimezone(workspace_tz(workspace))
    assert (placed.year, placed.month, placed.day, placed.hour, placed.minute) == (2023, 7, 12, 10, 23)


def workspace_tz(workspace):
    import zoneinfo

    return zoneinfo.ZoneInfo(workspace.time_zone)


# Malformed files: nothing written, a precise message -----------------------------------------------------------


def _malformed(tmp_path):
    header, rows = _records(_taobao_text())
    amount, created = header.index("买家实际支付金额"), header.index("订单创建时间")
    bad_amount = [list(r) for r in rows[:5]]
    bad_amount[3][amount] = "12,3x"
    bad_date = [list(r) for r in rows[:5]]
    bad_date[2][created] = "2023-13-45 99:00"
    missing = [h for h in header if h != "订单状态"]
    return {
        "missing column": (_csv(missing, [r[:header.index("订单状态")] + r[header.index("订单状态") + 1:]
                                          for r in rows[:3]]), 1, "订单状态", "missing"),
        "bad amount": (_csv(header, bad_amount), 3, "买家实际支付金额", "not an amount"),
        "bad date": (_csv(header, bad_date), None, "订单创建时间", "not a valid date"),
        "broken quoting": (",".join(header) + '\n1,"unterminated,\n', 2, "", "quoting"),
        "wrong format": ("Name,Email,Financial Status,Lineitem name,Total,Created at\n", 1, "", "shopify"),
        "empty": ("", 1, "", "empty"),
        "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "", "binary"),
        "unknown header": ("a,b,c\n1,2,3\n", 1, "", "unrecognised header"),
    }


@pytest.mark.parametrize("case", ["missing column", "bad amount", "bad date", "broken quoting", "wrong format",
                                  "empty", "binary", "unknown header"])
def test_a_malformed_file_leaves_the_database_unchanged_with_a_precise_message(workspace, store, tmp_path, case):
    orders_import(workspace=workspace, store=store, path=CDNOW_store_sample(workspace, tmp_path))
    before = snapshot()
    text, line, column, words = _malformed(tmp_path)[case]
    path = write(tmp_path, "bad.csv", text, "gbk" if isinstance(text, str) else None)
    with pytest.raises(ImportFailed) as failed:
        orders_import(workspace=workspace, store=store, path=path, fmt="taobao" if case == "wrong format" else None)
    error = failed.value.error
    assert snapshot() == before
    assert error.path == str(path) and words in error.message and error.column == column
    if case == "bad amount":  # the 4th record; the first holds a two-line message
        assert error.line == _line_of(path, line, encoding="gbk") == 6
    elif line is not None:
        assert error.line == line
    assert str(path) in str(error)


def CDNOW_store_sample(workspace, tmp_path):
    # Some existing data, so "unchanged" means something: a generic file into the same store.
    return write(tmp_path, "seed.csv", "order_number,created,amount,status,customer_id\nS-1,2024-01-01,5,paid,z\n")


def test_a_bad_date_error_names_the_line_of_a_multiline_record(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    rows = [list(r) for r in rows[:3]]
    rows[0][header.index("买家留言")] = "两行\n留言"
    rows[1][header.index("订单创建时间")] = "yesterday"
    with pytest.raises(ImportFailed) as failed:
        orders_import(workspace=workspace, store=store, path=write(tmp_path, "x.csv", _csv(header, rows)))
    assert (failed.value.error.line, failed.value.error.column) == (4, "订单创建时间")


def test_a_wrong_encoding_is_refused_without_writing(workspace, store, tmp_path):
    good = _taobao_text().encode("utf-8")
    path = write(tmp_path, "mixed.csv", good + "\n1,坏".encode("gbk") + b"\xff\xfe\n")
    with pytest.raises(ImportFailed) as failed:
        orders_import(workspace=workspace, store=store, path=path)
    assert "encoding" in failed.value.error.message
    assert Order.objects.count() == 0 and Customer.objects.count() == 0


def test_skip_imports_the_good_rows_and_writes_neutralised_rejects(workspace, store, tmp_path):
    header, rows = _records(_taobao_text())
    rows = [list(r) for r in rows[:6]]
    rows[2][header.index("买家实际支付金额")] = "=HYPERLINK(\"x\")"
    path = write(tmp_path, "s.csv", _csv(header, rows))
    result = orders_import(workspace=workspace, store=store, path=path, on_error="skip")
    assert (result.orders_created, len(result.errors)) == (5, 1)
    assert result.errors[0]["line"] == _line_of(path, 2) and result.errors[0]["column"] == "买家实际支付金额"
    with open(result.rejects_path, encoding="utf-8-sig", newline="") as handle:
        rejects = list(csv.reader(handle))
    assert len(rejects) == 2
    assert not any(cell[:1] in "=+-@" and cell for cell in rejects[1])
    assert "'=HYPERLINK(\"x\")" in rejects[1]


def _line_of(path, index, encoding="utf-8"):
    """The physical line where record `index` (0-based, after the header) starts, counted with csv."""
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == index:
                return start
            start = reader.line_num + 1


def test_dry_run_counts_but_writes_nothing(workspace, store):
    before = snapshot()
    result = orders_import(workspace=workspace, store=store, path=TAOBAO, dry_run=True)
    assert result.orders_created == taobao_facts()["orders"]
    assert snapshot() == before


# CLI -------------------------------------------------------------------------------------------------------------


def test_cli_json_creates_the_store_and_prints_the_summary(workspace, capsys):
    code = main(["import", "orders", str(SHOPIFY), "--store", "New Shopify", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(out) == ["format", "rows", "orders_created", "orders_updated", "orders_unchanged",
                         "customers_created", "customers_matched", "errors", "warnings", "import_id"]
    facts = shopify_facts()
    assert (out["format"], out["orders_created"], out["customers_created"], out["errors"]) == (
        "shopify", facts["orders"], facts["customers"], [])
    from guanxi.workspaces.models import Store

    assert Store.objects.get(name="New Shopify").platform == "shopify"


def test_cli_says_which_format_was_detected(workspace, store, capsys):
    assert main(["import", "orders", str(TAOBAO), "--items", str(TAOBAO_ITEMS), "--store", store.name]) == 0
    assert "Detected format: taobao" in capsys.readouterr().out


def test_cli_bad_file_exits_1_with_file_line_column(workspace, store, capsys, tmp_path):
    header, rows = _records(_taobao_text())
    rows[0][header.index("退款金额")] = "abc"
    path = write(tmp_path, "bad.csv", _csv(header, rows[:2]))
    code = main(["import", "orders", str(path), "--store", store.name, "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["errors"] == [{"line": 2, "column": "退款金额", "message": "“abc” is not an amount"}]
    assert f"{path}, line 2, column 退款金额" in captured.err
    assert Order.objects.count() == 0


# Generic XLSX, column mapping, consent -------------------------------------------------------------------------


def test_a_generic_xlsx_with_a_column_mapping_is_read(workspace, tmp_path):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["订单号", "下单时间", "金额", "状态", "客户", "手机"])
    sheet.append(["X-1", dt.datetime(2024, 5, 1, 9, 30), 120.5, "completed", "王芳", "'13812345678"])
    sheet.append(["X-2", "2024/5/2 10:00", "80", "closed", "王芳", "138 1234 5678"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    own = store_create(workspace=workspace, name="Own", platform=Platform.OWN_SITE)
    mapping = {"订单号": "order_number", "下单时间": "created", "金额": "amount", "状态": "status",
               "客户": "customer_name", "手机": "phone"}
    result = orders_import(workspace=workspace, store=own, path=path, column_map=mapping)
    assert (result.format, result.orders_created, result.customers_created) == ("generic", 2, 1)
    assert stats(store=own) == _facts(1, 2, 1, "120.50", "0")


def test_shopify_accepts_marketing_sets_the_email_consent(workspace, shopify_store):
    orders_import(workspace=workspace, store=shopify_store, path=SHOPIFY)
    with open(SHOPIFY, encoding="utf-8", newline="") as handle:
        first = next(r for r in csv.DictReader(handle) if r["Accepts Marketing"])
    customer = Identity.objects.get(kind="email", value=first["Email"].lower()).customer
    assert customer.consents.get(channel="email").granted == (first["Accepts Marketing"] == "yes")


def test_cli_dry_run_into_a_new_store_creates_nothing(workspace, capsys):
    from guanxi.workspaces.models import Store

    code = main(["import", "orders", str(CDNOW), "--store", "Nowhere", "--dry-run", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["format"] == "cdnow" and out["orders_created"] == cdnow_facts()["orders"]
    assert not Store.objects.filter(name="Nowhere").exists() and Order.objects.count() == 0


def test_cli_skip_writes_the_reject_file(workspace, store, capsys, tmp_path):
    header, rows = _records(_taobao_text())
    rows[1][header.index("订单状态")] = "@SUM(1)"
    path = write(tmp_path, "s.csv", _csv(header, rows[:3]))
    rejects = tmp_path / "rejects.csv"
    code = main(["import", "orders", str(path), "--store", store.name, "--on-error", "skip", "--rejects",
                 str(rejects), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["orders_created"] == 2 and out["errors"][0]["column"] == "订单状态"
    text = rejects.read_text(encoding="utf-8-sig")
    assert "'@SUM(1)" in text


def test_the_guanxi_command_imports_without_django_set_up(tmp_path):
    """`guanxi` builds its parser before Django starts: the import wiring must not load models at import time."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", "import guanxi.cli; guanxi.cli._parser().parse_args("
                           "['import', 'orders', 'x.csv', '--store', 'S', '--format', 'cdnow'])"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_same_buyers_in_a_second_taobao_store_are_matched_by_nick_phone_or_alipay(workspace, store):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    customers = Customer.objects.count()
    tmall = store_create(workspace=workspace, name="Acme Tmall", platform=Platform.TMALL)
    result = orders_import(workspace=workspace, store=tmall, path=TAOBAO)
    facts = taobao_facts()
    assert (result.customers_created, result.customers_matched, result.orders_created) == (
        0, facts["customers"], facts["orders"])
    assert Customer.objects.count() == customers
    assert Order.objects.get(store=tmall, number="1930679858178984").customer == Order.objects.get(
        store=store, number="1930679858178984").customer


def test_every_buyer_becomes_a_potential_customer_even_without_a_paid_order(workspace, store):
    orders_import(workspace=workspace, store=store, path=TAOBAO)
    with open(TAOBAO, encoding="gb18030", newline="") as handle:
        rows = list(csv.DictReader(handle))
    unpaid_only = {r["买家会员名"] for r in rows} - {r["买家会员名"] for r in rows if r["订单状态"] in TAOBAO_PAID}
    assert unpaid_only  # the sample has a buyer whose only order was closed
    for nick in unpaid_only:
        assert Identity.objects.get(kind="buyer_nick", value=nick).customer.lifecycle_stage == "potential"
    assert Customer.objects.count() == len({r["买家会员名"] for r in rows})


def test_shopify_tags_become_the_buyers_tags_once(workspace, shopify_store):
    from guanxi.customers.models import CustomerTag

    with open(SHOPIFY, encoding="utf-8", newline="") as handle:
        firsts = {}
        for r in csv.DictReader(handle):
            firsts.setdefault(r["Name"], r)
    expected = {(r["Email"].lower(), tag.strip()) for r in firsts.values() for tag in r["Tags"].split(",")
                if tag.strip()}
    assert expected
    orders_import(workspace=workspace, store=shopify_store, path=SHOPIFY)
    orders_import(workspace=workspace, store=shopify_store, path=SHOPIFY)
    stored = {(ct.customer.identities.get(kind="email").value, ct.tag.name)
              for ct in CustomerTag.objects.select_related("customer", "tag")}
    assert stored == expected


def test_cli_a_file_that_cannot_be_opened_exits_1_and_writes_nothing(workspace, store, capsys, tmp_path):
    path = write(tmp_path, "empty.csv", "")
    code = main(["import", "orders", str(path), "--store", store.name, "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["errors"] == [{"line": 1, "column": "", "message": "the file is empty"}]
    assert f"{path}, line 1" in captured.err and "Nothing was imported." in captured.err
    assert Order.objects.count() == 0 and Customer.objects.count() == 0

"""The columnar fast path (guanxi.imports.columnar) against the exact per-row path: the same files into two
workspaces, one with the fast path and one without, must give the same database contents and the same summary;
files with cells only the exact reader may read must not take the fast path at all."""

import csv
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.core.validators import validate_email

from guanxi.commerce.models import Order
from guanxi.customers.identity import normalize_email
from guanxi.customers.models import Customer, Identity
from guanxi.imports import buyer_keys, columnar, services
from guanxi.imports.services import orders_import
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create, workspace_create

TAOBAO = Path(__file__).parent / "data" / "imports" / "ExportOrderList_sample.csv"
ORDER_FIELDS = ("number", "status", "currency", "goods_amount", "shipping_amount", "discount_amount", "paid_amount",
                "refunded_amount", "placed_at", "paid_at", "shipped_at", "completed_at", "closed_at",
                "receiver_name", "receiver_phone", "receiver_address", "buyer_message", "country", "province", "city",
                "district", "postcode")


def _taobao_records():
    with open(TAOBAO, encoding="gb18030", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(tmp_path, name, header, rows, encoding="gb18030"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding=encoding, newline="")
    return path


def _contents(workspace):
    """Everything an import wrote into `workspace`, without ids: customers by their identities, and each order
    with its buyer's identities and its shipments."""
    with tenancy.active(workspace):
        identities = {}
        for customer_id, kind, value, tail, store_id in Identity.objects.values_list(
                "customer_id", "kind", "value", "tail", "store_id"):
            identities.setdefault(customer_id, set()).add((kind, value, tail, store_id is not None))
        buyer = {pk: frozenset(keys) for pk, keys in identities.items()}
        customers = sorted((buyer.get(c.pk, frozenset()), c.name, c.name_key, c.display_phone, c.address, c.country,
                            c.province, c.city, c.district, c.postcode, c.lifecycle_stage)
                           for c in Customer.objects.all())
        orders = sorted(
            (tuple(getattr(o, field) for field in ORDER_FIELDS), buyer.get(o.customer_id),
             sorted((s.carrier, s.tracking_number, s.status, s.shipped_at, s.delivered_at) for s in o.shipments.all()),
             sorted((line.title, line.quantity, line.unit_price, line.amount) for line in o.lines.all()))
            for o in Order.objects.prefetch_related("shipments", "lines"))
    return customers, orders


@pytest.fixture
def twin(db):
    """A second workspace like the `workspace` fixture's, for the exact path's copy."""
    return workspace_create(slug="twin", name="Twin", time_zone="Asia/Shanghai")


@pytest.fixture
def fast_batches(monkeypatch):
    """Counts the batches the fast path wrote."""
    written = []
    original = services._Engine.fast_chunk

    def counted(engine, batch):
        done = original(engine, batch)
        written.append(done)
        return done

    monkeypatch.setattr(services._Engine, "fast_chunk", counted)
    return written


@pytest.fixture
def parsed_as(monkeypatch):
    """How each batch was read: "text" (Polars' CSV reader), "unreadable" (a text chunk handed back to be read
    record by record), "records" (the csv module's records); with "-unfit" for a batch left to the exact path."""
    seen = []
    for name, label in (("parse_text", "text"), ("parse", "records")):
        def parse(plan, item, original=getattr(columnar.Plan, name), label=label):
            batch = original(plan, item)
            seen.append("unreadable" if batch is columnar.UNREADABLE else label + ("-unfit" if batch is None else ""))
            return batch

        monkeypatch.setattr(columnar.Plan, name, parse)
    return seen


def _both_ways(monkeypatch, workspace, twin, path, *, fmt="taobao", platform=Platform.TAOBAO, imports=1):
    """Import `path` (`imports` times) with the fast path into `workspace` and without it into `twin`; return
    both outcomes (the last summary, or the failure's message and summary) and both workspaces' contents."""
    outcomes = []
    for target, fast in ((workspace, True), (twin, False)):
        with tenancy.active(target), monkeypatch.context() as patch:
            if not fast:
                patch.setattr(columnar, "plan_for", lambda opened, store_id: None)
            store = store_create(workspace=target, name="Shop", platform=platform, currency="CNY")
            try:
                for _ in range(imports):
                    outcome = orders_import(workspace=target, store=store, path=path, fmt=fmt).as_json()
            except services.ImportFailed as failed:
                outcome = (str(failed), failed.result.as_json())
            outcomes.append(outcome)
    return outcomes, _contents(workspace), _contents(twin)


def test_the_taobao_sample_takes_the_fast_path_and_stores_what_the_exact_path_stores(
        monkeypatch, workspace, twin, fast_batches, parsed_as):
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, TAOBAO)
    assert fast_batches == [True] and parsed_as == ["text"]
    assert fast == exact
    assert fast_rows == exact_rows
    assert len(fast_rows[1]) == fast["orders_created"] > 0


def test_batches_and_chunks_smaller_than_the_file_give_the_same_contents(monkeypatch, workspace, twin, fast_batches,
                                                                         parsed_as):
    monkeypatch.setattr(columnar, "BATCH_LINES", 8)
    monkeypatch.setattr(services, "CHUNK", 4)
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, TAOBAO)
    assert len(fast_batches) > 3 and all(fast_batches) and set(parsed_as) == {"text"}
    assert (fast, fast_rows) == (exact, exact_rows)


def _tricky(header, rows):
    """Cells the fast path reads itself although they are not in their plainest form."""
    col = header.index
    rows[0][col("买家实际支付金额")] = "129"
    rows[1][col("买家实际支付金额")] = "129.5"
    rows[2][col("买家应付邮费")] = ""
    rows[3][col("订单编号")] = "  " + rows[3][col("订单编号")] + " "
    rows[4][col("联系手机")] = " '138 1234 5678"
    rows[5][col("订单创建时间")] = "2023/7/2 9:05"
    rows[6][col("订单创建时间")] = "1988-06-01 10:00:00"  # China kept summer time then: UTC+9
    rows[7][col("收货地址")] = "浙江省 杭州市 西湖区 文三路1号（310000） "
    rows[8][col("收货地址")] = "浙江省 杭州市 西湖区 文三路2号(３１００００)"
    rows[9][col("联系手机")] = "138****5678"
    rows[10][col("买家支付宝账号")] = "  Mei.Wang@Example.COM "
    rows[11][col("订单状态")] = " 交易关闭 "
    rows[12][col("买家留言")] = "  请尽快发货\n谢谢  "
    rows[13][col("买家会员名")] = "=SUM(A1)"
    rows[14][col("退款金额")] = "'10.00"
    return rows


def test_tricky_cells_take_the_fast_path_and_store_what_the_exact_path_stores(
        monkeypatch, workspace, twin, fast_batches, parsed_as, tmp_path):
    header, rows = _taobao_records()
    path = _write(tmp_path, "tricky.csv", header, _tricky(header, rows))
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert fast_batches == [True]
    assert parsed_as == ["text"]  # line breaks and quotes in cells, ="…" numbers: all plain enough for Polars
    assert (fast, fast_rows) == (exact, exact_rows)


@pytest.mark.parametrize("column, value", [
    ("收货人姓名", "王\x1c芳"),  # a space to Python, not to Polars
    ("买家实际支付金额", "1,299.00"),
    ("买家实际支付金额", "¥129.00"),
    ("买家实际支付金额", "129.005"),  # rounds: the exact reader's Decimal decides
    ("订单创建时间", "2023-07-12T10:23"),
    ("订单创建时间", "2023-02-30 10:00:00"),
    ("订单创建时间", "0000-01-01 10:00:00"),
    ("订单状态", "已评价"),
])
def test_a_cell_only_the_exact_reader_may_read_sends_the_file_there(
        monkeypatch, workspace, twin, fast_batches, tmp_path, column, value):
    header, rows = _taobao_records()
    rows[5][header.index(column)] = value
    path = _write(tmp_path, "odd.csv", header, rows)
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert fast_batches == []  # the batch was not even parsed into columns
    assert (fast, fast_rows) == (exact, exact_rows)


def test_a_repeated_order_number_is_left_to_the_exact_path(monkeypatch, workspace, twin, fast_batches, tmp_path):
    header, rows = _taobao_records()
    changed = list(rows[0])
    changed[header.index("订单状态")] = "交易关闭"
    path = _write(tmp_path, "repeat.csv", header, [*rows, changed])
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert fast_batches == []
    assert (fast, fast_rows) == (exact, exact_rows)


def test_an_order_repeated_in_a_later_batch_is_updated_as_on_the_exact_path(monkeypatch, workspace, twin,
                                                                             fast_batches, tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 8)
    monkeypatch.setattr(services, "CHUNK", 4)
    header, rows = _taobao_records()
    changed = list(rows[0])
    changed[header.index("订单状态")] = "交易关闭"
    path = _write(tmp_path, "later.csv", header, [*rows, changed])
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert fast_batches[-1] is False and all(fast_batches[:-1])  # the last batch holds an order already written
    assert fast["orders_updated"] == 1
    assert (fast, fast_rows) == (exact, exact_rows)


def test_number_spans_cover_every_number_written_when_merged(workspace, store, monkeypatch):
    from guanxi.imports.lookups import OrderNumberSpans

    monkeypatch.setattr(OrderNumberSpans, "MAX_SPANS", 2)
    spans = OrderNumberSpans(store_id=store.pk)
    assert not spans.may_hold("A", "Z")  # an empty store
    for low, high in [("B1", "B5"), ("D1", "D5"), ("F1", "F5"), ("H1", "H5")]:
        spans.add(low, high)
    assert len(spans.spans) <= 2
    assert all(spans.may_hold(n, n) for n in ("B3", "D1", "F5", "H2"))
    assert not spans.may_hold("I", "Z") and not spans.may_hold("A", "B0")


def test_reimport_and_overlap_go_to_the_exact_path_and_change_nothing(monkeypatch, workspace, twin, fast_batches):
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, TAOBAO, imports=2)
    assert fast_batches == [True, False]  # the first import's batch; the second finds its orders in the store
    assert fast["orders_created"] == 0 and fast["orders_unchanged"] == fast["rows"] > 0
    assert (fast, fast_rows) == (exact, exact_rows)


GENERIC_HEADER = ["order_number", "customer_id", "customer_name", "phone", "email", "created", "paid", "status",
                  "amount", "refunded"]


def _generic_rows():
    rows = []
    for n in range(12):
        status = ["completed", "paid", "closed", "pending_payment"][n % 4]
        rows.append([f"G{n}", f"C{n % 5}", f"买家{n % 5}", f"1390000{n % 5:04d}", f"c{n % 5}@example.com",
                     f"2023-07-{n + 1:02d} 10:00:00", "" if status in ("closed", "pending_payment") else
                     f"2023-07-{n + 1:02d} 10:30:00", status, f"{100 + n}.00", "0.00"])
    return rows


def test_generic_batches_keep_an_orders_consecutive_rows_together(monkeypatch, workspace, twin, fast_batches,
                                                                   parsed_as, tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    rows = _generic_rows()
    repeat = list(rows[3])
    repeat[GENERIC_HEADER.index("status")] = "closed"  # a second row of G3: the generic reader keeps the first
    rows.insert(4, repeat)
    path = _write(tmp_path, "generic.csv", GENERIC_HEADER, rows, encoding="utf-8")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic",
                                                      platform=Platform.OWN_SITE)
    assert fast_batches == []  # G0–G3 plus G3 again: a repeated number, so the batch is not parsed
    # The text chunk would have split G3's rows; read record by record, the batch holds G3 twice.
    assert parsed_as[0] == "unreadable" and "records-unfit" in parsed_as
    assert (fast, fast_rows) == (exact, exact_rows)
    with tenancy.active(workspace):
        assert Order.objects.get(number="G3").status == "pending_payment"  # the first row's, not "closed"


def test_a_generic_file_takes_the_fast_path_in_several_batches(monkeypatch, workspace, twin, fast_batches, tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    path = _write(tmp_path, "generic.csv", GENERIC_HEADER, _generic_rows(), encoding="utf-8")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic",
                                                      platform=Platform.OWN_SITE)
    assert fast_batches == [True, True, True]
    assert (fast, fast_rows) == (exact, exact_rows)
    assert fast["customers_created"] == 5


def test_a_broken_record_after_fast_batches_fails_as_on_the_exact_path(monkeypatch, workspace, twin, fast_batches,
                                                                       tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    path = _write(tmp_path, "generic.csv", GENERIC_HEADER, _generic_rows(), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + 'G99,C1,"unterminated,1390000000,x@y.com\n',
                    encoding="utf-8")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic",
                                                      platform=Platform.OWN_SITE)
    assert fast_batches == [True, True]  # the third batch ends at the broken record: the exact path reads it
    assert "line 14, column -: broken CSV quoting" in fast[0]
    assert (fast, fast_rows) == (exact, exact_rows) and fast_rows == ([], [])


TRICKY_EMAILS = [
    "mei@example.com", "Mei.Wang@Example.COM", "a+b@sub.example.co", "a_b-c@ex-ample.io", "x@localhost",
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@-example.com", "a@example-.com", "a@example.c",
    "a@example.c0m", "a@[127.0.0.1]", "mei.müller@example.de", "mei@例え.jp", '"quoted"@example.com',
    "a@b@example.com", "a@example..com", "a@example.com.", " a@example.com ", "a b@example.com",
    "x" * 250 + "@example.com", "a@" + "b" * 64 + ".com", "a@xn--80ak6aa92e.com", "1@2.34", "a@b.co-m",
]


@pytest.mark.parametrize("email", TRICKY_EMAILS)
def test_the_plain_email_shortcut_accepts_only_what_djangos_validator_accepts(email):
    value = email.strip().lower()
    if buyer_keys._PLAIN_EMAIL.fullmatch(value):
        validate_email(value)  # raises if the shortcut let through an address the validator refuses


@pytest.mark.parametrize("email", TRICKY_EMAILS)
def test_email_keys_are_what_normalize_email_alone_gives(email):
    try:
        expected = normalize_email(email)
    except ValidationError:
        expected = email.strip().lower()[:255] if buyer_keys._LOOSE_EMAIL.fullmatch(email.strip()) else None
    assert buyer_keys.email_key(email) == expected


def test_buyer_keys_of_columns_are_buyer_keys_row_by_row():
    import polars as pl

    phones = ["13812345678", "'138 1234 5678", "+86 138-1234-5678", "008613812345678", "138****5678", "",
              "0571-88881234", "10000000000", "12345", "１３８１２３４５６７８", "  13912345678 ", "xxx13812345678",
              "+1 415 555 2671", "13012345678", "13012345679"]
    emails = ["", "Mei@Example.com", "mei.müller@example.de", "j***@example.com", "a..b@example.com", " A@B.CO ",
              "x" * 250 + "@example.com", "not an email", "ΣΑΣ@example.gr", "a@b.c", "ok@example.com", "",
              "İ@example.com", "a@localhost", "q@q.qq"]
    alipays = ["13812345678", "mei@example.com", "", "  ", "MEI@EXAMPLE.COM", "138****5678", "ÄLI@example.com",
               "13912345678", "nick", "xx", "+86 13812345678", "", "0086 139 1234 5678", "A" * 300, "b"]
    members = ["tb1", "", "tb3", "", "x" * 300, "tb1", "", "", "tb9", "", "", "", "m", "", "n"]
    names = ["王芳", "", "李", "", "", "", "Mei", "", "", "", "", "", "", "", ""]
    numbers = [f"N{i}" for i in range(len(phones))]
    columns = dict(email=emails, phone=phones, alipay=alipays, member_id=members, name=names, number=numbers)
    for kind in ("buyer_nick", "buyer_id"):
        expected = [buyer_keys.buyer_keys(**{k: v[i] for k, v in columns.items()}, member_kind=kind, store_id=7)
                    for i in range(len(phones))]
        got = buyer_keys.buyer_keys_of_columns(**{k: pl.Series(v, dtype=pl.String) for k, v in columns.items()},
                                               member_kind=kind, store_id=7)
        assert got == expected


def _repeat_buyers_rows(orders=40, buyers=7):
    """Generic orders whose buyers come back in every batch, each time with one more way to reach them."""
    rows = []
    for n in range(orders):
        b = n % buyers
        rows.append([f"R{n:03d}", f"C{b}", f"买家{b}", f"1380000{b:04d}" if n >= buyers else "",
                     f"r{b}@example.com" if n >= 2 * buyers else "", f"2023-08-{n % 28 + 1:02d} 10:00:00",
                     f"2023-08-{n % 28 + 1:02d} 10:30:00", "completed", f"{100 + n}.00", "0.00"])
    return rows


def test_buyers_written_in_the_batch_before_are_found_after_the_cache_is_emptied(monkeypatch, workspace, twin,
                                                                                 fast_batches, tmp_path):
    # Each fast batch is looked up before the previous batch's writes reach the database; the identity cache is
    # what makes that safe, so emptying it after every batch must first let those writes land.
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    monkeypatch.setattr(services, "KNOWN_KEYS", 1)
    path = _write(tmp_path, "repeat.csv", GENERIC_HEADER, _repeat_buyers_rows(), encoding="utf-8")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic",
                                                      platform=Platform.OWN_SITE)
    assert len(fast_batches) == 10 and all(fast_batches)
    assert (fast, fast_rows) == (exact, exact_rows)
    assert fast["customers_created"] == 7 and len(fast_rows[0]) == 7
    assert all(len(keys) == 3 for keys, *_ in fast_rows[0])  # buyer id, then phone, then email added later


def test_a_write_refused_on_its_way_fails_the_import_and_leaves_nothing(monkeypatch, workspace, store, tmp_path):
    # A batch's rows reach the database while the next batch is resolved; a refusal there (here: identities
    # that exist already, which a lookup that misses them would write again) must still fail the whole file.
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    first = _write(tmp_path, "first.csv", GENERIC_HEADER, _generic_rows(), encoding="utf-8")
    orders_import(workspace=workspace, store=store, path=first, fmt="generic")
    before = (Order.objects.count(), Customer.objects.count(), Identity.objects.count())
    again = [[f"H{row[0]}", *row[1:]] for row in _generic_rows()]
    second = _write(tmp_path, "second.csv", GENERIC_HEADER, again, encoding="utf-8")
    monkeypatch.setattr(services.lookups, "identity_customers", lambda **kwargs: iter(()))
    with pytest.raises(connection.Database.IntegrityError, match="(?i)unique"):  # the driver's: raw COPY
        orders_import(workspace=workspace, store=store, path=second, fmt="generic")
    assert (Order.objects.count(), Customer.objects.count(), Identity.objects.count()) == before


def test_a_chunk_too_odd_for_the_text_reader_is_read_record_by_record_with_the_same_line_numbers(
        monkeypatch, workspace, twin, fast_batches, parsed_as, tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 8)
    monkeypatch.setattr(services, "CHUNK", 4)
    header, rows = _taobao_records()
    rows[20][header.index("买家留言")] = "第一行\r第二行"  # a lone CR: a line end to the csv module's line count
    rows[45][header.index("订单状态")] = "已评价"  # an error the exact reader words, with its line number
    path = _write(tmp_path, "odd.csv", header, rows)
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path)
    assert parsed_as[:3] == ["text", "text", "unreadable"] and parsed_as[-1] == "records"
    assert fast_batches[:2] == [True, True]
    assert "unknown order status “已评价”" in fast[0] and fast[0] == exact[0]  # the same file, line and column
    assert (fast, fast_rows) == (exact, exact_rows) and fast_rows == ([], [])


def test_a_file_with_lf_line_ends_and_no_final_one_is_read_as_text(monkeypatch, workspace, twin, fast_batches,
                                                                  parsed_as, tmp_path):
    monkeypatch.setattr(columnar, "BATCH_LINES", 4)
    monkeypatch.setattr(services, "CHUNK", 2)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([GENERIC_HEADER, *_generic_rows()[:-1]])
    path = tmp_path / "lf.csv"
    path.write_text(buffer.getvalue() + ",".join(_generic_rows()[-1]), encoding="utf-8", newline="")
    (fast, exact), fast_rows, exact_rows = _both_ways(monkeypatch, workspace, twin, path, fmt="generic",
                                                      platform=Platform.OWN_SITE)
    assert parsed_as == ["text", "text", "text"] and fast_batches == [True, True, True]
    assert (fast, fast_rows) == (exact, exact_rows) and fast["orders_created"] == 12


CLEANED = ['="1930"', "'13812345678", '=""', '="', "'", "''12", "' 12", "'12 ", " x", '="12 "', "='1'", "abc", "",
           "'+86-138", "'a*b", '="A_b-9"', "=1", "'''", '=""x"', '"="1"', "'12\n", '="1"\n', "'１２", '="１"']


def test_the_column_clean_is_clean_cell_by_cell():
    import polars as pl

    from guanxi.imports.readers import clean

    assert columnar._clean(pl.Series(CLEANED)).to_list() == [clean(cell) for cell in CLEANED]


def _plan_in(zone: str) -> columnar.Plan:
    import zoneinfo

    plan = object.__new__(columnar.Plan)  # only the time zone matters to _datetimes
    plan.tz = zoneinfo.ZoneInfo(zone)
    plan._offsets = columnar._HourOffsets(plan.tz)
    return plan


@pytest.mark.parametrize("zone, cells", [
    # New York: 2023-03-12 02:00–03:00 does not exist, 2023-11-05 01:00–02:00 happens twice; fold=0 decides.
    ("America/New_York", ["2023-03-12 01:59:59", "2023-03-12 02:30:00", "2023-03-12 03:00:00", "2023-11-05 00:59:59",
                          "2023-11-05 01:30:00", "2023/11/5 2:00", "", "1969-12-31 23:59:59", "1900-01-01 00:00"]),
    # Shanghai kept summer time 1986–1991; one batch over decades, another that extends the table both ways.
    ("Asia/Shanghai", ["1988-04-17 01:59:59", "1988-04-17 03:00:00", "1988-09-11 00:30:00", "2023-07-12 10:23:45",
                       "2023/7/12 10:23", "2005-01-01 00:00:00"]),
])
def test_batch_times_are_the_exact_readers_in_zones_with_summer_time(zone, cells):
    import datetime as dt

    import polars as pl

    from guanxi.imports.readers import parse_datetime

    plan = _plan_in(zone)
    expected = [None if not cell else parse_datetime(cell, plan.tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
                for cell in cells]
    assert plan._datetimes(pl.Series(cells)).to_list() == expected
    # Again in two batches, the second reaching past both ends of the hours the first one covered.
    plan = _plan_in(zone)
    middle = sorted(range(len(cells)), key=lambda i: cells[i] or "~")[len(cells) // 2]
    assert plan._datetimes(pl.Series([cells[middle]])).to_list() == [expected[middle]]
    assert plan._datetimes(pl.Series(cells)).to_list() == expected


def test_an_hour_whose_offset_changes_within_it_sends_the_batch_away():
    import polars as pl

    # Lord Howe Island moves its clocks from 02:00 to 02:30 in spring: the hour 02:00–03:00 has two offsets.
    plan = _plan_in("Australia/Lord_Howe")
    assert plan._datetimes(pl.Series(["2023-10-01 01:59:59", "2023-10-01 03:00"])).null_count() == 0
    with pytest.raises(columnar._Unfit):
        plan._datetimes(pl.Series(["2023-10-01 02:45:00"]))
    with pytest.raises(columnar._Unfit):  # hour by hour, for a batch spanning more than MAX_HOURS
        plan._datetimes(pl.Series(["1900-01-01 00:00", "2023-10-01 02:45:00"]))

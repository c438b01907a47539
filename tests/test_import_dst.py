"""Local times at daylight-saving edges: resolved once by the fold=0 rule (a skipped time moves forward, a repeated
time is its first occurrence), compared as instants so re-imports change nothing, warned about on the import
result by line and column, alike on the exact and the columnar path; ISO times with Z or an offset in every
format."""

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from guanxi.activities.models import Interaction
from guanxi.cli import main
from guanxi.commerce.models import Order
from guanxi.imports import columnar
from guanxi.imports.services import orders_import
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create, workspace_create
from tests.test_import_fast_path import _contents

UTC = dt.timezone.utc
TAOBAO = Path(__file__).parent.parent / "guanxi" / "data" / "samples" / "taobao" / "ExportOrderList_sample.csv"
SHOPIFY = Path(__file__).parent.parent / "guanxi" / "data" / "samples" / "shopify" / "orders_export_sample.csv"
GAP, FOLD = "2024-03-10 02:30:00", "2024-11-03 01:30:00"
GAP_WARNING = ("2024-03-10 02:30:00 does not exist in America/New_York (the clocks went forward); "
               "read as 2024-03-10 03:30:00")
FOLD_WARNING = ("2024-11-03 01:30:00 happens twice in America/New_York (the clocks went back); read as the first, "
                "2024-11-03 01:30:00-04:00")


@pytest.fixture
def new_york(db):
    workspace = workspace_create(slug="ny", name="New York", time_zone="America/New_York")
    with tenancy.active(workspace):
        yield workspace


def _write(tmp_path, name, header, rows, encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding=encoding, newline="")
    return path


def _generic(tmp_path, created=(GAP, FOLD, "2024-06-01 12:00:00"), paid=(GAP, FOLD, "")):
    rows = [[f"N{i}", c, "10.00", "paid", f"c{i}", p] for i, (c, p) in enumerate(zip(created, paid), start=1)]
    return _write(tmp_path, "generic.csv", ["order_number", "created", "amount", "status", "customer_id", "paid"], rows)


def _taobao(tmp_path, times):
    with open(TAOBAO, encoding="gb18030", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    rows = [list(r) for r in rows[:len(times)]]
    for row, (created, paid) in zip(rows, times):
        row[header.index("订单创建时间")], row[header.index("订单付款时间")] = created, paid
    return _write(tmp_path, "taobao.csv", header, rows, encoding="gb18030")


def test_gap_and_fold_times_are_resolved_once_and_reimports_change_nothing(new_york, tmp_path):
    store = store_create(workspace=new_york, name="Shop", platform=Platform.OWN_SITE, currency="USD")
    path = _generic(tmp_path)
    first = orders_import(workspace=new_york, store=store, path=path)
    assert first.orders_created == 3
    placed = dict(Order.objects.values_list("number", "placed_at"))
    assert placed["N1"] == dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 02:30 EST, which is 03:30 EDT
    assert placed["N2"] == dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # the first 01:30, EDT
    assert Order.objects.get(number="N1").paid_at == placed["N1"]
    for _ in range(2):
        again = orders_import(workspace=new_york, store=store, path=path)
        assert (again.orders_updated, again.orders_unchanged) == (0, 3)
    assert Interaction.objects.count() == 0


def test_the_import_result_warns_of_each_shifted_time_by_line_and_column(new_york, tmp_path, capsys):
    path = _generic(tmp_path)
    assert main(["import", "orders", str(path), "--store", "Shop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [
        {"line": 2, "column": "created", "message": GAP_WARNING},
        {"line": 2, "column": "paid", "message": GAP_WARNING},
        {"line": 3, "column": "created", "message": FOLD_WARNING},
        {"line": 3, "column": "paid", "message": FOLD_WARNING},
    ]


@pytest.mark.parametrize("fmt", ["generic", "taobao"])
def test_both_paths_resolve_and_warn_alike(new_york, tmp_path, monkeypatch, fmt):
    """The fast path's batch (with its hour-by-hour offsets) against the exact reader, on one file."""
    times = [(GAP, FOLD), ("2024-07-01 09:00:00", GAP), (FOLD, ""), ("2024-01-05 23:59:59", "2024-03-10 02:00:00")]
    path = _generic(tmp_path, *zip(*times)) if fmt == "generic" else _taobao(tmp_path, times)
    twin = workspace_create(slug="ny-exact", name="Exact", time_zone="America/New_York")
    results, batches = [], []
    original = columnar.Plan._batch

    def counted(plan, *args, **kwargs):
        batch = original(plan, *args, **kwargs)
        batches.append(batch is not None)
        return batch

    monkeypatch.setattr(columnar.Plan, "_batch", counted)
    for target, fast in ((new_york, True), (twin, False)):
        with tenancy.active(target), monkeypatch.context() as patch:
            if not fast:
                patch.setattr(columnar, "plan_for", lambda opened, store_id: None)
            store = store_create(workspace=target, name="Shop", platform=Platform.TAOBAO, currency="USD")
            results.append(orders_import(workspace=target, store=store, path=path, fmt=fmt).as_json())
    assert batches and all(batches)  # the first import did take the fast path
    assert results[0] == results[1]
    assert len(results[0]["warnings"]) == 5
    assert _contents(new_york) == _contents(twin)


@pytest.mark.parametrize("cell, expected", [
    ("2024-03-10T07:30:00Z", dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),
    ("2024-03-10 07:30:00z", dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),
    ("2024-03-10T02:30:00.250Z", dt.datetime(2024, 3, 10, 2, 30, 0, 250000, tzinfo=UTC)),
    ("2024-03-10T03:30:00+01:00", dt.datetime(2024, 3, 10, 2, 30, tzinfo=UTC)),
    ("2024-03-10 03:30:00 -0500", dt.datetime(2024, 3, 10, 8, 30, tzinfo=UTC)),
])
def test_iso_times_with_z_or_an_offset_are_accepted_in_every_format(new_york, tmp_path, cell, expected):
    generic = _generic(tmp_path, created=(cell,), paid=("",))
    taobao = _taobao(tmp_path, [(cell, cell)])
    with open(SHOPIFY, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    shopify_row = next(list(r) for r in rows if r[header.index("Financial Status")])
    shopify_row[header.index("Created at")] = cell
    shopify = _write(tmp_path, "shopify.csv", header, [shopify_row])
    for path, fmt, number in ((generic, "generic", "N1"), (taobao, "taobao", None), (shopify, "shopify", None)):
        store = store_create(workspace=new_york, name=fmt, platform=Platform.OWN_SITE, currency="USD")
        result = orders_import(workspace=new_york, store=store, path=path, fmt=fmt)
        assert (result.orders_created, result.errors, result.warnings) == (1, [], [])
        assert Order.objects.get(store=store).placed_at == expected


def test_an_offset_time_beyond_year_9999_is_refused_with_its_line(new_york, tmp_path, capsys):
    path = _generic(tmp_path, created=("9999-12-31 23:30:00",), paid=("",))
    assert main(["import", "orders", str(path), "--store", "Shop"]) == 1
    err = capsys.readouterr().err
    assert err == (f"guanxi: error: {path}, line 2, column created: “9999-12-31 23:30:00” is out of the range of "
                   f"dates (years 1 to 9999). Nothing was imported.\n")
    assert Order.objects.count() == 0

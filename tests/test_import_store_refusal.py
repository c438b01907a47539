"""`guanxi import orders --store NAME`: a name that is not one of the workspace's stores is refused (exit 2, one
line naming the stores) unless --platform asks for a new store; a new store is made in the import's transaction,
so a first import that fails leaves none behind."""

import csv
import io
import json
from pathlib import Path

from guanxi.cli import main
from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob
from guanxi.workspaces.models import Store

DATA = Path(__file__).parent / "data" / "imports"
TAOBAO = DATA / "ExportOrderList_sample.csv"


def _run(capsys, *argv):
    code = main(["import", "orders", *argv, "--workspace", "acme"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _nothing_written():
    return Order.objects.count() == 0 and Customer.objects.count() == 0 and ImportJob.objects.count() == 0


def test_a_misspelt_store_is_refused_naming_the_stores(workspace, store, capsys):
    code, out, err = _run(capsys, str(TAOBAO), "--store", "Acme Taobo", "--json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "'Acme Taobo'" in err and store.name in err and "--platform" in err
    assert list(Store.objects.values_list("name", flat=True)) == [store.name] and _nothing_written()


def test_a_dry_run_into_a_misspelt_store_is_refused_too(workspace, store, capsys):
    code, _, err = _run(capsys, str(TAOBAO), "--store", "Acme Taobo", "--dry-run")
    assert code == 2 and store.name in err and Store.objects.count() == 1


def test_platform_creates_another_store_with_the_import(workspace, store, capsys):
    code, out, _ = _run(capsys, str(TAOBAO), "--store", "Second shop", "--platform", "taobao", "--json")
    assert code == 0
    second = Store.objects.get(name="Second shop")
    assert second.platform == "taobao"
    job = ImportJob.objects.get(pk=json.loads(out)["import_id"])
    assert (job.store, job.source, job.status) == (second, "cli", "done")
    assert Order.objects.filter(store=second).count() == json.loads(out)["orders_created"] > 0


def test_a_failing_first_import_leaves_no_store(workspace, capsys, tmp_path):
    header, *rows = list(csv.reader(io.StringIO(TAOBAO.read_bytes().decode("gb18030"))))
    rows[1][header.index("退款金额")] = "abc"  # after a good order: the store would already hold one
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows[:2]])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(out.getvalue().encode("gb18030"))
    code, _, err = _run(capsys, str(bad), "--store", "First shop", "--json")
    assert code == 1 and "退款金额" in err
    assert Store.objects.count() == 0 and _nothing_written()


def test_a_failing_import_into_a_new_store_with_platform_leaves_no_store(workspace, store, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("order_number,created,amount,status\nX-1,2024-05-01 10:00:00,abc,paid\n")
    code, _, _ = _run(capsys, str(bad), "--store", "Own", "--platform", "own_site")
    assert code == 1
    assert list(Store.objects.values_list("name", flat=True)) == [store.name] and _nothing_written()


def test_the_first_store_of_a_workspace_is_made_from_the_format(workspace, capsys):
    code, out, _ = _run(capsys, str(TAOBAO), "--store", "Tmall", "--json")
    assert code == 0 and Store.objects.get().platform == "taobao"
    assert ImportJob.objects.get().pk == json.loads(out)["import_id"]

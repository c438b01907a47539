"""`guanxi import orders` refusals: one line on stderr, exit code 2 for a refusal and 1 for a bad file (with its
path, line and column), never a traceback, and the database as it was. Amounts and order numbers the columns
cannot hold are refused, never rounded or cut, on the exact and the columnar path alike."""

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from guanxi.cli import main
from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.imports import columnar
from guanxi.imports.services import IMPORT_LOCK
from guanxi.workspaces.models import Store
from tests.test_cli import cli_process

TAOBAO = Path(__file__).parent.parent / "guanxi" / "data" / "samples" / "taobao" / "ExportOrderList_sample.csv"
HEADER = ["order_number", "created", "amount", "status", "customer_id"]
LARGEST = "999999999999.99"


def _write(tmp_path, rows, header=HEADER, name="orders.csv", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding=encoding, newline="")
    return path


def _nothing_written(stores: int = 1):
    assert (Order.objects.count(), Customer.objects.count(), Store.objects.count()) == (0, 0, stores)


@pytest.fixture(params=["fast", "exact"])
def path_taken(request, monkeypatch):
    """Each bad file through both paths: the columnar plan as it is, or none (the exact reader alone)."""
    if request.param == "exact":
        monkeypatch.setattr(columnar, "plan_for", lambda opened, store_id: None)
    return request.param


def _import(capsys, path, store, *extra):
    code = main(["import", "orders", str(path), "--store", store.name, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_path_is_refused(workspace, store, capsys, tmp_path):
    missing = tmp_path / "nope.csv"
    assert _import(capsys, missing, store) == (2, "", f"guanxi: error: no such file: {missing}\n")
    assert _import(capsys, tmp_path, store) == (
        2, "", f"guanxi: error: {tmp_path} is a directory, not an export file\n")
    good = _write(tmp_path, [])
    assert _import(capsys, good, store, "--items", str(missing)) == (2, "", f"guanxi: error: no such file: {missing}\n")
    _nothing_written()


@pytest.mark.parametrize("amount, message", [
    ("1e400", f"“1e400” is more than the largest amount kept ({LARGEST})"),
    ("100000000000000000000", f"“100000000000000000000” is more than the largest amount kept ({LARGEST})"),
    ("1000000000000", f"“1000000000000” is more than the largest amount kept ({LARGEST})"),
    ("999999999999.999", f"“999999999999.999” is more than the largest amount kept ({LARGEST})"),
    ("NaN", "“NaN” is not a non-negative amount"),
    ("inf", "“inf” is not a non-negative amount"),
    ("-Infinity", "“-Infinity” is not a non-negative amount"),
])
def test_amounts_beyond_the_money_columns_are_refused_with_their_line(
        workspace, store, capsys, tmp_path, path_taken, amount, message):
    path = _write(tmp_path, [["A1", "2024-01-01 10:00:00", "10", "paid", "c1"],
                             ["A2", "2024-01-01 11:00:00", amount, "paid", "c2"]])
    assert _import(capsys, path, store, "--format", "generic") == (
        1, "", f"guanxi: error: {path}, line 3, column amount: {message}. Nothing was imported.\n")
    _nothing_written()


def test_the_largest_amount_is_kept_exactly(workspace, store, capsys, tmp_path, path_taken):
    path = _write(tmp_path, [["A1", "2024-01-01 10:00:00", LARGEST, "paid", "c1"]])
    assert _import(capsys, path, store, "--format", "generic")[0] == 0
    assert str(Order.objects.get().paid_amount) == LARGEST


def test_a_taobao_amount_beyond_the_column_is_refused(workspace, store, capsys, tmp_path, path_taken):
    with open(TAOBAO, encoding="gb18030", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    rows = [list(r) for r in rows[:5]]
    rows[3][header.index("买家实际支付金额")] = "12345678901234567890"
    path = _write(tmp_path, rows, header=header, encoding="gb18030")
    # Line 6: the first order's buyer message spans two lines.
    assert _import(capsys, path, store) == (
        1, "", f"guanxi: error: {path}, line 6, column 买家实际支付金额: “12345678901234567890” is more than the largest "
               f"amount kept ({LARGEST}). Nothing was imported.\n")
    _nothing_written()


def test_a_line_amount_beyond_the_column_is_refused(workspace, store, capsys, tmp_path):
    path = _write(tmp_path, [["L1", "2024-01-01 10:00:00", "10", "paid", "c1", "Tea", "2000000000", "999.00"]],
                  header=[*HEADER, "title", "quantity", "unit_price"])
    assert _import(capsys, path, store, "--format", "generic") == (
        1, "", f"guanxi: error: {path}, line 2, column quantity: the line amount 999.00 × 2000000000 is more than "
               f"the largest amount kept ({LARGEST}). Nothing was imported.\n")
    _nothing_written()


def test_order_numbers_longer_than_the_column_are_refused_never_cut(workspace, store, capsys, tmp_path, path_taken):
    common = "N" * 64
    path = _write(tmp_path, [["OK", "2024-01-01 10:00:00", "10", "paid", "c0"],
                             [common + "1234567", "2024-01-01 10:00:00", "10", "paid", "c1"],
                             [common + "7654321", "2024-01-01 11:00:00", "20", "paid", "c2"]])
    assert _import(capsys, path, store, "--format", "generic") == (
        1, "", f"guanxi: error: {path}, line 3, column order_number: the order number is 71 characters long, more "
               f"than the 64 kept. Nothing was imported.\n")
    _nothing_written()
    code, out, err = _import(capsys, path, store, "--format", "generic", "--on-error", "skip",
                             "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 0 and "2 rows rejected" in out
    assert list(Order.objects.values_list("number", flat=True)) == ["OK"]


@pytest.mark.parametrize("cell, message", [
    ("99999-01-01 00:00:00", "“99999-01-01 00:00:00” is not a date (expected 2023-07-12 10:23:45 or 2023/7/12 10:23)"),
    ("0001-01-01 00:00:00", "“0001-01-01 00:00:00” is out of the range of dates (years 1 to 9999)"),
    ("9999-12-31 23:00:00 -0500", "“9999-12-31 23:00:00 -0500” is out of the range of dates (years 1 to 9999)"),
])
def test_times_that_overflow_are_refused_with_their_line(workspace, store, capsys, tmp_path, path_taken, cell,
                                                          message):
    path = _write(tmp_path, [["T1", cell, "10", "paid", "c1"]])
    assert _import(capsys, path, store, "--format", "generic") == (
        1, "", f"guanxi: error: {path}, line 2, column created: {message}. Nothing was imported.\n")
    _nothing_written()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
def test_the_second_of_two_imports_into_a_workspace_is_refused_at_once(workspace, store, capsys, tmp_path):
    """Another session holds the workspace's import lock, as a running import does."""
    import psycopg

    settings = connection.settings_dict
    path = _write(tmp_path, [["C1", "2024-01-01 10:00:00", "10", "paid", "c1"]])
    with psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [IMPORT_LOCK, workspace.pk])
        assert _import(capsys, path, store, "--format", "generic") == (
            2, "", "guanxi: error: another import is writing to this workspace; try again\n")
        _nothing_written()
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [IMPORT_LOCK, workspace.pk])
    assert _import(capsys, path, store, "--format", "generic")[0] == 0
    assert Order.objects.count() == 1


def test_on_sqlite_the_import_that_finds_the_database_locked_is_refused(tmp_path):
    """A real second writer on the workspace's SQLite file: the import waits out the busy timeout, then refuses."""
    home = tmp_path / "home"
    home.mkdir()
    assert cli_process(["workspace", "create", "solo"], home).returncode == 0
    path = _write(tmp_path, [["S1", "2024-01-01 10:00:00", "10", "paid", "c1"]])
    database = sqlite3.connect(home / "guanxi.sqlite3", isolation_level=None)
    try:
        database.execute("BEGIN IMMEDIATE")  # what a running import holds
        done = cli_process(["import", "orders", str(path), "--store", "Web"], home)
        assert (done.returncode, done.stdout, done.stderr) == (
            2, "", "guanxi: error: another import is writing to this workspace; try again\n")
        database.execute("ROLLBACK")
        assert database.execute("SELECT count(*) FROM commerce_order").fetchone() == (0,)
        assert database.execute("SELECT count(*) FROM workspaces_store").fetchone() == (0,)
        done = cli_process(["import", "orders", str(path), "--store", "Web"], home)
        assert done.returncode == 0, done.stderr
        assert database.execute("SELECT count(*) FROM commerce_order").fetchone() == (1,)
    finally:
        database.close()

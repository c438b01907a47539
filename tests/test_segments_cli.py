"""`guanxi segments …`: count, create, list, refresh and export, and refusals with the rule path."""

import csv
import datetime as dt
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from guanxi.cli import main
from guanxi.commerce.services import order_create
from guanxi.customers.services import customer_create
from guanxi.segments.models import Segment
from guanxi.segments.services import segments_refresh_all
from segments_world import SHANGHAI

pytestmark = pytest.mark.django_db


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def shop(workspace, store):
    for i in range(5):
        customer = customer_create(name=f"客户{i}", province="浙江" if i < 3 else "江苏",
                                   identities=[("phone", f"1381234{i:04d}")], address="浙江省杭州市西湖区文三路90号")
        order_create(store=store, customer=customer, number=f"N{i}", status="paid", paid_amount=Decimal(100 * i),
                     placed_at=dt.datetime(2024, 6, 1, 12, tzinfo=SHANGHAI))
    segments_refresh_all()


RULES = json.dumps({"all": [{"field": "province", "op": "=", "value": "浙江"},
                            {"field": "total_paid", "op": ">=", "value": 100}]}, ensure_ascii=False)


def test_count_prints_the_exact_count_as_json(shop, capsys):
    code, out, _ = run(capsys, "segments", "count", "--rules", RULES, "--json")
    assert code == 0 and json.loads(out) == {"count": 2}
    code, out, _ = run(capsys, "segments", "count", "--rules", '{"all": []}', "--json", "--as-of", "2024-06-30")
    assert json.loads(out) == {"count": 5}


def test_create_prints_id_and_count_and_the_segment_is_saved(shop, capsys, tmp_path):
    code, out, _ = run(capsys, "segments", "create", "--name", "浙江大客户", "--rules", RULES, "--json")
    assert code == 0
    body = json.loads(out)
    assert set(body) == {"id", "count"} and body["count"] == 2
    segment = Segment.objects.get(pk=body["id"])
    assert segment.name == "浙江大客户" and segment.member_count == 2
    rules_file = tmp_path / "rules.json"
    rules_file.write_text('{"any": [{"field": "province", "op": "=", "value": "江苏"}]}', encoding="utf-8")
    code, out, _ = run(capsys, "segments", "create", "--name", "江苏", "--rules", f"@{rules_file}", "--json")
    assert code == 0 and json.loads(out)["count"] == 2
    code, out, _ = run(capsys, "segments", "list", "--json")
    assert {"浙江大客户", "江苏"} <= {row["name"] for row in json.loads(out)}


@pytest.mark.parametrize("rules, fragment", [
    ('{"all": [{"field": "province", "op": "=", "value": "x"}, {"any": [{"field": "x", "op": "=", "value": 1}]}]}',
     "all[1].any[0].field"),
    ('{"all": [{"field": "total_paid", "op": "contains", "value": 1}]}', "all[0].op"),
    ('{"all": [', "not valid JSON"),
])
def test_bad_rules_are_refused_with_exit_code_2_and_the_path(shop, capsys, rules, fragment):
    for argv in (("segments", "count", "--rules", rules, "--json"),
                 ("segments", "create", "--name", "bad", "--rules", rules, "--json")):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("guanxi: error: ") and fragment in err, err
    assert not Segment.objects.filter(name="bad").exists()


def test_export_writes_csv_and_xlsx_files(shop, capsys, tmp_path):
    code, out, _ = run(capsys, "segments", "create", "--name", "浙江大客户", "--rules", RULES, "--json")
    segment_id = json.loads(out)["id"]
    target = tmp_path / "out.csv"
    code, out, _ = run(capsys, "segments", "export", str(segment_id), "--format", "csv", "--output", str(target))
    assert code == 0 and "2" in out
    rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 3 and rows[0][:2] == ["Customer ID", "Name"]
    assert {row[rows[0].index("Phone")] for row in rows[1:]} == {"+8613812340001", "+8613812340002"}
    target = tmp_path / "out.xlsx"
    code, _, _ = run(capsys, "segments", "export", str(segment_id), "--format", "xlsx", "--output", str(target),
                     "--mask-contacts")
    assert code == 0
    values = list(load_workbook(target).active.iter_rows(values_only=True))
    assert len(values) == 3 and all("****" in row[3] for row in values[1:])
    code, out, err = run(capsys, "segments", "export", "99999", "--format", "csv", "--output", str(target))
    assert code == 2 and "no segment 99999" in err


def test_refresh_prints_a_summary(shop, capsys):
    code, out, _ = run(capsys, "segments", "refresh", "--json", "--as-of", "2024-06-30")
    summary = json.loads(out)
    assert code == 0 and summary["facts"]["customers"] == 5 and len(summary["segments"]) == Segment.objects.count()
    segment = Segment.objects.get(builtin_key="lifecycle.potential")
    code, out, _ = run(capsys, "segments", "refresh", str(segment.pk), "--json")
    assert json.loads(out)["size"] == 5

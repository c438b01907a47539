"""Exports survive any text: control characters in a name or tag no longer break the XLSX (API 500, CLI traceback).

The XLSX leaves out what its XML cannot hold — before the formula check, so a name that becomes "=…" once cleaned
is still written as text — and the CSV keeps every stored character, byte for byte.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from guanxi.api.testing import ApiClient
from guanxi.cli import main
from guanxi.customers.services import customer_create
from guanxi.segments.services import segment_create
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import api_token_create

pytestmark = pytest.mark.django_db

# Every C0 control character a spreadsheet's XML refuses, then a formula hidden behind one.
NAMES = ["Lin\x01Wei", "tab\tand\nnewline", "".join(map(chr, range(1, 9))) + "王", "\x0b\x0c\x0e\x1f ok",
         "\x01=HYPERLINK(\"http://evil\")"]
TAG = "v\x07ip\x1b"


@pytest.fixture
def segment(workspace):
    for name in NAMES:
        customer_create(name=name, tags=[TAG, "plain"])
    return segment_create(name="everyone", rules={"all": []})


@pytest.fixture
def api(workspace, make_member):
    user = make_member(workspace, Role.OWNER)
    return ApiClient(api_token_create(workspace=workspace, user=user, name="export"), user=user)


def xlsx_rows(data) -> list[tuple]:
    return list(load_workbook(data).active.iter_rows(values_only=True))


def assert_clean_workbook(rows: list[tuple]) -> None:
    header, body = rows[0], rows[1:]
    names = sorted(row[header.index("Name")] or "" for row in body)
    assert names == sorted(["LinWei", "tab\tand\nnewline", "王", " ok", "'=HYPERLINK(\"http://evil\")"])
    assert {row[header.index("Tags")] for row in body} == {"plain, vip"}


def test_the_api_xlsx_export_leaves_out_control_characters(api, segment):
    response = api.get(f"/segments/{segment.pk}/export", {"format": "xlsx"})
    assert response.status_code == 200, response.content[:500]
    assert_clean_workbook(xlsx_rows(io.BytesIO(b"".join(response.streaming_content))))


def test_the_api_csv_export_keeps_every_character(api, segment):
    response = api.get(f"/segments/{segment.pk}/export", {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    header = rows[0]
    assert sorted(row[header.index("Name")] for row in rows[1:]) == sorted(NAMES)
    assert {row[header.index("Tags")] for row in rows[1:]} == {f"plain, {TAG}"}


def test_the_cli_xlsx_export_writes_a_workbook_instead_of_a_traceback(segment, tmp_path, capsys):
    target = tmp_path / "members.xlsx"
    code = main(["segments", "export", str(segment.pk), "--format", "xlsx", "--output", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    assert_clean_workbook(xlsx_rows(target))


def test_the_cli_csv_export_is_byte_exact(segment, tmp_path, capsys):
    target = tmp_path / "members.csv"
    assert main(["segments", "export", str(segment.pk), "--format", "csv", "--output", str(target)]) == 0
    data = target.read_bytes()
    for name in NAMES[:4]:
        expected = io.StringIO()
        csv.writer(expected).writerow([name])
        assert expected.getvalue().rstrip("\r\n").encode("utf-8") in data
    assert TAG.encode("utf-8") in data

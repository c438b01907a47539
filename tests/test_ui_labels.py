"""The first hour's signposts: Import in the menu and on empty lists, the documented columns served in the app,
import results in orders and rows with links, stored codes shown in words, and names in the language's order."""

from pathlib import Path

import pytest
from django.utils import translation
from django.core.files.uploadedfile import SimpleUploadedFile
from huey.contrib.djhuey import HUEY

from guanxi.customers.services import consent_set, customer_create
from guanxi.segments.services import segment_create
from guanxi.web.collation import sorted_by_name
from guanxi.web.labels import code_label
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import store_create
from web_helpers import client_for

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parent.parent / "guanxi" / "data" / "samples"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}


def test_import_is_in_the_menu_and_on_the_empty_lists_for_those_who_may_import(workspace, owner, make_member):
    client = client_for(owner)
    for path in ("/", "/customers/", "/orders/"):
        html = client.get(path).content.decode()
        assert html.count('href="/imports/"') >= 2, path  # the menu, and the page's own button
    assert '<span>导入</span>' in client.get("/", **ZH).content.decode()
    analyst = client_for(make_member(workspace, Role.ANALYST))
    assert 'href="/imports/"' not in analyst.get("/orders/").content.decode()


def test_the_documented_columns_are_a_page_of_the_app(workspace, owner):
    client = client_for(owner)
    upload = client.get("/imports/").content.decode()
    assert 'href="/help/imports/"' in upload
    page = client.get("/help/imports/")
    assert page.status_code == 200
    html = page.content.decode().split('<article class="card doc">')[1].split("</article>")[0]
    # Rendered from docs/imports.md: every generic column is in its table, and --map is explained.
    for column in ("order_number", "created", "amount", "status", "customer_id", "unit_price"):
        assert f"<td><code>{column}</code></td>" in html, column
    assert "--map" in html and "<script" not in html
    assert client.get("/help/etc-passwd/").status_code == 404


def test_help_needs_a_sign_in(client):
    assert client.get("/help/imports/").status_code == 302


def test_an_import_result_says_rows_and_orders_and_links_to_them(workspace, make_member, member_password,
                                                                   django_capture_on_commit_callbacks):
    store = store_create(workspace=workspace, name="淘宝店", platform="taobao")
    client = client_for(make_member(workspace, Role.SALES))
    data = {"store": store.pk, "format": "", "on_error": "abort",
            "file": SimpleUploadedFile("orders.csv", (SAMPLES / "taobao" / "ExportOrderList_sample.csv").read_bytes())}
    job_url = client.post("/imports/", data)["Location"]
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(job_url + "start/")
    finally:
        HUEY.immediate = False
    html = client.get(job_url).content.decode()
    assert " rows read: " in html and " orders created, " in html
    assert f'href="/orders/?store={store.id}"' in html
    zh = client.get(job_url, **ZH).content.decode()
    assert "行：新建" in zh and "淘宝/天猫" in zh


def test_stored_codes_are_shown_in_words(workspace, owner):
    customer = customer_create(name="王芳")
    consent_set(customer=customer, channel="sms", granted=True, source="taobao_order")
    html = client_for(owner).get(f"/customers/{customer.id}/", **ZH).content.decode()
    assert "淘宝订单" in html and "taobao_order" not in html
    with translation.override("en"):
        assert code_label("order_status", "pending_payment") == "Pending payment"
    with translation.override("zh-hans"):
        assert code_label("order_status", "pending_payment") == "待付款"
        assert code_label("rfm_segment", "champions") == "冠军客户"
    assert code_label("source", "something_new") == "something_new"


def test_names_sort_in_the_languages_order():
    names = ["张伟", "王芳", "李娜", "Amy", "安娜", "émile"]
    assert sorted_by_name(names, language="zh-hans") == ["Amy", "安娜", "émile", "李娜", "王芳", "张伟"]
    assert sorted_by_name(names, language="en")[:3] == ["Amy", "émile", "安娜"]


def test_my_segments_are_listed_by_pinyin_in_chinese(workspace, owner):
    rules = {"all": [{"field": "orders_count", "op": ">=", "value": 1}]}
    for name in ("张家口", "北京", "上海"):
        segment_create(name=name, rules=rules, owner=owner)
    html = client_for(owner).get("/segments/", **ZH).content.decode()
    assert html.index("北京") < html.index("上海") < html.index("张家口")


def test_a_segment_export_names_scores_in_words_not_codes(workspace, tmp_path):
    import csv
    import datetime as dt
    from decimal import Decimal

    from guanxi.commerce.services import order_create
    from guanxi.insight.models import CustomerScore
    from guanxi.segments.export import export_segment
    from guanxi.segments.services import segments_refresh_all

    as_of = dt.datetime(2024, 6, 15, 10, tzinfo=dt.timezone.utc)
    store = store_create(workspace=workspace, name="店", platform="taobao")
    customer = customer_create(name="李娜")
    order_create(store=store, customer=customer, number="N1", status="paid", paid_amount=Decimal(300),
                 placed_at=as_of - dt.timedelta(days=3))
    CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=as_of, rfm_segment="champions",
                                 value_class="important_value", lifecycle_stage="mature", churn_risk="high")
    segments_refresh_all(as_of=as_of)
    segment = segment_create(name="大客户", rules={"all": [{"field": "total_paid", "op": ">=", "value": 200}]},
                             as_of=as_of)
    target = tmp_path / "members.csv"
    with translation.override("zh-hans"):
        assert export_segment(segment, fmt="csv", path=target, see_contact=True) == 1
    _header, row = list(csv.reader(target.open(encoding="utf-8-sig")))
    assert "冠军客户" in row and "成熟期" in row and "高" in row
    assert not {"champions", "important_value", "mature", "high"} & set(row)

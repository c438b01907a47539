"""The rule builder in a real browser, in English and Chinese: pick fields and operators, nest an OR group, watch
the exact count update while typing (htmx), see a bad condition marked at its place, save, land on the segment.
Screenshots of the builder and the saved segment go to test-artifacts/ (on failure too)."""

import pathlib

import pytest

from guanxi.insight.models import CustomerScore
from guanxi.segments.models import Segment
from guanxi.segments.rules import compile_rules
from guanxi.segments.services import segments_refresh_all
from guanxi.workspaces import tenancy
from segments_world import AS_OF
from web_helpers import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"

LANGUAGES = {
    "en": ("en-US", {"add": "Add condition", "group": "Add group", "save": "Save segment", "preview": "Live preview",
                     "matches": "customers match", "members": "Members"}),
    "zh": ("zh-CN", {"add": "添加条件", "group": "添加条件组", "save": "保存分群", "preview": "实时预览",
                     "matches": "位客户符合", "members": "成员"}),
}


@pytest.fixture
def shop(workspace, owner):
    shop = build_shop(workspace, owner=owner, customers=9)  # 浙江省 杭州市, tags VIP and 批次0..2
    with tenancy.active(workspace):
        for i, customer in enumerate(shop.customers):
            CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF, clv=100 * i,
                                         rfm_segment="champions" if i < 4 else "at_risk",
                                         churn_risk="high" if i % 2 else "low")
        segments_refresh_all()
    return shop


def _count(page) -> int:
    page.wait_for_function("document.querySelector('#preview .sg-count') !== null")
    page.wait_for_function("!document.querySelector('#preview').classList.contains('htmx-request')")
    return int(page.locator("#preview .sg-count").get_attribute("data-count") or -1)


def _wait_count(page, expected: int) -> None:
    page.wait_for_function(
        "n => { const c = document.querySelector('#preview .sg-count'); return c && c.dataset.count === String(n); }",
        arg=expected)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_rule_builder_counts_live_and_saves(browser, live_server, shop, member_password, lang, request):
    locale, texts = LANGUAGES[lang]
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", member_password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/segments/new/")
        assert page.get_by_role("heading", name=texts["preview"]).is_visible()
        _wait_count(page, 9)  # the starting rule: at least one order
        assert texts["matches"] in page.locator("#preview").inner_text()

        # First condition: RFM segment is Champions.
        first = page.locator(".rb-cond").first
        first.locator("select.rb-field").select_option("rfm_segment")
        page.locator(".rb-cond").first.locator("select.rb-op").select_option("=")
        page.locator(".rb-cond").first.locator(".rb-value select").select_option("champions")
        _wait_count(page, 4)

        # An OR group: tag 批次1, or CLV of at least 300.
        page.locator("#rule-builder > .rb-group > .rb-group-foot .rb-add-group").click()
        group = page.locator(".rb-group .rb-group").first
        conditions = group.locator(".rb-cond")
        conditions.nth(0).locator("select.rb-field").select_option("tags")
        group.locator(".rb-cond").nth(0).locator("input").fill("批次1")
        group.locator(".rb-cond").nth(1).locator("select.rb-field").select_option("clv")
        group.locator(".rb-cond").nth(1).locator("select.rb-op").select_option(">=")
        group.locator(".rb-cond").nth(1).locator("input").fill("300")
        rules = {"all": [{"field": "rfm_segment", "op": "=", "value": "champions"},
                         {"any": [{"field": "tags", "op": "=", "value": "批次1"},
                                  {"field": "clv", "op": ">=", "value": 300}]}]}
        with tenancy.active(shop.workspace):
            expected = compile_rules(rules).count()
        assert 0 < expected < 4
        _wait_count(page, expected)

        # A bad condition is marked where it is, and the count waits until it is fixed.
        root_add = page.locator("#rule-builder > .rb-group > .rb-group-foot .rb-add-condition")
        assert root_add.inner_text().endswith(texts["add"])
        root_add.click()
        page.locator(".rb-cond[data-path='all[2]'] select.rb-field").select_option("rfm_r")
        page.locator(".rb-cond[data-path='all[2]'] select.rb-op").select_option("=")
        page.locator(".rb-cond[data-path='all[2]'] input").fill("9")
        page.wait_for_selector(".rb-cond.rb-has-error[data-path='all[2]']")
        assert page.locator("#preview .sg-count").get_attribute("data-count") == ""
        page.locator(".rb-cond[data-path='all[2]'] .rb-remove").click()
        _wait_count(page, expected)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"segment-builder-{lang}.png"), full_page=True)

        page.fill("#segment-name", f"冠军 {lang}")
        page.get_by_role("button", name=texts["save"]).click()
        page.wait_for_url("**/segments/*/")
        assert page.locator("#member-count").inner_text() == str(expected)
        assert page.get_by_role("link", name=texts["members"], exact=True).is_visible()
        page.screenshot(path=str(ARTIFACTS / f"segment-detail-{lang}.png"), full_page=True)
        with tenancy.active(shop.workspace):
            saved = Segment.objects.get(name=f"冠军 {lang}")
            assert saved.rules == rules and saved.member_count == expected
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        context.close()

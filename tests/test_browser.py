"""The pre-sale agent's path in a real browser: sign in, find a returning buyer by the last 4 digits of the phone,
open the customer 360, log what the chat was about, and see it in the history without a reload — in English
and in Chinese. Headless Debian Chromium through Playwright; screenshots of failures go to test-artifacts/."""

import pathlib

import pytest

from guanxi.activities.models import Interaction
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from web_helpers import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"

LANGUAGES = {
    # browser locale, texts that must show in that language, the note typed in
    "en": ("en-US", {"search": "Find customer", "history": "History", "log": "Log note"}, "Asked whether size 38 runs large"),
    "zh": ("zh-CN", {"search": "查找客户", "history": "客户历史", "log": "记录"}, "问 38 码是否偏大，建议拍 37 码"),
}


@pytest.fixture
def shop(workspace, owner):
    shop = build_shop(workspace, owner=owner)  # 王芳, phone 138 1234 5678
    with tenancy.active(workspace):
        customer_create(name="李娜", identities=[("phone", "13912340000")])  # a different tail
    return shop


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_a_returning_buyer_is_found_by_phone_tail_and_a_note_lands_in_the_timeline(
    browser, live_server, shop, member_password, lang, request
):
    locale, texts, note = LANGUAGES[lang]
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", member_password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        assert page.get_by_role("button", name=texts["search"]).is_visible()

        # The home page's search box has the focus: type the digits the buyer reads out and press Enter.
        page.keyboard.type("5678")
        page.keyboard.press("Enter")
        page.wait_for_url("**/customers/?q=5678")
        results = page.locator("a.cell-customer")
        assert results.count() == 1
        results.first.click()
        page.wait_for_url(f"**/customers/{shop.customer.id}/")
        assert page.locator("h1").first.inner_text().startswith("王芳")
        assert page.get_by_role("heading", name=texts["history"]).is_visible()

        # Log the chat in place: htmx posts the form and adds the entry to the timeline, no page load.
        page.evaluate("window.__sameDocument = true")
        page.fill("#id_note-summary", note)
        page.get_by_role("button", name=texts["log"], exact=True).click()
        entry = page.locator("#timeline li.tl-interaction").first
        entry.get_by_text(note).wait_for()
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert page.input_value("#id_note-summary") == ""  # a fresh form for the next note
        with tenancy.active(shop.workspace):
            assert Interaction.objects.filter(customer=shop.customer, summary=note).exists()

        # The note stays there after a reload, above the older history.
        page.reload()
        first_entry = page.locator("#timeline li.tl").first
        assert note in first_entry.inner_text()

        # "/" jumps to the search box from anywhere on the page.
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "global-search"
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        context.close()

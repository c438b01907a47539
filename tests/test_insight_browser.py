"""The insight dashboard in a real browser, in English and Chinese: every ECharts chart draws a canvas with no
script error, and one click on the at-risk list creates the follow-ups. Screenshots go to test-artifacts/."""

import datetime as dt
import pathlib

import pytest

from guanxi.activities.models import Task
from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.insight.services import insight_refresh
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import workspace_currency_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"
CHARTS = ("chart-kpis", "chart-lifecycle", "chart-rf", "chart-value", "chart-pareto", "chart-flows", "chart-clv",
          "chart-cohorts", "chart-products")
LANGUAGES = {"en": ("en-US", "Create follow-up tasks for all", "follow-up tasks created"),
             "zh": ("zh-CN", "为全部客户创建跟进任务", "个跟进任务")}


def _cdnow_head(workspace, tmp_path, *as_of: dt.date) -> None:
    """The first 3,000 CDNOW lines in `workspace` (in dollars, as CDNOW sold), refreshed as of each day."""
    path = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        path.write_text("".join(next(source) for _ in range(3001)))
    workspace_currency_set(workspace=workspace, currency="USD")
    load_cdnow(workspace=workspace, path=path)
    with tenancy.active(workspace):
        for day in as_of:
            insight_refresh(as_of=day)


def _open_insight(page, live_server, password: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/insight/")


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_dashboard_draws_its_charts_and_creates_follow_ups(browser, live_server, workspace, owner, make_member,
                                                               member_password, tmp_path, lang):
    locale, button, done = LANGUAGES[lang]
    # A first refresh, so the dashboard has flows to draw, then the real one.
    _cdnow_head(workspace, tmp_path, dt.date(1997, 12, 31), dt.date(1998, 6, 30))
    make_member(workspace, Role.SALES)
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        _open_insight(page, live_server, member_password)
        for chart in CHARTS:
            page.wait_for_selector(f"#{chart} canvas")
        assert errors == []
        # The KPI chart switches to one store without reloading the page.
        page.select_option("#kpi-store", index=1)
        page.wait_for_timeout(200)
        assert errors == []
        page.screenshot(path=str(ARTIFACTS / f"insight-dashboard-{lang}.png"), full_page=True)
        page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{live_server.url}/insight/")
        assert done in page.content()
        with tenancy.active(workspace):
            assert Task.objects.filter(kind="visit").count() > 0
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        context.close()


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_dashboard_at_phone_and_desktop_widths_speaks_plainly(browser, live_server, workspace, owner,
                                                                  member_password, tmp_path, lang):
    """At 390 and 1280 px: no sideways scrolling, every chart drawn, the lifecycle as bars, and model names only
    inside the closed "how this is computed" disclosure. Screenshots: test-artifacts/insight-<lang>-<width>.png."""
    locale = LANGUAGES[lang][0]
    _cdnow_head(workspace, tmp_path, dt.date(1998, 6, 30))
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (390, 1280):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            _open_insight(page, live_server, member_password)
            for chart in ("chart-kpis", "chart-lifecycle", "chart-rf", "chart-clv"):
                page.wait_for_selector(f"#{chart} canvas")
            assert errors == []
            page.screenshot(path=str(ARTIFACTS / f"insight-{lang}-{width}.png"), full_page=True)
            wide = page.evaluate("""() => [...document.querySelectorAll('main *')].filter(
                e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(
                e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))""")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (width, wide)
            how = page.locator("details[data-how]")
            assert how.get_attribute("open") is None
            outside = page.evaluate("""() => { const c = document.querySelector('main').cloneNode(true);
                c.querySelectorAll('details, script').forEach(e => e.remove()); return c.innerText; }""")
            for name in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma", "P(alive)"):
                assert name not in outside, name
            how.locator("summary").click()
            assert "Gamma-Gamma" in how.inner_text()
            how.screenshot(path=str(ARTIFACTS / f"insight-{lang}-{width}-how.png"))
        finally:
            context.close()

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


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_dashboard_draws_its_charts_and_creates_follow_ups(browser, live_server, workspace, owner, make_member,
                                                               member_password, tmp_path, lang):
    locale, button, done = LANGUAGES[lang]
    path = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        path.write_text("".join(next(source) for _ in range(3001)))
    workspace_currency_set(workspace=workspace, currency="USD")  # CDNOW sold in dollars
    load_cdnow(workspace=workspace, path=path)
    with tenancy.active(workspace):
        insight_refresh(as_of=dt.date(1997, 12, 31))  # a first refresh, so the dashboard has flows to draw
        insight_refresh(as_of=dt.date(1998, 6, 30))
    make_member(workspace, Role.SALES)
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", member_password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/insight/")
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

"""The insight charts name the reporting currency their money is in (axes, series and tooltips), in both
languages: a USD workspace's revenue axis says USD, never a bare number a reader would take for yuan."""

import json
import re

import pytest

from test_insight_pages import URL, _fast_passwords, scored  # noqa: F401  (the CDNOW workspace in USD)
from web_helpers import client_for


def _chart_data(html: str) -> dict:
    return json.loads(re.search(r'<script id="insight-data" type="application/json">(.*?)</script>', html, re.S)[1])


@pytest.mark.parametrize(("language", "revenue", "clv", "profit"), [
    ("en", "Revenue (USD)", "Lifetime value (USD)", "Gross profit (USD)"),
    ("zh-CN", "收入（USD）", "生命周期价值（USD）", "毛利（USD）"),
])
def test_money_on_the_charts_names_the_reporting_currency(scored, owner, language, revenue, clv, profit):  # noqa: F811
    html = client_for(owner).get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert _chart_data(html)["currency"] == "USD"
    script = html.split('id="insight-data"', 1)[1]
    assert script.count(f'"{revenue}"') == 2  # the legend and the revenue series
    assert f'name: "{clv}"' in script and f'name: "{profit}"' in script
    assert "valueFormatter: inCurrency" in script and "name: d.currency" in script

"""Words for the codes the database keeps (`pending_payment`, `taobao_order`, `champions`, …), in the active
language, for pages and exports. An unknown code is shown as it is: a new code must never break a page."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from guanxi.analytics import RFM_SEGMENTS, STAGES, VALUE_CLASSES
from guanxi.commerce.models import OrderStatus
from guanxi.insight.models import ChurnRisk

# Where consent or a record came from: what staff type or the importers write.
_SOURCES = {
    "taobao_order": _("Taobao order"),
    "shopify_export": _("Shopify export"),
    "shopify_order": _("Shopify order"),
    "web_form": _("Web form"),
    "staff": _("Staff"),
    "import": _("Import"),
    "api": _("API"),
}
FORMAT_LABELS = _FORMATS = {"taobao": _("Taobao/Tmall"), "shopify": _("Shopify"), "cdnow": _("CDNOW"), "generic": _("Generic CSV/XLSX")}

_CHOICES = {
    "order_status": dict(OrderStatus.choices),
    "source": _SOURCES,
    "format": _FORMATS,
    "churn_risk": dict(ChurnRisk.choices),
}
# The analytics labels come in pairs (English, Chinese) from guanxi.analytics, which imports no Django.
_PAIRS = {"rfm_segment": RFM_SEGMENTS, "value_class": VALUE_CLASSES, "stage": STAGES}


def code_label(kind: str, code) -> str:
    """The label of `code` among the codes of `kind` (a key of _CHOICES or _PAIRS), or `code` itself."""
    if code in (None, ""):
        return ""
    if kind in _PAIRS:
        pair = _PAIRS[kind].get(code)
        if pair is None:
            return str(code)
        return pair[1] if (get_language() or "").startswith("zh") else pair[0]
    return str(_CHOICES[kind].get(code, code))

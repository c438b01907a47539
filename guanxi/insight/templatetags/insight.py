"""Labels for the score codes a refresh stores (`{{ score.rfm_segment|score_label:"rfm_segment" }}`)."""

from django import template

from guanxi.customers.models import Lifecycle
from guanxi.insight.models import ChurnRisk
from guanxi.segments.catalogue import RFM_SEGMENTS, VALUE_CLASSES

register = template.Library()

_LABELS = {
    "rfm_segment": dict(RFM_SEGMENTS),
    "value_class": dict(VALUE_CLASSES),
    "lifecycle_stage": dict(Lifecycle.choices),
    "churn_risk": dict(ChurnRisk.choices),
}


@register.filter
def score_label(code: str, kind: str) -> str:
    """The translated label of a stored code, or the code itself when it is unknown."""
    return _LABELS.get(kind, {}).get(code, code) if code else "—"


@register.filter
def percent(value) -> str:
    """0.734 → "73%"; None → "—"."""
    return "—" if value is None else f"{round(float(value) * 100)}%"

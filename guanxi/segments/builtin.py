"""The segments every workspace has: the 11 RFM segments, the 8 value classes, each lifecycle stage, and
"high value at risk". Their rules are fixed here; `segments_ensure_builtin` writes them into a workspace."""

from __future__ import annotations

import dataclasses

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Lifecycle
from guanxi.segments.catalogue import RFM_SEGMENTS, VALUE_CLASSES


@dataclasses.dataclass(frozen=True)
class BuiltinSegment:
    key: str
    label: object  # lazy, shown in the reader's language
    description: object
    rules: dict


HIGH_VALUE_AT_RISK = "high_value_at_risk"


def _catalogue() -> list[BuiltinSegment]:
    items = [
        BuiltinSegment(
            f"rfm.{code}", format_lazy(_("RFM: {segment}"), segment=label),
            _("Customers the last analytics refresh put in this RFM segment."),
            {"all": [{"field": "rfm_segment", "op": "=", "value": code}]},
        )
        for code, label in RFM_SEGMENTS
    ]
    items += [
        BuiltinSegment(
            f"value.{code}", format_lazy(_("Value class: {value_class}"), value_class=label),
            _("Customers in this class of the 8-class value model (R, F and M above or below the mean)."),
            {"all": [{"field": "value_class", "op": "=", "value": code}]},
        )
        for code, label in VALUE_CLASSES
    ]
    items += [
        BuiltinSegment(
            f"lifecycle.{stage}", format_lazy(_("Lifecycle: {stage}"), stage=label),
            _("Customers at this stage of the customer lifecycle."),
            {"all": [{"field": "lifecycle_stage", "op": "=", "value": stage}]},
        )
        for stage, label in Lifecycle.choices
    ]
    items.append(BuiltinSegment(
        HIGH_VALUE_AT_RISK, _("High value at risk"),
        _("Of the fifth of customers who brought the most profit so far, those whose churn risk is high: call "
          "them first."),
        # Past value, not predicted: a customer likely to churn has a low predicted value by construction (on
        # CDNOW none of the top tenth by CLV has a high churn risk), so "top CLV and high risk" is always empty.
        {"all": [{"field": "profit_top_percent", "op": "<=", "value": 20},
                 {"field": "churn_risk", "op": "=", "value": "high"}]},
    ))
    return items


BUILTIN_SEGMENTS: tuple[BuiltinSegment, ...] = tuple(_catalogue())
_BY_KEY = {b.key: b for b in BUILTIN_SEGMENTS}


def builtin_label(key: str):
    builtin = _BY_KEY.get(key)
    return builtin.label if builtin else None


def builtin_description(key: str):
    builtin = _BY_KEY.get(key)
    return builtin.description if builtin else None

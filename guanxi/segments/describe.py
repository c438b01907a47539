"""A rule in words, in the reader's language: "Province is 浙江 and (Total paid greater than 500 or Tags is vip)"."""

from __future__ import annotations

from django.utils.encoding import force_str
from django.utils.translation import gettext as _

from guanxi.segments.fields import CUSTOM_PREFIX, OPERATOR_LABELS, fields


def _value_text(field, value) -> str:
    labels = {v: force_str(label) for v, label in field.choices} if field and field.choices else {}

    def one(item) -> str:
        if item is True:
            return _("yes")
        if item is False:
            return _("no")
        return labels.get(item, str(item)) if item != "" else _("(empty)")

    if isinstance(value, list):
        return ", ".join(one(item) for item in value)
    return one(value)


def describe_condition(cond: dict, custom_labels: dict[str, str] | None = None) -> str:
    key = cond.get("field")
    field = fields().get(key)
    if field is not None:
        label = force_str(field.label)
    elif isinstance(key, str) and key.startswith(CUSTOM_PREFIX):
        label = (custom_labels or {}).get(key, key[len(CUSTOM_PREFIX):])
    else:
        label = str(key)
    op = cond.get("op")
    if op in ("is_set", "is_not_set"):
        return f"{label} {force_str(OPERATOR_LABELS[op])}"
    if op == "within_last_days":
        return _("%(field)s within the last %(days)s days") % {"field": label, "days": cond.get("value")}
    if op == "between" and isinstance(cond.get("value"), list) and len(cond["value"]) == 2:
        text = _("%(field)s between %(low)s and %(high)s") % {
            "field": label, "low": _value_text(field, cond["value"][0]), "high": _value_text(field, cond["value"][1])}
    else:
        text = f"{label} {force_str(OPERATOR_LABELS.get(op, op))} {_value_text(field, cond.get('value'))}"
    if cond.get("days"):
        text += " " + _("(in the last %(days)s days)") % {"days": cond["days"]}
    return text


def describe_rules(rules, custom_labels: dict[str, str] | None = None, *, nested: bool = False) -> str:
    """The rule as one line of text; groups inside groups are put in brackets."""
    if not isinstance(rules, dict):
        return str(rules)
    for kind, joiner in (("all", _(" and ")), ("any", _(" or "))):
        if kind in rules and isinstance(rules[kind], list):
            items = rules[kind]
            if not items:
                return _("every customer") if kind == "all" else _("no customer")
            parts = [describe_rules(item, custom_labels, nested=True) if isinstance(item, dict) and (
                "all" in item or "any" in item) else describe_condition(item, custom_labels) for item in items]
            text = joiner.join(parts)
            return f"({text})" if nested and len(parts) > 1 else text
    return describe_condition(rules, custom_labels)
